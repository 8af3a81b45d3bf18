"""A nominative sender is judged on the address, not on the display name."""

import pytest

from triage.analysis.nominative import is_nominative
from triage.models import Address


@pytest.mark.parametrize("address, name", [
    ("jean.dupont@mairie-lamastre.fr", ""),
    ("j.dupont@mairie-lamastre.fr", ""),
    ("jdupont@orange.fr", ""),
    ("dupont.jean2@wanadoo.fr", ""),
    ("marie-claire.roux@cc-valdrome.fr", "Marie-Claire Roux"),
    ("jdupont07@gmail.com", "Jean Dupont"),
    ("dupontj@mairie-vif.fr", "DUPONT Jean"),
])
def test_person_patterns_are_nominative(rules, address, name):
    assert is_nominative(Address(name, address), rules)[0]


@pytest.mark.parametrize("address", [
    "mairie@saint-agreve.fr", "secretariat@mairie-joyeuse.fr", "accueil@mairie-mens.fr",
    "compta@cc-lamastre.fr", "comptabilite.mairie@mairie-voiron.fr", "contact@mairie-crest.fr",
    "dgs@ville-annonay.fr", "rh@mairie-privas.fr", "ccas@mairie-vienne.fr", "finances@mairie-die.fr",
    "urbanisme@mairie-nyons.fr", "info@sivom-privas.fr", "mairie.lamastre@orange.fr",
    "secmairie@wanadoo.fr",
])
def test_role_addresses_are_not_nominative(rules, address):
    assert not is_nominative(Address("", address), rules)[0]


def test_a_persons_display_name_on_a_generic_address_is_not_nominative(rules):
    nominative, why = is_nominative(Address("Sylvie Morel", "secretariat@mairie-joyeuse.fr"), rules)
    assert not nominative and "secretariat" in why


@pytest.mark.parametrize("address", ["lablachere@orange.fr", "saint-agreve@wanadoo.fr", "stagreve@orange.fr"])
def test_the_communes_own_name_as_local_part_is_not_nominative(rules, address):
    nominative, why = is_nominative(Address("", address), rules)
    assert not nominative and "commune" in why


def test_a_single_word_address_under_a_mairie_display_name_is_not_nominative(rules):
    assert not is_nominative(Address("Mairie de Lamastre", "lamastre07x@orange.fr"), rules)[0]


def test_display_name_agreement_is_the_evidence_for_a_short_address(rules):
    nominative, why = is_nominative(Address("Luc Abel", "label@free.fr"), rules)
    assert nominative and "correspond" in why


def test_consumer_domain_decides_nothing(rules):
    assert is_nominative(Address("", "jean.dupont@gmail.com"), rules)[0]
    assert not is_nominative(Address("", "mairie.vif@gmail.com"), rules)[0]
