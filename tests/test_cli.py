"""The command line: the classify contract, the readable summary, eval and errors."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, build_eml
from triage.analysis import CHECKS
from triage.cli import main

CONTRACT = {"file", "message_id", "mailbox", "department", "case", "identifier", "identifiers", "sender",
            "sender_nominative", "phone_registered", "action", "missing", "warnings", "evidence"}
TRIAGE = Path(sys.executable).parent / "triage"


def test_classify_json_prints_one_object_per_message_with_the_contract_keys(capsys):
    files = sorted((DATA / "requests").glob("*.eml"))[:5]
    assert main(["classify", "--json", *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    for line, file in zip(lines, files):
        record = json.loads(line)
        assert CONTRACT <= record.keys()
        assert record["file"] == str(file)
        assert isinstance(record["evidence"], dict)


def test_classify_expands_directories(capsys):
    main(["classify", "--json", str(DATA / "automatic")])
    records = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert len(records) == len(list((DATA / "automatic").glob("*.eml")))


def test_mailbox_option_gives_the_queue_when_the_mail_does_not(tmp_path, capsys):
    path = tmp_path / "bcc.eml"
    path.write_bytes(build_eml("Mot de passe expiré, identifiant jdupont-xt", to="collegue@mairie.fr"))
    main(["classify", "--json", "--mailbox", "DDFIP38.pgp.spl-pes@dgfip.finances.gouv.fr", str(path)])
    record = json.loads(capsys.readouterr().out)
    assert (record["mailbox"], record["department"]) == ("ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr", "38")


def test_readable_summary_names_action_case_and_evidence(tmp_path, capsys):
    path = tmp_path / "m.eml"
    path.write_bytes(build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    main(["classify", str(path)])
    out = capsys.readouterr().out
    assert "acknowledge" in out and "expired" in out and "jdupont-xt" in out and "case-kind:" in out


def test_classify_decides_as_the_configured_deployment_does(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    path = tmp_path / "sans_verdict.eml"
    path.write_bytes(build_eml("Mot de passe expiré, identifiant jdupont-xt", authenticated=False))
    config = tmp_path / "triage.toml"
    config.write_text("[authentication]\nrequire_verdict = false\n")
    main(["classify", "--json", str(path)])
    assert json.loads(capsys.readouterr().out)["action"] == "human_review"
    main(["--config", str(config), "classify", "--json", str(path)])
    assert json.loads(capsys.readouterr().out)["action"] == "acknowledge"


def test_a_missing_path_is_a_clear_error_not_a_traceback(capsys):
    assert main(["classify", "/no/such/file.eml"]) == 2
    assert "no such file or directory: /no/such/file.eml" in capsys.readouterr().err


def test_a_broken_rules_directory_is_a_clear_error(tmp_path, capsys):
    assert main(["--rules", str(tmp_path), "classify", str(DATA)]) == 2
    assert "rules file missing" in capsys.readouterr().err


def test_eval_fails_when_labels_disagree(tmp_path, capsys):
    (tmp_path / "m.eml").write_bytes(build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    (tmp_path / "labels.jsonl").write_text(json.dumps({"file": "m.eml", "action": "self_service"}) + "\n")
    assert main(["eval", str(tmp_path)]) == 1
    assert "action expected \"self_service\", got \"acknowledge\"" in capsys.readouterr().out


def test_checks_lists_every_check(capsys):
    main(["checks"])
    out = capsys.readouterr().out
    assert all(check.name in out for check in CHECKS)


def test_the_console_script_runs(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(build_eml("J'ai oublié mon mot de passe, portable enregistré. jdupont-xt"))
    result = subprocess.run([str(TRIAGE), "classify", "--json", str(path)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["action"] == "self_service"
