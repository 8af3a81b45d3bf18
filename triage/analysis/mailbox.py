"""Which of our mailboxes received the mail: it gives the queue (the department)."""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules

NAME = CheckName.MAILBOX
DESCRIPTION = (
    "The receiving mailbox: given by the source, else found in To/Cc, else in "
    "Delivered-To, X-Original-To or a Received 'for' clause (the mailbox may be in Bcc)."
)


def receiving_mailbox(mail: Mail, rules: Rules) -> tuple[str | None, str]:
    """(mailbox address, where it was found), or (None, why not)."""
    known = rules.mailboxes
    if mail.mailbox:
        return mail.mailbox.lower(), "indiquée par la source"
    for header, addresses in (("To", mail.to), ("Cc", mail.cc), ("Delivered-To", mail.delivered_to)):
        for address in addresses:
            if address in known:
                return address, f"{header}: {address}"
    return None, "aucune de nos boîtes parmi les destinataires"


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """The mailbox and its department as value, or a miss."""
    address, evidence = receiving_mailbox(mail, rules)
    if address is None:
        return [Finding(NAME, None, evidence, hit=False)]
    department = rules.mailboxes.get(address)
    return [Finding(NAME, (address, department.code if department else None), evidence)]
