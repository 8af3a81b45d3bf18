"""The console's pages, in French: login, the queue, a case with its actions, health.
Every page works without JavaScript; forms post back here with their CSRF token."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from ..agreement import agreement_by_department
from ..case_rows import queue_row
from ..clock import PARIS
from ..errors import TriageError
from ..health import health_snapshot
from ..store.corrections import corrections_since
from ..store.judgements import engine_verdict, judged_decision
from ..store.models import OPEN_STATUSES
from ..store.queue import QueueFilter, queue_page
from .acting import acted_on, do_action, rehearse
from .actions import DONE
from .scope import guard, visible_case, visible_departments
from .sessions import check_csrf, log_in, log_out
from .views import FILTER_KINDS, FILTER_STATUSES, case_page

log = logging.getLogger(__name__)
blueprint = Blueprint("pages", __name__)
PUBLIC = {"pages.login", "pages.stylesheet", "pages.script", "pages.healthz"}


@blueprint.before_app_request
def require_agent() -> BaseResponse | None:
    """Pages need an agent (the API answers 401 itself); every POST needs the CSRF token."""
    return guard(PUBLIC, lambda: redirect(url_for("pages.login", suivant=request.full_path.rstrip("?"))))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    """The login form; a successful login goes to the page asked for (ours only)."""
    target = request.args.get("suivant", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if request.method == "GET":
        return render_template("console/login.html.j2", error="", target=target, agent=None)
    check_csrf()
    agent, error = log_in(g.db, request.form.get("username", ""), request.form.get("password", ""))
    if agent is None:
        return render_template("console/login.html.j2", error=error, target=target, agent=None), (
            429 if "Trop" in error else 401)
    return redirect(target)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> BaseResponse | str:
    """POST ends the session; GET shows the button (a link must not log anyone out)."""
    if request.method == "GET":
        return render_template("console/logout.html.j2", agent=g.agent)
    log_out(g.db)
    return redirect(url_for("pages.login"))


def _month_start(now: datetime) -> datetime:
    return now.astimezone(PARIS).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@blueprint.route("/")
def queue() -> str:
    """The queue: open cases by default, oldest first, filters, search, next page."""
    departments = visible_departments(g.agent)
    statuses = tuple(s for s in request.args.getlist("statut") if s in FILTER_STATUSES)
    if not request.args.get("tous") and not statuses:
        statuses = tuple(OPEN_STATUSES)
    department = request.args.get("departement") or None
    if department is not None and departments is not None and department not in departments:
        department = None
    wanted = QueueFilter(departments, statuses, tuple(k for k in request.args.getlist("nature") if k in FILTER_KINDS),
                         department, request.args.get("q", "")[:200])
    size = current_app.config["TRIAGE"].settings.console.page_size
    page = queue_page(g.db, wanted, request.args.get("apres"), size)
    rows = [queue_row(c, page.decisions.get(c.id), g.now) for c in page.cases]
    agreement = agreement_by_department(corrections_since(g.db, _month_start(g.now), list(departments)
                                                          if departments is not None else None))["*"]
    return render_template("console/queue.html.j2", agent=g.agent, rows=rows, page=page, wanted=wanted,
                           statuses=FILTER_STATUSES, kinds=FILTER_KINDS, departments=_department_choices(),
                           agreement=agreement, args=request.args)


def _department_choices() -> list[tuple[str, str]]:
    rules = current_app.config["TRIAGE"].rules
    visible = visible_departments(g.agent)
    return [(d.code, d.name) for d in rules.departments if visible is None or d.code in visible]


def _case_context(reference: str, **extra: Any) -> dict[str, Any]:
    case = visible_case(reference)
    decision = judged_decision(g.db, case)
    return {"agent": g.agent, "case": case_page(case, decision, g.now), "engine": engine_verdict(case, decision),
            "departments": _department_choices(), "all_departments": [
                (d.code, d.name) for d in current_app.config["TRIAGE"].rules.departments], "done": DONE.get(request.args.get("fait", ""), ""),
            "error": "", "preview": None, "form": {}, "verb": "", **extra}


@blueprint.route("/cases/<reference>")
def case(reference: str) -> str:
    """One case: conversation, decision and evidence, replies, history, actions."""
    return render_template("console/case.html.j2", **_case_context(reference))


@blueprint.route("/cases/<reference>/<verb>", methods=["POST"])
def act(reference: str, verb: str) -> BaseResponse | tuple[str, int] | str:
    """An action from a form. `apercu` shows the reply it would queue, changing nothing."""
    case = acted_on(reference, verb)
    form = dict(request.form.items())
    try:
        if "apercu" in request.form:
            shown = rehearse(case, verb, form)
            return render_template("console/case.html.j2", **_case_context(
                reference, preview=shown or "none", form=form, verb=verb))
        do_action(case, verb, form)
    except TriageError as error:
        g.db.rollback()
        return render_template("console/case.html.j2", **_case_context(reference, error=str(error), form=form,
                                                                       verb=verb)), 409
    return redirect(url_for("pages.case", reference=case.reference, fait=verb))


@blueprint.route("/health")
def health() -> str:
    """Each mailbox's last good poll and last error, the breaker, replies to check, mail
    without an authentication verdict, open cases per department."""
    triage = current_app.config["TRIAGE"]
    snapshot = health_snapshot(triage.store, triage.settings, g.now)
    return render_template("console/health.html.j2", agent=g.agent, health=snapshot)


@blueprint.route("/healthz")
def healthz() -> tuple[Response, int]:
    """For a monitoring probe, without login: no personal data; 503 when degraded or
    when the store cannot be read."""
    triage = current_app.config["TRIAGE"]
    try:
        snapshot = health_snapshot(triage.store, triage.settings, g.now)
    except SQLAlchemyError as error:
        log.error("healthz: the store cannot be read: %s", type(error).__name__)
        return jsonify({"status": "down", "store": "unreachable"}), 503
    return jsonify(snapshot.as_json()), 503 if snapshot.degraded else 200


@blueprint.route("/static/console.css")
def stylesheet() -> Response:
    """Our style sheet (a template: a deployment may override it)."""
    css = render_template("console/console.css.j2")
    return Response(css, mimetype="text/css", headers={"Cache-Control": "max-age=3600"})


@blueprint.route("/static/console.js")
def script() -> Response:
    """Our only script: conveniences, never needed (pages work without it)."""
    js = render_template("console/console.js.j2")
    return Response(js, mimetype="text/javascript", headers={"Cache-Control": "max-age=3600"})
