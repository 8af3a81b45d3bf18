"""Helpers the checks and the threading share."""

import pytest

from triage.analysis.common import same_organisation


@pytest.mark.parametrize(("first", "second", "same"), [
    ("secretariat@mairie-vals.fr", "a.laurent@mairie-vals.fr", True),
    ("accueil@ville-annonay.fr", "marc.roux@finances.ville-annonay.fr", True),   # a subdomain
    ("rh@services.grenoble.fr", "paul@compta.grenoble.fr", True),                 # two siblings
    ("mairie@mairie-vals.fr", "anne@agglo-privas.fr", False),
    ("mairie@mairie-a.fr", "anne@mairie-b.fr", False),                           # siblings under .fr only
    ("mairie.vals@gmail.com", "anne.laurent@gmail.com", False),                   # a mail provider
    ("", "anne@mairie-vals.fr", False),
])
def test_same_organisation_is_one_domain_or_its_subdomains_never_a_mail_provider(rules, first, second, same):
    assert same_organisation(first, second, rules) is same
    assert same_organisation(second, first, rules) is same


def test_two_mails_never_share_what_is_read_once_per_text(rules, mail_of):
    """Folded texts, clauses and own history are cached per text: a mail reads its own."""
    from triage.analysis.common import requester_statement, requester_text

    registered = mail_of("Bonjour, mon portable est bien enregistré sur le compte.")
    missing = mail_of("Bonjour, je n'ai pas de portable enregistré sur le compte.")
    for _ in range(2):  # the second round reads from the caches
        assert requester_statement(registered, rules, "phone").value is True
        assert requester_statement(missing, rules, "phone").value is False
    assert requester_text(registered, rules).new.text != requester_text(missing, rules).new.text


def test_the_own_history_is_cut_at_its_limit_whatever_follows(rules):
    """Quoted blocks past the limit are not read: the history is what joining all of them gave."""
    from dataclasses import replace

    from triage.analysis.common import HISTORY_LIMIT, requester_text
    from triage.models import Address, Mail, QuotedPart

    mail = Mail(origin="t", sender=Address("Anne", "anne@mairie-vals.fr"), new_text="Bonjour",
                quoted=tuple(QuotedPart("reply", "anne@mairie-vals.fr", f"bloc {n} " + "x" * 3000) for n in range(5)))
    longer = replace(mail, quoted=mail.quoted + (QuotedPart("reply", "", "la DDFIP vous répond"),))
    whole = "\n".join(p.text for p in mail.quoted)[:HISTORY_LIMIT]
    assert requester_text(mail, rules).own_history.original == whole
    assert requester_text(longer, rules).own_history.original == whole
