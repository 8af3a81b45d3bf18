"""The receiving server's verdict on the sender (Authentication-Results, RFC 8601)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import verdict

REQUEST = "Bonjour, mon mot de passe a expiré. Mon identifiant est jdupont-xt. Cordialement"
SELF_SERVICE = ("Bonjour, j'ai oublié mon mot de passe, identifiant jdupont-xt, "
                "mon numéro de portable est bien enregistré.")


def with_verdict(value: str | None) -> dict:
    return {"authenticated": False, "headers": {"Authentication-Results": value} if value else {}}


@pytest.mark.parametrize("header, expected", [
    (verdict("mairie-lamastre.fr"), "pass"),
    ("mx2.dgfip.finances.gouv.fr; dmarc=pass (p=none dis=none) header.from=mairie-lamastre.fr", "pass"),
    ("mx1.dgfip.finances.gouv.fr; spf=fail smtp.mailfrom=mairie-lamastre.fr; dkim=none; dmarc=fail", "fail"),
    ("mx1.dgfip.finances.gouv.fr; dkim=pass header.d=mairie-lamastre.fr", "pass"),
    ("mx1.dgfip.finances.gouv.fr; dkim=pass header.d=mail.mairie-lamastre.fr", "fail"),  # not a parent
    ("mx1.dgfip.finances.gouv.fr; spf=pass smtp.mailfrom=bounces@mailer.example.com", "fail"),  # not aligned
    ("mx1.dgfip.finances.gouv.fr; spf=pass smtp.mailfrom=jean.dupont@lamastre.fr", "fail"),
    ("mx1.dgfip.finances.gouv.fr; none", "missing"),  # the server checked nothing: no verdict
    ("mx1.dgfip.finances.gouv.fr 1; spf=pass (sender IP is 192.0.2.1; dmarc=fail) smtp.mailfrom=mairie-lamastre.fr",
     "pass"),  # a comment is no result
])
def test_the_trusted_verdict_is_read(findings_of, header, expected):
    [finding] = findings_of("authentication", REQUEST, **with_verdict(header))
    assert finding.value == expected and finding.hit == (expected != "pass")


@pytest.mark.parametrize("header, expected", [
    # A nested comment holding a semicolon is still one comment, not a result.
    ("mx1.dgfip.finances.gouv.fr; spf=pass (sender (IP 192.0.2.1) ok; dmarc=fail) "
     "smtp.mailfrom=mairie-lamastre.fr", "pass"),
    ("mx1.dgfip.finances.gouv.fr (relais (interne)) 1; dkim=pass (cle (2048 bits)) header.d=mairie-lamastre.fr",
     "pass"),
    # A quoted value is one value: the sender chose this MAIL FROM local part.
    ('mx1.dgfip.finances.gouv.fr; spf=fail smtp.mailfrom="x; dmarc=pass"@evil.example', "fail"),
    ('mx1.dgfip.finances.gouv.fr; dkim=pass reason="bonne; signature" header.d="mairie-lamastre.fr"', "pass"),
    # Several results: DMARC decides when it ran; else any aligned SPF or DKIM pass.
    ("mx1.dgfip.finances.gouv.fr; spf=fail smtp.mailfrom=relay.example; dkim=pass header.d=other.example; "
     "dkim=pass header.i=@mairie-lamastre.fr; arc=none", "pass"),
    ("mx1.dgfip.finances.gouv.fr; dkim=pass header.d=mairie-lamastre.fr; dmarc=fail header.from=mairie-lamastre.fr",
     "fail"),
])
def test_comments_quoted_values_and_several_results_are_read_by_the_grammar(findings_of, header, expected):
    [finding] = findings_of("authentication", REQUEST, **with_verdict(header))
    assert (finding.value, finding.hit) == (expected, expected != "pass"), finding.evidence


@pytest.mark.parametrize("header", [
    "mx1.dgfip.finances.gouv.fr; spf=pass (unterminated smtp.mailfrom=mairie-lamastre.fr",
    "mx1.dgfip.finances.gouv.fr; dkim=pass header.d=mairie-lamastre.fr; dmarc",
    "mx1.dgfip.finances.gouv.fr 7; dmarc=pass header.from=mairie-lamastre.fr",  # unknown version
    "mx1.dgfip.finances.gouv.fr; spf=pass " + "(" * 3000 + ")" * 3000,  # deeper than Python recurses
])
def test_a_malformed_trusted_header_is_no_verdict_and_says_so(findings_of, header):
    [finding] = findings_of("authentication", REQUEST, **with_verdict(header))
    assert (finding.value, finding.hit) == ("missing", True)
    assert "illisible" in finding.evidence and "aucun verdict" in finding.evidence


def test_a_malformed_trusted_header_hides_the_lower_ones(findings_of):
    data = ("Authentication-Results: mx1.dgfip.finances.gouv.fr; dkim=pass (oops\r\n"
            f"Authentication-Results: {verdict('mairie-lamastre.fr')}\r\n"
            "From: jean.dupont@mairie-lamastre.fr\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            f"Subject: mot de passe\r\n\r\n{REQUEST}\r\n").encode()
    [finding] = findings_of("authentication", data)
    assert finding.value == "missing" and "illisible" in finding.evidence


def test_a_verdict_from_an_untrusted_server_or_a_forged_lower_one_does_not_count(findings_of):
    forged = "mx.attacker.example; dmarc=pass header.from=mairie-lamastre.fr"
    [finding] = findings_of("authentication", REQUEST, **with_verdict(forged))
    assert finding.value == "missing" and finding.hit
    # The topmost trusted header is the receiving server's own; one below it came with the mail.
    data = (f"Authentication-Results: {verdict('mairie-lamastre.fr', 'fail')}\r\n"
            f"Authentication-Results: {verdict('mairie-lamastre.fr')}\r\n"
            "From: jean.dupont@mairie-lamastre.fr\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            f"Subject: mot de passe\r\n\r\n{REQUEST}\r\n").encode()
    [finding] = findings_of("authentication", data)
    assert finding.value == "fail"


@pytest.mark.parametrize("body, would_be", [(REQUEST, "acknowledge"), (SELF_SERVICE, "self_service")])
@pytest.mark.parametrize("header", [None, verdict("mairie-lamastre.fr", "fail")])
def test_an_unauthenticated_request_goes_to_an_agent_with_a_warning(decision_of, body, would_be, header):
    assert decision_of(body).action == would_be
    decision = decision_of(body, **with_verdict(header))
    assert decision.action == "human_review"
    assert "sender_not_authenticated" in decision.warnings
    assert "non authentifié" in decision.reason


def test_requests_for_information_redirections_and_robots_are_unchanged(decision_of):
    unauthenticated = with_verdict(None)
    assert decision_of("Bonjour, mot de passe expiré, je ne peux plus me connecter.",
                       **unauthenticated).action == "request_info"
    assert decision_of("Mot de passe expiré pour jdupont-xt, compte créé par la DDFIP de la Savoie.",
                       **unauthenticated).action == "redirect_department"
    assert decision_of("Je suis absent.", headers={"Auto-Submitted": "auto-replied"},
                       authenticated=False).action == "ignore"


def test_hostile_verdicts_never_raise(findings_of):
    for header in ["", ";;;;", "(" * 5000, "mx1.dgfip.finances.gouv.fr; " + "dkim=pass " * 2000,
                   "mx1.dgfip.finances.gouv.fr; spf=pass smtp.mailfrom=\"" + "a" * 10000]:
        [finding] = findings_of("authentication", REQUEST, **with_verdict(header or "x"))
        assert finding.hit


# --- the fast path for simple headers reads what authres reads -----------------------

# (clean pieces, pieces that may leave the simple grammar)
_IDS = (["mx1.dgfip.finances.gouv.fr", "MX2.Example.ORG", "a", "123", "mx-1.b"], ["a..b", "mx.fr (relais)", "mx 1"])
_METHODS = (["spf", "dkim", "dmarc", "DKIM", "Spf", "arc", "iprev", "auth", "x-y", "reason"],
            ["none", "nonexistent", "NoneX", "dkim/1", "a.b", ""])
_RESULTS = (["pass", "fail", "none", "softfail", "PASS", "temperror", "neutral", "x-1"], ["", "a.b", "(x)"])
_PTYPES = (["smtp", "header", "body", "policy", "HEADER", "Smtp"], ["foo", "reason", "headerx", ""])
_NAMES = (["mailfrom", "d", "i", "from", "b", "helo", "MailFrom", "x-y"], ["a.b", "", "x=y"])
_VALUES = (["mairie.fr", "Mairie-Privas.FR", "a@b.c", "@gmail.com", "x+y@a..b", "a@b@c", "-", ".", "a_b", "0"],
           ["@a.", "@a..b", "@", "", '"a b"', "a(b)", "é", "ſ", "K"])
_GLUES = (["; "], [";", " ; ", ";; "])


@st.composite
def simple_headers(draw) -> str:
    """Headers of the simple grammar, and (rarely clean) near misses of it: comments, quotes, versions..."""
    noisy = draw(st.booleans())

    def piece(choices: tuple[list[str], list[str]]) -> str:
        if noisy and draw(st.integers(0, 5)) == 0:
            return draw(st.one_of(st.sampled_from(choices[1]), st.text(alphabet="aZ09.-_+@=\"();/ é", max_size=6)))
        return draw(st.sampled_from(choices[0]))

    text = piece(_IDS)
    for _ in range(draw(st.integers(1, 4))):
        text += piece(_GLUES) + piece(_METHODS) + "=" + piece(_RESULTS)
        for _ in range(draw(st.integers(0, 3))):
            text += " " + piece(_PTYPES) + "." + piece(_NAMES) + "=" + piece(_VALUES)
    return " ".join(text.split())


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(header=simple_headers())
def test_the_fast_path_reads_what_authres_reads(header):
    from triage.analysis.authentication import _read_simple, _read_with_authres

    fast = _read_simple(header)
    if fast is not None:
        assert fast == _read_with_authres(header, None), header


@pytest.mark.parametrize("header", [
    verdict("mairie-lamastre.fr"),
    "mx1.dgfip.finances.gouv.fr; spf=pass smtp.mailfrom=bounce+x@mairie-privas.fr; dkim=pass header.d=Mairie.FR "
    "header.i=@mairie.fr; dmarc=pass header.from=mairie.fr; arc=none",
    "MX1.DGFIP.FINANCES.GOUV.FR; SPF=FAIL SMTP.MAILFROM=a.b@c.d",
])
def test_usual_headers_take_the_fast_path(header):
    from triage.analysis.authentication import _read_simple, _read_with_authres

    assert _read_simple(header) is not None
    assert _read_simple(header) == _read_with_authres(header, None)
