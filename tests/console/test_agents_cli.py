"""`triage agents`: the password comes from standard input and never shows; refusals
say what to fix; disable and passwd act on the next login."""

import io

import pytest

from triage.cli import main

PASSWORD = "correct horse battery"


@pytest.fixture
def agents(tmp_path, monkeypatch, capsys):
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--data-dir", str(tmp_path), "agents", *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_add_list_disable_and_passwd(agents, tmp_path):
    assert agents("add", "C.Durand", "--name", "Claire Durand", "--department", "07", "--department", "26",
                  stdin=PASSWORD + "\n") == (0, "Agent c.durand créé (07, 26).\n", "")
    assert agents("add", "chef", "--name", "Chef de service", "--admin", stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = agents("list")
    assert code == 0 and out.splitlines() == [
        f"{'c.durand':<20} {'Claire Durand':<30} 07, 26", f"{'chef':<20} {'Chef de service':<30} tous départements (admin)"]
    assert agents("disable", "c.durand")[1] == "Agent c.durand désactivé : ses sessions sont closes.\n"
    assert "[désactivé]" in agents("list")[1]
    assert agents("passwd", "c.durand", stdin="another long password\n")[0] == 0
    assert "[désactivé]" not in agents("list")[1]
    assert PASSWORD not in (tmp_path / "triage.db").read_bytes().decode("latin-1")


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("add", "x.y", "--name", "X", "--department", "07"), "Zx9!q\n", "mot de passe trop court"),
    (("add", "X Y", "--name", "X", "--department", "07"), PASSWORD, "identifiant invalide"),
    (("add", "x.y", "--name", "X"), PASSWORD, "départements invalides"),
    (("add", "x.y", "--name", "X", "--department", "7a"), PASSWORD, "départements invalides : 7A"),
    (("disable", "personne"), "", "aucun agent personne"),
])
def test_refusals_say_what_to_fix_and_never_echo_the_password(agents, args, stdin, message):
    code, out, err = agents(*args, stdin=stdin)
    assert code == 2 and message in err and out == ""
    assert stdin.strip() not in err or not stdin.strip()


def test_a_login_is_created_once(agents):
    assert agents("add", "x.y", "--name", "X", "--department", "07", stdin=PASSWORD)[0] == 0
    assert "existe déjà" in agents("add", "X.Y", "--name", "X", "--department", "07", stdin=PASSWORD)[2]
