"""An action of this request, for the pages and the API alike: the verb and the case
checked (scope included), then the action done and committed, or rehearsed for its
preview; the route turns the outcome (or the TriageError) into a page or JSON."""

from __future__ import annotations

from flask import abort, current_app, g

from ..store.database import rehearsal
from ..store.models import CaseRow
from .actions import VERBS, Context, Form, Preview, perform, preview
from .scope import visible_case


def acted_on(reference: str, verb: str) -> CaseRow:
    """The case an action names, if the verb exists and the agent may act on it (else 404)."""
    if verb not in VERBS:
        abort(404)
    return visible_case(reference)


def _context() -> Context:
    triage = current_app.config["TRIAGE"]
    return Context(g.db, triage.settings, triage.rules, g.agent.login, g.now)


def do_action(case: CaseRow, verb: str, form: Form) -> CaseRow:
    """Do the action and commit it; the case comes back as stored, with every event it wrote."""
    changed = perform(_context(), verb, case.reference, form)
    g.db.commit()
    g.db.expire_all()
    return changed


def rehearse(case: CaseRow, verb: str, form: Form) -> Preview | None:
    """The reply the action would queue; the action runs in a savepoint rolled back."""
    with rehearsal(g.db):
        return preview(_context(), verb, case.reference, form)
