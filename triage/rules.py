"""Loads the declarative rules (rules/*.toml) into one immutable, precompiled value."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from .errors import RulesError
from .patterns import RulePattern, compile_all, compile_pattern, compile_plain
from .rules_tables import Table
from .textnorm import WORD, fold

RULE_FILES = ("departments.toml", "communes.toml", "generic_senders.toml", "keywords.toml", "language.toml")

# Abbreviations read as the word they stand for when matching place names.
_TOKEN_ALIASES = {"st": "saint", "ste": "sainte", "hte": "haute"}
_ARTICLES = frozenset({"le", "la", "les", "l"})


@dataclass(frozen=True)
class Department:
    """One configured department and its support mailbox."""

    code: str
    name: str
    of_name: str  # "de l'Ardèche"
    names: tuple[str, ...]
    mailbox: str
    postal_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    """A name that locates a writer: a commune, an EPCI or a department."""

    name: str
    kind: str  # "commune", "epci" or "department"
    departments: frozenset[str]
    tokens: tuple[str, ...]
    needs_context: bool  # a one-word commune ("Vif", "Mens") is only a place in context


@dataclass(frozen=True, eq=False)  # hashed by identity: checks cache per (mail, rules)
class Rules:
    """Everything the checks read from rules/: data, not code."""

    directory: str
    version: str
    domain: str
    authserv_ids: tuple[str, ...]  # receiving servers whose Authentication-Results we trust
    departments: tuple[Department, ...]
    # places, indexed by their first two tokens (one for one-word names), longest first
    places: dict[tuple[str, ...], tuple[Place, ...]]
    postal_codes: dict[str, frozenset[str]]
    commune_keys: frozenset[str]  # commune names without separators: "saintagreve"
    # senders
    generic_words: frozenset[str]
    generic_roots: tuple[str, ...]
    generic_display: tuple[RulePattern, ...]
    automatic_senders: tuple[RulePattern, ...]
    automatic_subjects: tuple[RulePattern, ...]
    precedence: frozenset[str]
    autoreply_headers: tuple[str, ...]
    consumer_domains: frozenset[str]
    # words
    vocabulary: frozenset[str]
    abbreviations: dict[str, str]
    protected: frozenset[str]
    clause_separators: RulePattern
    negations: RulePattern
    negation_exceptions: RulePattern
    unclear: tuple[RulePattern, ...]
    password_terms: RulePattern
    password_topic: RulePattern
    other_topics: tuple[RulePattern, ...]
    bulk_markers: RulePattern
    resolved: RulePattern
    procedure_name: re.Pattern[str]  # blanked out with sub()
    other_person: tuple[RulePattern, ...]
    identifier_stop_words: frozenset[str]
    identifier_placeholders: frozenset[str]
    secret_introducers: RulePattern
    not_secret: frozenset[str]
    created: tuple[RulePattern, ...]
    services: RulePattern
    commune_context: RulePattern
    sent_here: RulePattern
    not_postal: RulePattern

    @cached_property
    def mailboxes(self) -> dict[str, Department]:
        """Mailbox address → its department."""
        return {d.mailbox: d for d in self.departments}



def shipped_dir(name: str) -> Path:
    """A data directory shipped with triage: `rules` or `templates`.

    In a checkout (and an editable install) it is the top-level folder; a wheel
    carries it as the package triage.shipped.<name> (see pyproject.toml).
    """
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("triage.shipped") / name))


def default_rules_dir() -> Path:
    """The rules shipped with the package."""
    return shipped_dir("rules")


def place_tokens(name: str) -> tuple[str, ...]:
    """The tokens of a place name as they are matched: folded, abbreviations expanded."""
    return tuple(_TOKEN_ALIASES.get(t, t) for t in WORD.findall(fold(name)))


@lru_cache(maxsize=8)
def load_rules(directory: str | None = None) -> Rules:
    """Read and compile the rules of a directory (default: the shipped ones)."""
    path = Path(directory) if directory else default_rules_dir()
    raw: dict[str, Table] = {}
    digest = hashlib.sha256()
    for name in RULE_FILES:
        file = path / name
        try:
            content = file.read_bytes()
            raw[name] = Table(str(file), tomllib.loads(content.decode("utf-8")))
        except FileNotFoundError:
            raise RulesError(f"rules file missing: {file}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise RulesError(f"rules file {file} is not valid TOML: {error}") from None
        digest.update(content)
    try:
        return _build(str(path), digest.hexdigest()[:12], raw)
    except (KeyError, TypeError, re.error) as error:
        raise RulesError(f"rules in {path} are incomplete or invalid: {error!r}") from None


def _build(directory: str, version: str, raw: dict[str, Table]) -> Rules:
    departments_data = raw["departments.toml"]
    departments = tuple(
        Department(
            code=d["code"],
            name=d["name"],
            of_name=d["of_name"],
            names=tuple(d["names"]),
            mailbox=d["mailbox"].lower(),
            postal_prefixes=tuple(d["postal_prefixes"]),
        )
        for d in departments_data["departments"]
    )
    places, postal_codes, commune_keys = _build_places(departments, raw["communes.toml"])
    senders = raw["generic_senders.toml"]
    words = raw["keywords.toml"]
    case_kind = words["case_kind"]
    return Rules(
        directory=directory,
        version=version,
        domain=departments_data["domain"].lower(),
        authserv_ids=tuple(i.lower() for i in departments_data["authserv_ids"]),
        departments=departments,
        places=places,
        postal_codes=postal_codes,
        commune_keys=commune_keys,
        generic_words=frozenset(senders["generic"]["words"]),
        generic_roots=tuple(senders["generic"]["roots"]),
        generic_display=compile_all(senders["generic"]["display_patterns"]),
        automatic_senders=compile_all(senders["automatic"]["senders"]),
        automatic_subjects=compile_all(senders["automatic"]["subjects"]),
        precedence=frozenset(senders["automatic"]["precedence"]),
        autoreply_headers=tuple(senders["automatic"]["autoreply_headers"]),
        consumer_domains=frozenset(senders["consumer_domains"]["domains"]),
        vocabulary=frozenset(words["typos"]["vocabulary"]),
        abbreviations=dict(words["typos"]["abbreviations"]),
        protected=frozenset(words["typos"]["protected"]),
        # Found every few words: re's own finditer beats any scan (patterns.ScannedPattern).
        clause_separators=compile_plain(words["clauses"]["separators"]),
        negations=compile_pattern(words["clauses"]["negations"]),
        negation_exceptions=compile_pattern(words["clauses"]["negation_exceptions"]),
        unclear=compile_all(case_kind["unclear"]),
        password_terms=compile_pattern(case_kind["password_terms"]),
        password_topic=compile_pattern(case_kind["password_topic"]),
        other_topics=compile_all(case_kind["other_topics"]),
        bulk_markers=compile_pattern(case_kind["bulk_markers"]),
        resolved=compile_pattern(case_kind["resolved"]),
        procedure_name=compile_plain(case_kind["procedure_name"]),
        other_person=compile_all(words["other_person"]["patterns"]),
        identifier_stop_words=frozenset(words["identifier"]["stop_words"]),
        identifier_placeholders=frozenset(words["identifier"]["placeholders"]),
        secret_introducers=compile_pattern(words["secrets"]["introducers"]),
        not_secret=frozenset(words["secrets"]["not_secret"]),
        created=compile_all(words["department"]["created"]),
        services=compile_pattern(words["department"]["services"]),
        commune_context=compile_pattern(words["department"]["commune_context"]),
        sent_here=compile_pattern(words["department"]["sent_here"]),
        not_postal=compile_pattern(words["department"]["not_postal"]),
    )


def _build_places(
    departments: tuple[Department, ...], communes: Table
) -> tuple[dict[tuple[str, ...], tuple[Place, ...]], dict[str, frozenset[str]], frozenset[str]]:
    """Index communes, EPCI and department names by first token; map postal codes."""
    merged: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    names: dict[tuple[str, tuple[str, ...]], str] = {}
    postal: dict[str, set[str]] = {}
    commune_keys: set[str] = set()

    def add(kind: str, name: str, department: str, tokens: tuple[str, ...]) -> None:
        if tokens:
            merged.setdefault((kind, tokens), set()).add(department)
            names.setdefault((kind, tokens), name)

    for commune in communes["communes"]:
        tokens = place_tokens(commune["name"])
        add("commune", commune["name"], commune["department"], tokens)
        if tokens[0] in _ARTICLES and len(tokens) > 2:
            # "Mairie du Pont-de-Beauvoisin": the article merges into "du".
            add("commune", commune["name"], commune["department"], tokens[1:])
        commune_keys.add("".join(tokens))
        commune_keys.add("".join("st" if t == "saint" else t for t in tokens))
        for code in commune["postal_codes"]:
            postal.setdefault(code, set()).add(commune["department"])
    for epci in communes["epcis"]:
        # "CC du Pays de Lamastre" is written "Communauté de communes du Pays de
        # Lamastre" or "Pays de Lamastre": match what follows the legal form.
        distinctive = re.sub(r"^(CC|CA|CU)\s+((du|de la|des|de l'|de|d')\s+)?", "", epci["name"])
        distinctive = re.sub(r"\s*\(.*\)$", "", distinctive)
        add("epci", epci["name"], epci["department"], place_tokens(distinctive))
    for department in departments:
        for name in department.names:
            add("department", department.name, department.code, place_tokens(name))

    index: dict[tuple[str, ...], list[Place]] = {}
    for (kind, tokens), codes in merged.items():
        meaningful = tokens[1:] if tokens[0] in _ARTICLES else tokens
        place = Place(
            name=names[(kind, tokens)],
            kind=kind,
            departments=frozenset(codes),
            tokens=tokens,
            needs_context=kind == "commune" and len(meaningful) == 1,
        )
        index.setdefault(tokens[:2], []).append(place)
    ordered = {first: tuple(sorted(found, key=lambda p: -len(p.tokens))) for first, found in index.items()}
    return ordered, {code: frozenset(d) for code, d in postal.items()}, frozenset(commune_keys)
