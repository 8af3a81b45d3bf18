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



def send_digest(settings: Settings, rules: Rules, address: str, page: Path, csv_file: Path | None,
                department: str | None, now: datetime) -> None:
    """Send a report page as an HTML mail, with its CSV attached."""
    if settings.smtp is None:
        raise ConfigError("--email needs an [smtp] section in the configuration")
    home = next((d for d in rules.departments if d.code == department), None)
    sender = next((m.address for m in settings.mailboxes if m.department == department), None) \
        or (home.mailbox if home else (settings.mailboxes[0].address if settings.mailboxes
                                       else rules.departments[0].mailbox))
    title = f"Rapport SPL-PES {('DDFIP ' + home.of_name) if home else 'tous départements'} du {local(now)}"
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr(("Assistance SPL-PES", sender))
    message["To"] = address
    message["Subject"] = title
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("spl-pes-report", domain=rules.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{title}.\nLa page jointe s'ouvre dans un navigateur, sans connexion au réseau.\n")
    message.add_alternative(page.read_text(encoding="utf-8"), subtype="html")
    if csv_file is not None:
        message.add_attachment(csv_file.read_bytes(), maintype="text", subtype="csv", filename=csv_file.name)
    message["Content-Language"] = "fr"
    sender_connection = SmtpSender(settings.smtp)
    try:
        sender_connection.send(message)
    finally:
        sender_connection.close()
