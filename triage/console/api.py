"""The JSON API: the same cases, scope, session and CSRF rules as the pages (the token
in the form or the X-CSRF-Token header), for scripts and the agents' own tools."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request, url_for

from ..case_rows import queue_row
from ..errors import TriageError
from ..store.judgements import judged_decision
from ..store.queue import QueueFilter, queue_page
from .acting import acted_on, do_action, rehearse
from .scope import visible_case, visible_departments
from .views import case_page

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.route("/cases")
def cases() -> Response:
    """A list of cases (query: status, department, q, kind; after=REF and limit to page;
    the next page's URL is in the Link header)."""
    departments = visible_departments(g.agent)
    department = request.args.get("department") or None
    if department is not None and departments is not None and department not in departments:
        return jsonify([])
    wanted = QueueFilter(departments, tuple(request.args.getlist("status")), tuple(request.args.getlist("kind")),
                         department, request.args.get("q", "")[:200])
    try:
        limit = min(max(int(request.args.get("limit", "100")), 1), 1000)
    except ValueError:
        abort(400, description="limit : un nombre entier est attendu")
    page = queue_page(g.db, wanted, request.args.get("after"), limit)
    response = jsonify([queue_row(c, page.decisions.get(c.id), g.now) for c in page.cases])
    if page.next_after:
        query: dict[str, Any] = {**request.args.to_dict(flat=False), "after": page.next_after}
        following = url_for("api.cases", **query)
        response.headers["Link"] = f'<{following}>; rel="next"'
    response.headers["X-Total-Count"] = str(page.total)
    return response


@blueprint.route("/cases/<reference>")
def case(reference: str) -> Response:
    """One case with its messages, decisions, replies and history."""
    found = visible_case(reference)
    return jsonify(case_page(found, judged_decision(g.db, found), g.now))


@blueprint.route("/cases/<reference>/<verb>", methods=["POST"])
def act(reference: str, verb: str) -> tuple[Response, int] | Response:
    """An action (take, release, note, resolve, reopen, correct, settle); `?preview=1`
    answers the reply it would queue and changes nothing."""
    found = acted_on(reference, verb)
    form: dict[str, Any] = dict(request.form.items())
    if request.is_json:
        form = {key: "" if value is None else str(value) for key, value in (request.get_json() or {}).items()}
    try:
        if request.args.get("preview") == "1":
            shown = rehearse(found, verb, form)
            return jsonify({"preview": None if shown is None else {
                "recipient": shown.recipient, "subject": shown.subject, "text": shown.text}})
        changed = do_action(found, verb, form)
    except TriageError as error:
        g.db.rollback()
        return jsonify({"error": str(error)}), 409
    return jsonify(case_page(changed, judged_decision(g.db, changed), g.now))
