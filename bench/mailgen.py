"""Realistic French support mail for the benchmarks: 2 to 40 KB, some HTML-only, some
Latin-1, quoted history, disclaimers, a few attachments; every message unique.

Built from the labelled corpus (tests/data) so that the text is what the mailboxes
really receive, with a new sender, Message-ID and padding for each copy.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from triage.textnorm import fold

ROOT = Path(__file__).resolve().parent.parent
FIRST = ["jean", "marie", "sophie", "pierre", "isabelle", "nathalie", "philippe", "sandrine", "laurent", "valerie",
         "christophe", "celine", "frederic", "aurelie", "olivier", "helene", "stephane", "corinne", "patrick", "agnes"]
LAST = ["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy", "moreau",
        "simon", "laurent", "lefebvre", "michel", "garcia", "david", "bertrand", "roux", "vincent", "fournier"]
COMMUNES = [("Lamastre", "07270", "07"), ("Privas", "07000", "07"), ("Crest", "26400", "26"), ("Nyons", "26110", "26"),
            ("Voiron", "38500", "38"), ("Mens", "38710", "38"), ("Ugine", "73400", "73"), ("Yenne", "73170", "73"),
            ("Thônes", "74230", "74"), ("Rumilly", "74150", "74")]
DISCLAIMER = ("Ce message et toutes les pièces jointes sont confidentiels et établis à l'attention exclusive de "
              "leurs destinataires. Toute utilisation ou diffusion non autorisée est interdite. Tout message "
              "électronique est susceptible d'altération. La collectivité décline toute responsabilité au titre "
              "de ce message s'il a été altéré, déformé ou falsifié. ")


def corpus_requests() -> list[bytes]:
    """The development corpus, as raw messages."""
    return [p.read_bytes() for p in sorted((ROOT / "tests" / "data").rglob("*.eml"))]


def _plain_body(raw: bytes) -> str:
    import email
    from email import policy

    source = email.message_from_bytes(raw, policy=policy.default)
    part = source.get_body(("plain",))
    return part.get_content() if part is not None else "Bonjour, mon mot de passe a expiré."


def _quoted_reply(rng: random.Random, templates: list[bytes], when: datetime) -> str:
    """An earlier message of the thread, quoted below the new one (Outlook style)."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return (f"\n\n________________________________\nDe : {first.title()} {last.upper()} <{first}.{last}@mairie.fr>\n"
            f"Envoyé : {when:%d/%m/%Y %H:%M}\nÀ : ddfip.pgp.spl-pes@dgfip.finances.gouv.fr\nObjet : RE: accès portail\n\n"
            + _plain_body(rng.choice(templates)) + "\n" + DISCLAIMER)


def make_message(number: int, department: str, rng: random.Random, templates: list[bytes]) -> bytes:
    """One unique message for a department's mailbox, 2 to 40 KB.

    Like real mail: a short new text with its signature and one disclaimer, the
    bulk being the quoted thread below; half multipart/alternative (text + HTML),
    some HTML-only, some Latin-1, a few with an attachment.
    """
    first, last = rng.choice(FIRST), rng.choice(LAST)
    commune, postal, _ = rng.choice([c for c in COMMUNES if c[2] == department] or COMMUNES)
    domain = f"mairie-{fold(commune)}.fr"
    target = rng.randint(2_000, 38_000)
    when = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=number)
    text = (_plain_body(rng.choice(templates)) + f"\n\n{first.title()} {last.upper()}\nSecrétariat de mairie\n"
            f"Mairie de {commune}\n{postal} {commune.upper()}\n\n" + DISCLAIMER)
    history = ""
    flavour = number % 20
    with_attachment = flavour in (3, 13)
    while len(text) + len(history) < (target * 0.4 if with_attachment else target * 0.45):
        history += _quoted_reply(rng, templates, when - timedelta(days=len(history) // 2000 + 1))
    text += history
    message = EmailMessage()
    message["Authentication-Results"] = (f"mx1.dgfip.finances.gouv.fr; spf=pass smtp.mailfrom={domain}; "
                                         f"dkim=pass header.d={domain}; dmarc=pass header.from={domain}")
    message["From"] = formataddr((f"{first.title()} {last.title()}", f"{first}.{last}{number}@{domain}"))
    message["To"] = f"ddfip{department}.pgp.spl-pes@dgfip.finances.gouv.fr"
    message["Subject"] = rng.choice(["Mot de passe expiré", "mot de passe oublié", "RE: accès portail DGFiP",
                                     "Identifiant -xt", "compte bloqué", "Demande de réinitialisation"])
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<bench-{department}-{number}-{rng.getrandbits(32):08x}@{domain}>"
    html = ("<html><head><style>p{margin:0}</style></head><body>"
            + "".join(f"<p>{line}</p>" if line else "<p>&nbsp;</p>" for line in text.split("\n")) + "</body></html>")
    if flavour in (0, 10, 15):  # HTML-only
        message.set_content(html, subtype="html", charset="utf-8")
    elif flavour in (1, 2, 11, 12):  # Latin-1 plain text
        message.set_content(text.encode("latin-1", "replace").decode("latin-1"), charset="iso-8859-1",
                            cte="quoted-printable")
    elif flavour % 2:  # plain text only
        message.set_content(text, charset="utf-8")
    else:  # Outlook: text and HTML
        message.set_content(text, charset="utf-8")
        message.add_alternative(html, subtype="html", charset="utf-8")
    if with_attachment:  # a scanned form
        data = rng.randbytes(max(1000, target - len(message.as_bytes())) * 3 // 4)
        message.add_attachment(data, maintype="application", subtype="pdf", filename="capture_ecran.pdf")
    return re.sub(rb"\r?\n", b"\r\n", message.as_bytes())


def write_maildir(folder: Path, messages: list[bytes], uid: int, gid: int) -> None:
    """Deliver straight into a Maildir (cur/), faster than thousands of APPENDs."""
    import os

    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        os.chown(folder / sub, uid, gid)
    os.chown(folder, uid, gid)
    for index, data in enumerate(messages):
        path = folder / "cur" / f"1700000000.M{index}P1.bench:2,"
        path.write_bytes(data)
        os.chown(path, uid, gid)


def backlog(count: int, department: str, seed: int = 7) -> list[bytes]:
    """`count` unique messages for one department."""
    rng = random.Random(seed + int(department))
    templates = corpus_requests()
    return [make_message(n, department, rng, templates) for n in range(count)]
