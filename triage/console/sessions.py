"""Who is at the keyboard: login and logout, the signed session cookie with its idle
timeout, the CSRF token every change must carry, and the pause after failed logins.

Failed logins are events (no case), so the pause holds across server processes and
restarts, and the history shows who tried what from where.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from flask import abort, current_app, g, request, session
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import clock
from ..store.agents import check_password, find_agent
from ..store.console_models import AgentRow
from ..store.events import log_event
from ..store.models import EventRow
from .settings import ConsoleSettings

LOGIN_FAILED, LOGIN_THROTTLED, LOGIN, LOGOUT = "login_failed", "login_throttled", "login", "logout"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"


def console_settings() -> ConsoleSettings:
    """The `[console]` settings of the running app."""
    settings: ConsoleSettings = current_app.config["TRIAGE"].settings.console
    return settings


def csrf_token() -> str:
    """The token of this browser session, created on first use (forms and the API send it back)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    token: str = session[CSRF_FIELD]
    return token


def check_csrf() -> None:
    """A change without this session's token is refused: another site cannot make an
    agent's browser act (SameSite=Strict cookies say the same thing twice)."""
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="Jeton de sécurité absent ou périmé : rechargez la page et recommencez.")


def current_agent(db: Session, now: datetime) -> AgentRow | None:
    """The agent of this request: the reverse proxy's header when single sign-on is on,
    else the session cookie, if still valid (not idle too long, not older than a new
    password or a disable)."""
    settings = console_settings()
    if settings.trusted_user_header:
        named = request.headers.get(settings.trusted_user_header, "")
        if named.strip():
            agent = find_agent(db, named)
            return agent if agent is not None and not agent.disabled else None
    login: str | None = session.get("login")
    since: float = session.get("since", 0)
    seen: float = session.get("seen", 0)
    if not login:
        return None
    agent = find_agent(db, login)
    stale = now.timestamp() - seen > settings.idle_timeout.total_seconds()
    if agent is None or agent.disabled or stale or since < agent.sessions_valid_after.timestamp():
        session.clear()
        return None
    session["seen"] = now.timestamp()
    return agent


def remote_address() -> str:
    """The client's address (the proxy's X-Forwarded-For once behind_proxy applies it)."""
    return (request.remote_addr or "?")[:60]


def throttled(db: Session, login: str, now: datetime) -> bool:
    """Too many failed logins lately, for this login or from this address (a guesser
    spreading over logins is stopped too, at a higher count)."""
    settings = console_settings()
    since = now - settings.login_window
    failures = select(func.count(EventRow.id)).where(EventRow.kind == LOGIN_FAILED, EventRow.at >= since)
    by_login = db.scalar(failures.where(EventRow.actor == login[:120])) or 0
    by_address = db.scalar(failures.where(EventRow.detail == remote_address())) or 0
    return by_login >= settings.login_attempts or by_address >= 4 * settings.login_attempts


def log_in(db: Session, login: str, password: str) -> tuple[AgentRow | None, str]:
    """Check a login form; (the agent, "") or (None, why in French). Every outcome is an event."""
    now = clock.now()
    login = login.strip().lower()[:64]
    if throttled(db, login, now):
        log_event(db, None, None, now, LOGIN_THROTTLED, detail=remote_address(), actor=login or "?")
        db.commit()
        minutes = int(console_settings().login_window.total_seconds() // 60)
        return None, f"Trop de tentatives de connexion : réessayez dans {minutes} minutes."
    agent = check_password(db, login, password)
    if agent is None:
        log_event(db, None, None, now, LOGIN_FAILED, detail=remote_address(), actor=login or "?")
        db.commit()
        return None, "Identifiant ou mot de passe incorrect."
    log_event(db, None, None, now, LOGIN, detail=remote_address(), actor=agent.login)
    db.commit()
    session.clear()  # a new token too: one seen before the login is worth nothing after it
    session.update({"login": agent.login, "since": now.timestamp(), "seen": now.timestamp(),
                    CSRF_FIELD: secrets.token_urlsafe(32)})
    return agent, ""


def log_out(db: Session) -> None:
    """End the session (the event says who left). The cookie is signed, not stored: a copy
    of it would still open the console, so the logout ends every session the agent opened
    before it, as a new password does."""
    agent = g.get("agent")
    if agent is not None:
        now = clock.now()
        agent.sessions_valid_after = now
        log_event(db, None, None, now, LOGOUT, detail=remote_address(), actor=agent.login)
        db.commit()
    session.clear()
