"""The one-way flow, checked on the imports: the store keeps, it never decides, writes
replies or sends them."""

import ast
from pathlib import Path

import triage

PACKAGE = Path(triage.__file__).parent
FORBIDDEN_IN_STORE = ("triage.decide", "triage.replies", "triage.outbox", "triage.pipeline", "triage.poller")


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules a file imports."""
    package = "triage." + ".".join(path.relative_to(PACKAGE).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rstrip(".").split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
    return found


def test_the_store_imports_nothing_from_the_policy_the_replies_or_the_outbox():
    offending = {str(path.relative_to(PACKAGE)): sorted(name for name in imports_of(path)
                                                        if name.startswith(FORBIDDEN_IN_STORE))
                 for path in (PACKAGE / "store").rglob("*.py")}
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_walk_sees_relative_imports():
    assert "triage.lifecycle" in imports_of(PACKAGE / "store" / "recording.py")
    assert "triage.store.models" in imports_of(PACKAGE / "store" / "recording.py")
