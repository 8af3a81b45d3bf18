"""Is this mail written by a robot? Such mail is never answered (RFC 3834)."""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from ..textnorm import fold

NAME = CheckName.AUTOMATIC
DESCRIPTION = (
    "Automatic mail: Auto-Submitted other than 'no', null Return-Path, MAILER-DAEMON or "
    "postmaster, delivery reports and read receipts, List-* headers, Precedence "
    "bulk/junk/list, X-Autoreply, noreply senders, out-of-office subjects, our own mailboxes."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """One hit per robot signal found (with its code), or a single miss."""
    hits = [Finding(NAME, True, evidence, code=code) for code, evidence in _signals(mail, rules)]
    return hits or [Finding(NAME, False, "aucun signe de courrier automatique", hit=False)]


def _signals(mail: Mail, rules: Rules) -> list[tuple[str, str]]:
    signals = []
    for value in mail.header("auto-submitted"):
        if value.strip().lower().split(";")[0] != "no":
            signals.append(("auto-submitted", f"Auto-Submitted: {value.strip()}"))
    if mail.return_path == "":
        signals.append(("null-return-path", "Return-Path: <> (expéditeur vide)"))
    if mail.content_type == "multipart/report":
        report = next((v for v in mail.header("content-type")), "")
        signals.append(("delivery-report", f"Content-Type: {' '.join(report.split())[:120]}"))
    for name, value in mail.headers:
        if name.startswith("list-"):
            signals.append(("mailing-list", f"{name}: {value.strip()[:120]}"))
            break
    for value in mail.header("precedence"):
        if value.strip().lower() in rules.precedence:
            signals.append(("bulk-precedence", f"Precedence: {value.strip()}"))
    for name in rules.autoreply_headers:
        for value in mail.header(name):
            if value.strip().lower() not in ("no", "false", "0"):
                signals.append(("autoreply-header", f"{name}: {value.strip()[:80]}"))
    if mail.sender:
        local = mail.sender.local_part
        if any(p.search(local) for p in rules.automatic_senders):
            signals.append(("robot-sender", f"expéditeur automatique {mail.sender.address}"))
        if mail.sender.address in rules.mailboxes:
            signals.append(("our-mailbox", f"envoyé par notre boîte {mail.sender.address}"))
    subject = fold(mail.subject).strip()
    if any(p.search(subject) for p in rules.automatic_subjects):
        signals.append(("robot-subject", f"objet : {mail.subject[:120]}"))
    return signals
