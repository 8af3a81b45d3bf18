"""Did the receiving server authenticate the sender's domain (SPF, DKIM, DMARC)?

Anyone can put any address in From. The receiving server checks SPF, DKIM and DMARC
and writes its verdict in an Authentication-Results header (RFC 8601) named with its
authserv-id; only a trusted id counts (rules: departments.toml, authserv_ids), and
only the topmost such header, the last one added.

Three outcomes, as the finding's value: `pass`; `fail` (a verdict that does not vouch
for the From domain: a hit); `missing` (no verdict at all: no trusted header, one that
cannot be read, or one without any SPF, DKIM or DMARC result: a hit too). Whether a
missing verdict blocks an automatic answer is the deployment's choice, made by the
policy (`require_verdict`), not here: this check only says what it saw.

The header's grammar (nested comments, quoted values, versions) is left to authres,
behind a guard: whatever authres raises on a hostile header, the mail gets no verdict
and the evidence says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import authres

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from .common import within

NAME = CheckName.AUTHENTICATION
DESCRIPTION = (
    "The sender's domain is not authenticated: no readable Authentication-Results with an SPF, DKIM or DMARC "
    "result from a trusted receiving server (missing), or DMARC failed, or no SPF/DKIM pass aligned with the "
    "From domain (fail)."
)
NO_VERDICT = "missing"
METHODS = ("spf", "dkim", "dmarc")
HEADER_LIMIT = 4_000  # a verdict is a few hundred characters; beyond, junk (and authres is quadratic)
# The authserv-id of a header authres cannot read: its first word (dot-atom).
_LEADING_ID = re.compile(r"\s*([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)")


@dataclass(frozen=True)
class Verdict:
    """The topmost trusted Authentication-Results, as far as it could be read."""

    authserv_id: str
    results: tuple[tuple[str, str, dict[str, str]], ...] = ()  # (method, result, properties) of SPF/DKIM/DMARC
    unreadable: str = ""  # why it could not be read; then no result counts


def read_header(value: str) -> tuple[str | None, tuple[tuple[str, str, dict[str, str]], ...], str]:
    """(authserv-id, SPF/DKIM/DMARC results, why unreadable) of one header value; never raises.

    Properties are keyed "header.d", "smtp.mailfrom"...; values are lower-cased
    domains (the part after "@" of an address).
    """
    unfolded = " ".join(value.split())
    leading = _LEADING_ID.match(unfolded)
    authserv_id = leading.group(1).lower() if leading else None
    if len(unfolded) > HEADER_LIMIT:
        return authserv_id, (), f"plus de {HEADER_LIMIT} caractères"
    return _read_simple(unfolded) or _read_with_authres(unfolded, authserv_id)


# What receiving servers write ("mx1.example; spf=pass smtp.mailfrom=example.org; dkim=pass
# header.d=example.org"): no comment, quote, version or reason, properties of the four
# types. ASCII only; a method starting with "none" is authres's "none" result.
_SIMPLE_VALUE = r"(?:[a-z0-9_.+-][a-z0-9_.+@-]*|@[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*)"  # "@domain": DKIM's header.i
_SIMPLE_RESULT = rf"(?!none)[a-z0-9-]+=[a-z0-9-]+(?: (?:smtp|header|body|policy)\.[a-z0-9-]+={_SIMPLE_VALUE})*"
_SIMPLE_HEADER = re.compile(rf"[a-z0-9-]+(?:\.[a-z0-9-]+)*(?:; {_SIMPLE_RESULT})+", re.IGNORECASE | re.ASCII)


def _read_simple(unfolded: str) -> tuple[str, tuple[tuple[str, str, dict[str, str]], ...], str] | None:
    """What authres reads in a header of the simple grammar above, 50 times faster; None for any other header."""
    if not _SIMPLE_HEADER.fullmatch(unfolded):
        return None
    authserv_id, *resinfos = unfolded.split("; ")
    results = []
    for resinfo in resinfos:
        method_result, *properties = resinfo.lower().split(" ")
        method, _, result = method_result.partition("=")
        if method in METHODS:
            results.append((method, result, {name: value.rpartition("@")[2]
                                             for name, _, value in (p.partition("=") for p in properties)}))
    return authserv_id.lower(), tuple(results), ""


def _read_with_authres(unfolded: str, authserv_id: str | None) -> tuple[str | None, tuple[tuple[str, str, dict[str, str]], ...], str]:
    """Any header, by authres: comments, quoted values, versions, reasons."""
    try:
        header = authres.parse_value(unfolded)
        results = tuple(
            (str(result.method).lower(), str(result.result).lower(),
             {f"{p.type}.{p.name}".lower(): str(p.value).lower().rpartition("@")[2] for p in result.properties})
            for result in header.results if str(result.method).lower() in METHODS)
        return str(header.authserv_id).lower(), results, ""
    except Exception as error:  # noqa: BLE001 - authres raises its own errors, and RecursionError on deep comments
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        return authserv_id, (), reason


def trusted_verdict(mail: Mail, rules: Rules) -> Verdict | None:
    """The topmost Authentication-Results of a trusted server, read or not; None if there is none.

    An unreadable trusted header still ends the search: a lower one may have come
    with the mail, written by the sender.
    """
    for name, value in mail.headers:
        if name != "authentication-results":
            continue
        authserv_id, results, unreadable = read_header(value)
        if authserv_id and within(authserv_id, rules.authserv_ids):
            return Verdict(authserv_id, results, unreadable)
    return None


def authenticated(results: tuple[tuple[str, str, dict[str, str]], ...], from_domain: str) -> tuple[bool, str]:
    """(authenticated?, the result that says so): DMARC decides when it ran; without
    it, an SPF or DKIM pass for the From domain or a parent of it."""
    for method, result, _ in results:
        if method == "dmarc" and result in ("pass", "fail"):
            return result == "pass", f"dmarc={result}"
    for method, result, properties in results:
        domain = properties.get("header.d") or properties.get("header.i") if method == "dkim" else (
            properties.get("smtp.mailfrom") if method == "spf" else None)
        if result == "pass" and domain and within(from_domain, (domain,)):
            return True, f"{method}=pass ({domain})"
    return False, ", ".join(f"{method}={result}" for method, result, _ in results)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """A hit when the sender is not authenticated, `missing` when no verdict; the verdict read as evidence."""
    verdict = trusted_verdict(mail, rules)
    if verdict is None:
        return [Finding(NAME, NO_VERDICT, "aucun Authentication-Results du serveur de réception")]
    if verdict.unreadable:
        return [Finding(NAME, NO_VERDICT, f"Authentication-Results de {verdict.authserv_id} illisible "
                                          f"({verdict.unreadable}) : aucun verdict")]
    if not verdict.results:
        return [Finding(NAME, NO_VERDICT, f"Authentication-Results de {verdict.authserv_id} "
                                          "sans résultat SPF, DKIM ou DMARC : aucun verdict")]
    domain = mail.sender.domain if mail.sender else ""
    ok, evidence = authenticated(verdict.results, domain)
    return [Finding(NAME, "pass" if ok else "fail", f"Authentication-Results : {evidence}", hit=not ok)]


def lacks_verdict(findings: Iterable[Finding | dict[str, Any]]) -> bool:
    """The receiving server gave no verdict on this message (findings, or findings as stored)."""
    for finding in findings:
        check_name, value = ((finding.get("check"), finding.get("value")) if isinstance(finding, dict)
                             else (finding.check, finding.value))
        if check_name == NAME and value == NO_VERDICT:
            return True
    return False
