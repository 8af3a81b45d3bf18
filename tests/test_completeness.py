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


def commands(parser, prefix="triage"):
    """(full command name, its parser, its help text) for every command and sub-command."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield f"{prefix} {name}", subparser, helps[name]
                yield from commands(subparser, f"{prefix} {name}")


def test_every_command_has_help_text_and_a_readme_entry():
    for name, subparser, help_text in commands(build_parser()):
        assert help_text, f"{name} has no help"
        has_subcommands = any(a.__class__.__name__ == "_SubParsersAction" for a in subparser._actions)
        if not has_subcommands:
            assert f"### `{name}" in README, f"{name} is not documented"
        for option in subparser._actions:
            if option.__class__.__name__ != "_SubParsersAction":
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


def test_every_folder_of_templates_ships_in_the_wheel():
    """Each folder of templates/ is a data package of its own (the console's and the
    shared case lines too): one left out would be missing from an installed triage."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {f"triage.shipped.templates.{path.name}" for path in (ROOT / "templates").iterdir() if path.is_dir()}
    assert folders - set(setuptools["packages"]) == set()
    assert {name for name in folders if "*.j2" not in setuptools["package-data"].get(name, [])} == set()


def test_every_package_of_the_code_ships_in_the_wheel():
    """pyproject lists packages by hand (the data packages need it): a new folder of
    code left out would work in the editable install and be missing once installed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    code = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "triage").rglob("__init__.py")}
    assert code - listed == set()


def test_every_module_of_the_code_stays_under_300_lines():
    """A module past 300 lines does more than one job: split it by job (as store/ and
    outbox/ were), rather than let it grow."""
    longer = {str(path.relative_to(ROOT)): count for path in (ROOT / "triage").rglob("*.py")
              if (count := len(path.read_text(encoding="utf-8").splitlines())) > 300}
    assert longer == {}


def test_every_template_folder_ships_in_the_wheel():
    """Each folder of templates/ is a data package of its own, listed by hand with its files."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {f"triage.shipped.templates.{folder.name}" for folder in (ROOT / "templates").iterdir() if folder.is_dir()}
    assert folders - set(setuptools["packages"]) == set()
    assert folders - set(setuptools["package-data"]) == set()
