"""The console's fixtures: per module, one store filled from mail files by a real
`triage poll --dry-run`, its agents, one `triage serve` process and one headless
Chromium. Tests that change a case each have a case of their own (below)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import DATA
from tests.console.harness import MAILBOX_38, Console, chromium, hostile_eml, log_in, request_eml

AGENT_07 = ("c.durand", "ardeche-console-2026")  # sees 07 only
AGENT_LOCKED = ("l.verrou", "verrou-console-2026")  # the login the throttling test locks
# One complete request per test that changes a case (identifier → sender, name, mailbox).
OWN_CASES = {
    "abouvier-xt": ("a.bouvier@mairie-privas.fr", "Anne Bouvier", None),  # corrected
    "lfaure-xt": ("l.faure@mairie-privas.fr", "Luc Faure", None),  # resolved
    "mroche-xt": ("m.roche@mairie-privas.fr", "Marc Roche", None),  # notes, with and without token
    "ngrenoble-xt": ("n.grenoble@mairie-vif.fr", "Nadia Grenoble", MAILBOX_38),  # another department's
}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """`triage serve` on a store of the sample requests, our own cases and a hostile mail."""
    folder = tmp_path_factory.mktemp("console")
    source = folder / "mail"
    source.mkdir()
    for path in sorted((DATA / "requests").glob("*.eml")):
        shutil.copy(path, source / path.name)
    for identifier, (sender, name, mailbox) in OWN_CASES.items():
        (source / f"{identifier}.eml").write_bytes(request_eml(identifier, sender, name, *filter(None, [mailbox])))
    (source / "hostile.eml").write_bytes(hostile_eml())
    running = Console(folder / "data")
    running.triage("poll", "--source", str(source), "--dry-run")
    running.add_agent(*AGENT_07, "07")
    running.add_agent(*AGENT_LOCKED, "07")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, 1400 pixels wide."""
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def agent_07(browser, console):
    """The browser, freshly logged in as the agent of 07 (no state from another test)."""
    assert log_in(browser, console, *AGENT_07) == ""
    return browser
