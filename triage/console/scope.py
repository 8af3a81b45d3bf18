"""Department scope and access: an agent sees and acts on their departments only; any
other case is a 404, whether typed as a URL or asked through the API."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, g, request
from werkzeug.wrappers import Response

from ..store.casework import CaseNotFound, get_case
from ..store.console_models import AgentRow
from ..store.models import CaseRow
from .sessions import check_csrf, current_agent


def visible_departments(agent: AgentRow) -> tuple[str, ...] | None:
    """The departments an agent sees; None: all (an admin)."""
    return None if agent.admin else tuple(agent.departments)


def visible_case(reference: str) -> CaseRow:
    """The case of a reference if this agent may see it; 404 otherwise, the same 404 as a
    reference that does not exist (nothing tells a case exists in another department)."""
    try:
        case = get_case(g.db, reference)
    except CaseNotFound:
        abort(404)
    departments = visible_departments(g.agent)
    if departments is not None and case.department not in departments:
        abort(404)
    return case


def guard(public: set[str], to_login: Callable[[], Response]) -> Response | None:
    """Before every request: public endpoints pass; the others need an agent (pages go to
    the login form, the API answers 401) and every POST its CSRF token."""
    if request.endpoint in public or request.endpoint is None:
        return None
    g.agent = current_agent(g.db, g.now)
    if g.agent is None:
        if request.path.startswith("/api/"):
            abort(401)
        return to_login()
    # End this first read: on SQLite every transaction holds the one write lock, and a
    # page may read through its own sessions too (the health snapshot).
    g.db.commit()
    if request.method == "POST":
        check_csrf()
    return None
