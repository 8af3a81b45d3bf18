"""The report by mail (a daily cron) and the alerts every report page shows first."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from .agent_view import local
from .config import Settings
from .errors import ConfigError
from .outbox import OutboxStatus, SmtpSender
from .report import queue_title
from .rules import Rules
from .verdict_notice import verdict_alert


def report_alerts(status: OutboxStatus, settings: Settings) -> list[str]:
    """What must catch the agents' eye before anything else (French)."""
    alerts = []
    if status.breaker_open:
        alerts.append(f"Envoi des réponses suspendu : {status.sent_last_hour} réponses envoyées dans la dernière "
                      f"heure (limite {settings.replies.breaker_per_hour}). Les dossiers attendent ; "
                      f"vérifiez qu'aucune boucle de messages n'est en cours.")
    if status.failures:
        alerts.append(f"{len(status.failures)} réponse(s) en échec : voir la section « Réponses en échec ou retenues ».")
    if status.without_verdict:
        alerts.append(verdict_alert(status.without_verdict, settings.authentication.require_verdict))
    return alerts


def send_digests(settings: Settings, rules: Rules, address: str, files_by_department: dict[str, list[Path]],
                 now: datetime) -> None:
    """Mail each department's report as its own digest, over one SMTP session.

    One digest per department, never one page under an "all departments" title: a
    page is one department's queue, and a digest named after its department, sent
    from its mailbox, is what its agents expect to find in their morning mail.
    """
    if settings.smtp is None:
        raise ConfigError("--email needs an [smtp] section in the configuration")
    sender = SmtpSender(settings.smtp)
    try:
        for department, files in files_by_department.items():
            sender.send(digest_message(settings, rules, address, department, files, now))
    finally:
        sender.close()


def digest_message(settings: Settings, rules: Rules, address: str, department: str, files: list[Path],
                   now: datetime) -> EmailMessage:
    """One department's digest: its HTML page as the body when it was written, its CSV
    attached when it was (so `--format csv` mails the CSV alone, under a short text)."""
    home = next((d for d in rules.departments if d.code == department), None)
    sender = next((m.address for m in settings.mailboxes if m.department == department), None) \
        or (home.mailbox if home else (settings.mailboxes[0].address if settings.mailboxes
                                       else rules.departments[0].mailbox))
    title = f"Rapport SPL-PES {queue_title(rules, department)} du {local(now)}"
    page = next((path for path in files if path.suffix == ".html"), None)
    table = next((path for path in files if path.suffix == ".csv"), None)
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr(("Assistance SPL-PES", sender))
    message["To"] = address
    message["Subject"] = title
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("spl-pes-report", domain=rules.domain)
    message["Auto-Submitted"] = "auto-generated"
    if page is not None:
        message.set_content(f"{title}.\nLa version HTML de ce message est la page du rapport ; "
                            f"elle s'affiche sans connexion au réseau.\n")
        message.add_alternative(page.read_text(encoding="utf-8"), subtype="html")
    else:
        message.set_content(f"{title}.\nLe tableau joint (CSV, séparateur « ; ») s'ouvre dans Excel "
                            f"ou LibreOffice.\n")
    if table is not None:
        message.add_attachment(table.read_bytes(), maintype="text", subtype="csv", filename=table.name,
                               params={"charset": "utf-8"})
    message["Content-Language"] = "fr"
    return message
