"""Did the receiving server authenticate the sender's domain (SPF, DKIM, DMARC)?

Anyone can put any address in From. The receiving server checks SPF, DKIM and DMARC
and writes its verdict in an Authentication-Results header (RFC 8601) named with its
authserv-id; only a trusted id counts (rules: departments.toml, authserv_ids), and
only the topmost such header, the last one added. A failing or missing verdict is a
hit: the decision then never answers automatically.

Our own small parser rather than a library: it must never raise on hostile headers,
and three methods with a few properties are all we read.
"""

from __future__ import annotations

import re

from ..models import Finding, Mail
from ..rules import Rules
from .common import within

NAME = "authentication"
DESCRIPTION = (
    "The sender's domain is not authenticated: no Authentication-Results from a trusted receiving "
    "server, or DMARC failed, or no SPF/DKIM pass aligned with the From domain."
)

_COMMENT = re.compile(r"\([^()]{0,500}\)")
_RESULT = re.compile(r"^\s*(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.d|header\.i|header\.from|smtp\.mailfrom|smtp\.helo)\s*=\s*\"?([^\s;\"]+)",
                       re.IGNORECASE)
_HEADER_LIMIT = 4_000  # a verdict is a few hundred characters; beyond, junk


def trusted_verdict(mail: Mail, rules: Rules) -> str | None:
    """The topmost Authentication-Results of a trusted server, comments removed."""
    for name, value in mail.headers:
        if name != "authentication-results":
            continue
        value = _COMMENT.sub(" ", value[:_HEADER_LIMIT])
        authserv_id = value.partition(";")[0].split()
        if authserv_id and within(authserv_id[0].lower(), rules.authserv_ids):
            return value
    return None


def results(verdict: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, result, properties) for each SPF, DKIM and DMARC result in a verdict."""
    found = []
    for part in verdict.split(";")[1:]:
        match = _RESULT.match(part)
        if match:
            properties = {key.lower(): value.lower().rpartition("@")[2] for key, value in _PROPERTY.findall(part)}
            found.append((match.group(1).lower(), match.group(2).lower(), properties))
    return found


def authenticated(verdict: str, from_domain: str) -> tuple[bool, str]:
    """(authenticated?, the result that says so): DMARC decides when it ran; without
    it, an SPF or DKIM pass for the From domain or a parent of it."""
    found = results(verdict)
    for method, result, _ in found:
        if method == "dmarc" and result in ("pass", "fail"):
            return result == "pass", f"dmarc={result}"
    for method, result, properties in found:
        domain = properties.get("header.d") or properties.get("header.i") if method == "dkim" else (
            properties.get("smtp.mailfrom") if method == "spf" else None)
        if result == "pass" and domain and within(from_domain, (domain,)):
            return True, f"{method}=pass ({domain})"
    summary = ", ".join(f"{method}={result}" for method, result, _ in found) or "aucun résultat SPF, DKIM ou DMARC"
    return False, summary


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """A hit when the sender is not authenticated; the verdict read as evidence."""
    verdict = trusted_verdict(mail, rules)
    if verdict is None:
        return [Finding(NAME, "missing", "aucun Authentication-Results du serveur de réception")]
    domain = mail.sender.domain if mail.sender else ""
    ok, evidence = authenticated(verdict, domain)
    return [Finding(NAME, "pass" if ok else "fail", f"Authentication-Results : {evidence}", hit=not ok)]
