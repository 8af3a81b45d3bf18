"""Mail without an authentication verdict, against a real Dovecot: decided as the
deployment says (`[authentication] require_verdict`), and counted wherever an
operator or an agent looks (poll summary, outbox status, report)."""

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import build_eml, verdict
from triage.cli import main
from triage.store.database import open_store
from triage.store.models import DecisionRow, MessageRow

MAILBOX_74 = "ddfip74.pgp.spl-pes@dgfip.finances.gouv.fr"


def request(name: str, authentication: str | None) -> bytes:
    """A complete expired-password request from a nominative address; `authentication`
    is the receiving server's verdict, or None when it wrote none."""
    sender = f"{name}.dupont@mairie-thones.fr"
    headers = {"Authentication-Results": verdict("mairie-thones.fr", authentication)} if authentication else {}
    data = build_eml(f"Bonjour, mon mot de passe a expiré. Mon identifiant est {name}-xt. Cordialement",
                     to=MAILBOX_74, sender=sender, name=f"{name.title()} Dupont", headers=headers,
                     authenticated=False)
    return data.replace(b"test-1@", f"verdict-{name}@".encode())


def actions(config: Path) -> dict[str, str]:
    store = open_store(f"sqlite:///{config.parent / 'data' / 'triage.db'}")
    try:
        with store.transaction() as session:
            rows = session.execute(select(MessageRow.sender, DecisionRow.action).join(DecisionRow.message)).all()
            return {sender.partition(".")[0]: action for sender, action in rows}
    finally:
        store.dispose()


@pytest.mark.parametrize("require_verdict", [True, False])
def test_mail_without_a_verdict_is_decided_as_configured_and_counted_where_people_look(
        dovecot, imap_config, capsys, tmp_path, require_verdict):
    if not require_verdict:
        imap_config.write_text(imap_config.read_text() + "\n[authentication]\nrequire_verdict = false\n")
    for name, authentication in (("alice", None), ("bruno", None), ("chloe", "pass"), ("denis", "fail")):
        dovecot.append("74", request(name, authentication))

    assert main(["--config", str(imap_config), "poll", "--summary"]) == 0
    poll = capsys.readouterr().out
    assert f"{MAILBOX_74}: 4 recorded" in poll and "; 2 without an authentication verdict" in poll
    assert "2 message(s) recorded without an authentication verdict" in poll
    assert "check authserv_ids" in poll

    decided = actions(imap_config)
    # A failing verdict always blocks; a pass never does; no verdict is the deployment's choice.
    assert decided["denis"] == "human_review" and decided["chloe"] == "acknowledge"
    expected = "human_review" if require_verdict else "acknowledge"
    assert decided["alice"] == decided["bruno"] == expected

    assert main(["--config", str(imap_config), "outbox", "status"]) == 0
    status = capsys.readouterr().out
    assert "2 message(s) in the last 24 hours without an authentication verdict" in status

    out = tmp_path / "report"
    assert main(["--config", str(imap_config), "report", "--out", str(out)]) == 0
    capsys.readouterr()
    for page in ("index.html", "ddfip-74.html"):
        html = (out / page).read_text(encoding="utf-8")
        assert "2 message(s) reçu(s) ces dernières 24 heures sans verdict d&#39;authentification" in html
        consequence = ("sans réponse automatique" if require_verdict
                       else "traités sans vérification de l&#39;expéditeur")
        assert consequence in html


def test_nothing_is_said_when_every_mail_has_a_verdict(dovecot, imap_config, capsys, tmp_path):
    dovecot.append("74", request("chloe", "pass"))
    assert main(["--config", str(imap_config), "poll", "--summary"]) == 0
    assert main(["--config", str(imap_config), "outbox", "status"]) == 0
    assert "verdict" not in capsys.readouterr().out
