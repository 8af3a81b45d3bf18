"""Every check is described, documented and triggered by a corpus mail; every command
has help text and a README entry; every rules pattern is well-formed."""

import re
import tomllib
from pathlib import Path

import pytest

from triage.analysis import CHECKS, analyse
from triage.cli import build_parser
from triage.models import RawMail
from triage.parse import parse_mail
from triage.rules import default_rules_dir

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def checks_hit(rules):
    hit = set()
    for path in (ROOT / "tests" / "data").rglob("*.eml"):
        mail = parse_mail(RawMail(path.read_bytes(), str(path)), rules)
        hit.update(f.check for f in analyse(mail, rules) if f.hit)
    return hit


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_every_check_is_described_documented_and_triggered(check, checks_hit):
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", check.name)
    assert len(check.description) > 20
    assert f"`{check.name}`" in README
    assert check.name in checks_hit, f"no mail in tests/data triggers {check.name}"


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices.items(), {c.dest: c.help for c in action._choices_actions}


def test_every_command_has_help_text_and_a_readme_entry():
    commands, helps = subcommands()
    for name, subparser in commands:
        assert helps[name], f"{name} has no help"
        assert f"### `triage {name}" in README, f"{name} is not documented"
        for option in subparser._actions:
            assert option.help, f"{name} {option.option_strings or option.dest} has no help"


def test_readme_starts_with_the_two_commands_of_a_new_machine():
    head = "\n".join(README.splitlines()[:8])
    assert "make demo" in head and "make test" in head


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("file", sorted(default_rules_dir().glob("*.toml")), ids=lambda p: p.name)
def test_rules_files_are_valid_and_patterns_are_single(file):
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    for text in strings(data):
        # Two patterns glued by a quoting slip ('a', 'b' inside one string).
        assert "', '" not in text, text
        # Unbounded "any character" runs make hostile mail quadratic: bound them.
        assert ".*" not in text and ".+" not in text, text
    assert file.name in README
