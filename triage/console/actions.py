"""What an agent can do to a case, one table shared by the pages and the API, and the
preview of the reply an action would queue (the action itself, rehearsed and rolled
back: what is previewed is what would be sent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import TriageError
from ..outbox.compose import reply_message
from ..rules import Rules
from ..store import casework
from ..store.corrections import correct, read_verdict
from ..store.models import REPLY_PENDING, CaseRow, ReplyRow

Form = Mapping[str, str]


class ActionError(TriageError):
    """The action cannot be done as asked (a French message for the agent)."""


@dataclass(frozen=True)
class Context:
    """What every action needs: the store session, the rules, who acts and when."""

    db: Session
    settings: Settings
    rules: Rules
    agent: str
    now: datetime


def _take(c: Context, reference: str, form: Form) -> CaseRow:
    if form.get("force") == "1":
        return casework.take_over(c.db, reference, c.agent, c.now)
    return casework.take(c.db, reference, c.agent, c.now)


def _release(c: Context, reference: str, form: Form) -> CaseRow:
    return casework.release(c.db, reference, c.agent, c.now)


def _note(c: Context, reference: str, form: Form) -> CaseRow:
    return casework.add_note(c.db, reference, c.agent, form.get("text", "")[:4000], c.now)


def _resolve(c: Context, reference: str, form: Form) -> CaseRow:
    return casework.resolve(c.db, reference, c.agent, form.get("note", "")[:4000], c.rules, c.now,
                            agent_text=form.get("text", ""))


def _reopen(c: Context, reference: str, form: Form) -> CaseRow:
    return casework.reopen(c.db, reference, c.agent, c.now)


def _correct(c: Context, reference: str, form: Form) -> CaseRow:
    verdict = read_verdict(form.get("action", ""), form.get("case", ""), form.get("identifier", ""),
                           form.get("department", ""), c.rules)
    return correct(c.db, reference, c.agent, verdict, c.rules, c.now)


def _settle(c: Context, reference: str, form: Form) -> CaseRow:
    try:
        reply_id = int(form.get("reply", ""))
    except ValueError:
        raise ActionError("réponse à vérifier non précisée") from None
    if form.get("received") not in ("yes", "no"):
        raise ActionError("précisez si la réponse a été reçue (yes) ou non (no)")
    casework.settle_unconfirmed(c.db, reference, reply_id, form["received"] == "yes", c.agent, c.now)
    return casework.get_case(c.db, reference)


# Verb (the URL's last part) → the action. Each one logs its events with the agent's login.
VERBS: dict[str, Callable[[Context, str, Form], CaseRow]] = {
    "take": _take, "release": _release, "note": _note, "resolve": _resolve, "reopen": _reopen,
    "correct": _correct, "settle": _settle,
}
# French, for the page's confirmation line after each action.
DONE = {"take": "Dossier pris en charge.", "release": "Dossier remis dans la file.", "note": "Note ajoutée.",
        "resolve": "Dossier résolu : la réponse de clôture partira au prochain envoi.",
        "reopen": "Dossier rouvert.", "correct": "Décision corrigée.", "settle": "Réponse vérifiée."}


def perform(c: Context, verb: str, reference: str, form: Form) -> CaseRow:
    """Do one action (the caller commits)."""
    action = VERBS.get(verb)
    if action is None:
        raise ActionError(f"action inconnue : {verb}")
    return action(c, reference, form)


@dataclass(frozen=True)
class Preview:
    """The reply an action would queue, as the requester would read it; None: no reply."""

    recipient: str
    subject: str
    text: str


def preview(c: Context, verb: str, reference: str, form: Form) -> Preview | None:
    """Rehearse the action in `c.db` and read the reply it queued. The caller's session
    must be one that is rolled back (Store.rehearsal)."""
    case = perform(c, verb, reference, form)
    c.db.flush()
    reply = c.db.scalars(select(ReplyRow).where(ReplyRow.case_id == case.id, ReplyRow.status == REPLY_PENDING)
                         .order_by(ReplyRow.id.desc())).first()
    if reply is None or reply.created_at != c.now:
        return None
    message = reply_message(c.db, reply, c.settings, c.rules, c.now)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return Preview(reply.recipient, str(message["Subject"]), str(text))
