"""The command line: the classify contract, the readable summary, eval, errors, global options."""

import argparse
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, HOSTILE_EML, build_eml
from triage.analysis import CHECKS
from triage.cli import build_parser, main, subcommand_parsers
from triage.logs import configure_logging
from triage.models import RawMail
from triage.parse import parse_mail
from triage.rules import load_rules

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
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
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


# --- global options, before or after the subcommand -----------------------------------

FIRST = {"config": "first.toml", "rules": "first-rules", "data_dir": "first-data",
         "database_url": "sqlite:///first.db", "log_format": "json", "verbose": True}
SECOND = {"config": "second.toml", "rules": "second-rules", "data_dir": "second-data",
          "database_url": "sqlite:///second.db", "log_format": "text", "verbose": True}
DEFAULTS = {"config": None, "rules": None, "data_dir": None, "database_url": None, "log_format": "text",
            "verbose": False}


def as_options(values: dict) -> list[str]:
    """The global options on a command line."""
    options = [f"--{key.replace('_', '-')}={value}" for key, value in values.items() if key != "verbose"]
    return options + (["-v"] if values["verbose"] else [])


def leaf_commands() -> list[tuple[str, ...]]:
    """Every runnable subcommand path (`poll`, `cases list`...), found by walking the parser."""
    paths = [path for path, _ in subcommand_parsers(build_parser())]
    return [path for path in paths if not any(other[:len(path)] == path != other for other in paths)]


def required_arguments(path: tuple[str, ...]) -> list[str]:
    """Sample values for what the subcommand requires: "365d" reads as a path, a
    reference, a text and a duration alike; a choice takes its first value."""
    parser = dict(subcommand_parsers(build_parser()))[path]
    arguments = []
    for action in parser._actions:
        sample = str(next(iter(action.choices))) if action.choices else "365d"
        if not action.option_strings and action.nargs not in ("?", "*", argparse.SUPPRESS, argparse.PARSER):
            arguments.append(sample)
        elif action.option_strings and action.required:
            arguments += [action.option_strings[0], sample]
    return arguments


def test_the_walk_finds_nested_subcommands():
    assert {("poll",), ("cases", "list"), ("outbox", "status"), ("db", "upgrade"), ("report",)} <= set(leaf_commands())


@pytest.mark.parametrize("path", leaf_commands(), ids=" ".join)
def test_global_options_are_accepted_before_or_after_every_subcommand(path):
    command = [*path, *required_arguments(path)]
    parse = build_parser().parse_args
    namespaces = {
        "none": (parse(command), DEFAULTS),
        "before": (parse([*as_options(FIRST), *command]), FIRST),
        "after": (parse([*command, *as_options(FIRST)]), FIRST),
        "after wins over before": (parse([*as_options(FIRST), *command, *as_options(SECOND)]), SECOND),
    }
    if len(path) > 1:  # between `cases` and `list` too
        namespaces["between"] = (parse([path[0], *as_options(FIRST), *path[1:], *required_arguments(path)]), FIRST)
    for where, (namespace, expected) in namespaces.items():
        assert {key: getattr(namespace, key) for key in expected} == expected, where


def test_poll_reads_the_config_file_given_after_the_subcommand(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    data = tmp_path / "data"
    config = tmp_path / "triage.toml"
    config.write_text(f'data_dir = "{data}"\n')
    result = subprocess.run([str(TRIAGE), "poll", "--source", str(DATA / "requests"), "--config", str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"Store: sqlite:///{data / 'triage.db'}" in result.stdout
    listed = subprocess.run([str(TRIAGE), "cases", "list", "--all", "--config", str(config), "--json"],
                            capture_output=True, text=True, check=True)
    assert len(listed.stdout.splitlines()) > 5


# --- text from a mail never drives the terminal nor forges a log line ------------------

# Every C0 and C1 control but the line feed (ours, between lines), DEL, and the
# Unicode line separators.
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def assert_no_control(text: str) -> None:
    assert not CONTROLS.search(text), repr(CONTROLS.findall(text))


def test_classify_prints_no_control_from_the_mail(tmp_path, capsys):
    path = tmp_path / "hostile.eml"
    path.write_bytes(HOSTILE_EML)
    assert main(["classify", str(path)]) == 0
    out = capsys.readouterr().out
    assert_no_control(out)
    assert "-2+3@mairie-lamastre.fr" in out and "jdupont-xt" in out and "expired" in out


def test_cases_list_and_show_print_no_control_from_the_mail(tmp_path, database_url, capsys):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "hostile.eml").write_bytes(HOSTILE_EML)
    store = ["--database-url", database_url, "--data-dir", str(tmp_path / "data")]
    assert main(["poll", "--source", str(tmp_path / "mail"), *store]) == 0
    capsys.readouterr()
    assert main(["cases", "list", "--json", *store]) == 0
    (case,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "\x1b" in case["requester_name"], "JSON keeps the data as it is"
    assert main(["cases", "list", *store]) == 0
    listed = capsys.readouterr().out
    assert_no_control(listed)
    assert case["reference"] in listed and "jdupont-xt" in listed
    assert main(["cases", "show", case["reference"], *store]) == 0
    shown = capsys.readouterr().out
    assert_no_control(shown)
    for visible in ("Jean", "Dupont", "Mot de passe", "expiré", "[31m", "@SOMME(1+1)", "jdupont-xt", "Merci"):
        assert visible in shown, visible


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_carry_no_control_and_no_line_break_from_a_mail(log_format, capsys):
    mail = parse_mail(RawMail(HOSTILE_EML, "hostile.eml"), load_rules())
    configure_logging(False, log_format)
    try:
        log = logging.getLogger("triage.test")
        log.warning("subject %r from %s", mail.subject, mail.sender.name)
        try:
            raise ValueError(mail.new_text)
        except ValueError:
            log.exception("could not record %s", mail.new_text)
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert_no_control(err)
    if log_format == "json":
        entries = [json.loads(line) for line in err.splitlines()]
        assert len(entries) == 2
        assert "Jean" in entries[0]["message"] and "Dupont" in entries[0]["message"]
        assert "Identifiant : jdupont-xt" in entries[1]["message"] and "ValueError" in entries[1]["exception"]
        for entry in entries:
            assert "\n" not in entry["message"]
            assert_no_control(entry["message"] + entry.get("exception", "").replace("\n", " "))
    else:
        records = [line for line in err.splitlines() if not line.startswith("    ")]
        assert len(records) == 2, "a line break in a mail makes no log line of its own"
        assert "Jean" in records[0] and "Dupont" in records[0] and "jdupont-xt" in records[1]
        assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (WARNING|ERROR) triage.test: ", line)
                   for line in records)
