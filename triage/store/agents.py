"""The agents who log in to the console: created, listed, disabled, given a new
password, and checked at login. Passwords are kept as argon2id hashes only."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import TriageError
from .console_models import AgentRow

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
DEPARTMENT = re.compile(r"\d{2}|2[AB]|\d{3}")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked when the login is unknown, so that a wrong login takes as long as a wrong
    password. Made at the first login, not at import: every command imports this module,
    and a hash costs argon2's 64 MB and a tenth of a second (the poller's peak memory)."""
    return _HASHER.hash("not a password of anyone")


class AgentError(TriageError):
    """An agent cannot be created or changed as asked."""


def add_agent(session: Session, login: str, name: str, departments: list[str], admin: bool, password: str,
              now: datetime) -> AgentRow:
    """A new agent; the login is lower-case letters, digits, '.', '_' or '-'."""
    login = login.strip().lower()
    if not LOGIN.fullmatch(login):
        raise AgentError(f"identifiant invalide : {login!r} (lettres minuscules, chiffres, . _ -)")
    if find_agent(session, login) is not None:
        raise AgentError(f"l'agent {login} existe déjà")
    if not name.strip():
        raise AgentError("le nom de l'agent est obligatoire (--name)")
    codes = sorted({code.strip().upper() for code in departments})
    wrong = [code for code in codes if not DEPARTMENT.fullmatch(code)]
    if wrong or not (codes or admin):
        raise AgentError(f"départements invalides : {', '.join(wrong) or 'aucun'} (--department 07, ou --admin)")
    agent = AgentRow(login=login, name=name.strip(), departments=codes, admin=admin,
                     password_hash=_hash(password), disabled=False, created_at=now, sessions_valid_after=now)
    session.add(agent)
    return agent


def find_agent(session: Session, login: str) -> AgentRow | None:
    """The agent of a login as typed (case and spaces around it do not matter), or None."""
    return session.scalars(select(AgentRow).where(AgentRow.login == login.strip().lower())).first()


def get_agent(session: Session, login: str) -> AgentRow:
    """The agent of a login."""
    agent = find_agent(session, login)
    if agent is None:
        raise AgentError(f"aucun agent {login.strip().lower()}")
    return agent


def list_agents(session: Session) -> list[AgentRow]:
    """Every agent, by login."""
    return list(session.scalars(select(AgentRow).order_by(AgentRow.login)))


def disable_agent(session: Session, login: str, now: datetime) -> AgentRow:
    """The agent can no longer log in; open sessions end at their next request."""
    agent = get_agent(session, login)
    agent.disabled, agent.sessions_valid_after = True, now
    return agent


def set_password(session: Session, login: str, password: str, now: datetime) -> AgentRow:
    """A new password; sessions opened with the old one end (and a disabled agent is enabled)."""
    agent = get_agent(session, login)
    agent.password_hash, agent.disabled, agent.sessions_valid_after = _hash(password), False, now
    return agent


def check_password(session: Session, login: str, password: str) -> AgentRow | None:
    """The enabled agent whose password this is, else None (same work either way)."""
    agent = find_agent(session, login)
    try:
        _HASHER.verify(agent.password_hash if agent is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if agent is None or agent.disabled:
        return None
    if _HASHER.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hash(password)
    return agent


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AgentError(f"mot de passe trop court : {MIN_PASSWORD} caractères au moins")
    return _HASHER.hash(password)
