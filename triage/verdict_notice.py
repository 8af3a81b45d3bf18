"""Saying that mail came without an authentication verdict: to agents (French) and operators.

If it is every message, the receiving server writes no verdict or `authserv_ids`
names the wrong one: this must show on the first day, not after weeks of requests
sent to agents (or answered unchecked) without anyone knowing why.
"""

from __future__ import annotations


def verdict_alert(count: int, require_verdict: bool) -> str:
    """The report's alert for mail of the last 24 hours without a verdict, and what it meant."""
    consequence = ("les demandes complètes sont allées en vérification par un agent, sans réponse automatique"
                   if require_verdict else
                   "ils ont été traités sans vérification de l'expéditeur (require_verdict = false)")
    return (f"{count} message(s) reçu(s) ces dernières 24 heures sans verdict d'authentification "
            f"(Authentication-Results) du serveur de réception : {consequence}. S'il s'agit de tous les "
            f"messages, vérifiez authserv_ids dans rules/departments.toml.")


def verdict_line(count: int, require_verdict: bool, when: str) -> str:
    """One line for `poll` and `outbox status` (English, like the rest of their output)."""
    consequence = ("complete requests went to an agent, unanswered" if require_verdict
                   else "decided without checking the sender (require_verdict = false)")
    return (f"{count} message(s) {when} without an authentication verdict (Authentication-Results) from the "
            f"receiving server: {consequence}. If that is every message, check authserv_ids in "
            f"rules/departments.toml.")
