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
