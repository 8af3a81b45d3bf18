"""The policy: from findings to one action. Pure; the order of POLICY is the specification."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .analysis.authentication import NO_VERDICT
from .models import Action, CaseKind, CheckName, Decision, Finding, Mail

# When two messages of one case say different things, the stronger kind wins:
# an expiry can only be handled by the DDFIP, whatever else was said.
KIND_STRENGTH: dict[str, int] = {CaseKind.EXPIRED: 3, CaseKind.LOST: 2, CaseKind.UNCLEAR: 1, CaseKind.OTHER: 0}


@dataclass(frozen=True)
class Facts:
    """What the findings established, in the words of the procedure."""

    automatic: bool
    unparseable: bool
    case: str
    identifiers: tuple[str, ...]
    sender_nominative: bool
    phone_registered: bool | None
    self_service_failed: bool
    other_person: bool
    mailbox: str | None
    mailbox_department: str | None
    account_department: str | None
    password_disclosed: bool
    # This message's own: the receiving server vouched for the sender's domain.
    # (Decisions stored before the check existed read as authenticated.)
    sender_authenticated: bool = True

    @classmethod
    def from_findings(cls, findings: tuple[Finding, ...], require_verdict: bool = True) -> Facts:
        """Read the value of each check (a check that did not run reads as 'nothing found').

        Without `require_verdict` (a receiving server that writes no verdict), a mail
        with no verdict counts as authenticated, as before the check existed; a
        failing verdict never does.
        """
        def value(check: str, default: Any = None) -> Any:  # a finding's value has the type of its check
            return next((f.value for f in findings if f.check == check), default)

        def hit(check: str) -> bool:
            return any(f.hit and f.check == check for f in findings)

        mailbox = value(CheckName.MAILBOX)
        return cls(
            automatic=hit(CheckName.AUTOMATIC),
            unparseable=hit(CheckName.UNPARSEABLE),
            case=value(CheckName.CASE_KIND, CaseKind.OTHER),
            identifiers=tuple(f.value for f in findings if f.check == CheckName.IDENTIFIER and f.hit),
            sender_nominative=bool(value(CheckName.NOMINATIVE, False)),
            phone_registered=value(CheckName.PHONE),
            self_service_failed=hit(CheckName.SELF_SERVICE_FAILED),
            other_person=hit(CheckName.OTHER_PERSON),
            mailbox=mailbox[0] if mailbox else None,
            mailbox_department=mailbox[1] if mailbox else None,
            account_department=value(CheckName.DEPARTMENT) if hit(CheckName.DEPARTMENT) else None,
            password_disclosed=hit(CheckName.PASSWORD_DISCLOSED),
            sender_authenticated=not hit(CheckName.AUTHENTICATION) or (
                not require_verdict and value(CheckName.AUTHENTICATION) == NO_VERDICT),
        )

    def merged_with(self, known: Facts) -> Facts:
        """What a case knows once this message is added to what it knew.

        Robot signs, parse status, pasted passwords and authentication belong to
        this message alone; the rest accumulates: an identifier sent in a follow-up completes a
        request, a "merci" does not erase that the password expired.
        """
        return replace(
            self,
            case=max(self.case, known.case, key=KIND_STRENGTH.__getitem__),
            identifiers=self.identifiers or known.identifiers,
            sender_nominative=self.sender_nominative or known.sender_nominative,
            phone_registered=self.phone_registered if self.phone_registered is not None else known.phone_registered,
            self_service_failed=self.self_service_failed or known.self_service_failed,
            # Only a person writing about someone else carries that over: when the
            # holder writes after the mairie's shared address did, the request is theirs.
            other_person=self.other_person or (known.other_person and known.sender_nominative),
            mailbox=known.mailbox or self.mailbox,
            mailbox_department=known.mailbox_department or self.mailbox_department,
            account_department=self.account_department or known.account_department,
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, stored with each decision."""
        data = asdict(self)
        data["identifiers"] = list(self.identifiers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Facts:
        """Read back what as_dict stored."""
        return cls(**{**data, "identifiers": tuple(data.get("identifiers", ()))})

    @property
    def wrong_department(self) -> bool:
        """The account belongs to another department than the receiving mailbox's."""
        return bool(self.account_department and self.mailbox_department
                    and self.account_department != self.mailbox_department)


@dataclass(frozen=True)
class Rule:
    """One line of the policy."""

    action: Action
    reason: str
    applies: Callable[[Facts], bool]


def _self_service_applies(f: Facts) -> bool:
    return f.case == "lost" and f.phone_registered is True and not f.self_service_failed


def _incomplete(f: Facts) -> bool:
    return not f.sender_nominative or not f.identifiers


# Before a reply that acts on the request (self-service instructions, an
# acknowledgement), the sender must be who the From says: else an agent checks.
UNAUTHENTICATED = Rule(Action.HUMAN_REVIEW, "expéditeur non authentifié (SPF, DKIM, DMARC) : à vérifier avant toute suite",
                       lambda f: not f.sender_authenticated and (_self_service_applies(f) or not _incomplete(f)))

POLICY: tuple[Rule, ...] = (
    Rule(Action.IGNORE, "courrier automatique : jamais de réponse",
         lambda f: f.automatic),
    Rule(Action.HUMAN_REVIEW, "message illisible",
         lambda f: f.unparseable),
    Rule(Action.HUMAN_REVIEW, "pas une demande de mot de passe -xt",
         lambda f: f.case == "other"),
    Rule(Action.HUMAN_REVIEW, "plusieurs identifiants dans une même demande",
         lambda f: len(f.identifiers) > 1),
    # A shared address (mairie@, secretariat@) writing about a colleague is the body
    # speaking for its own staff: decided like any request from a shared address.
    Rule(Action.HUMAN_REVIEW, "demande, depuis une adresse nominative, pour le compte d'une autre personne",
         lambda f: f.other_person and f.sender_nominative),
    Rule(Action.REDIRECT_DEPARTMENT, "compte créé dans un autre département",
         lambda f: f.wrong_department),
    UNAUTHENTICATED,
    Rule(Action.SELF_SERVICE, "mot de passe oublié et portable enregistré : l'auto-dépannage par SMS s'applique",
         _self_service_applies),
    Rule(Action.REQUEST_INFO, "la procédure exige une adresse nominative et l'identifiant en -xt",
         _incomplete),
    Rule(Action.ACKNOWLEDGE, "demande complète, pour un agent",
         lambda f: True),
)


def decide(mail: Mail, findings: tuple[Finding, ...], known: Facts | None = None,
           require_verdict: bool = True) -> Decision:
    """Apply the first policy rule that fits, to this message and what its case knew.

    `require_verdict` is the deployment's `[authentication] require_verdict`, given as
    data so that deciding stays pure.
    """
    facts = Facts.from_findings(findings, require_verdict)
    if known is not None:
        facts = facts.merged_with(known)
    rule = next(r for r in POLICY if r.applies(facts))
    robot_or_junk = facts.automatic or facts.unparseable
    missing: tuple[str, ...] = ()
    if rule.action == Action.REQUEST_INFO:
        missing = tuple(name for name, absent in (
            ("nominative_sender", not facts.sender_nominative),
            ("identifier", not facts.identifiers),
        ) if absent)
    department = facts.account_department if rule.action == Action.REDIRECT_DEPARTMENT else (
        facts.mailbox_department or facts.account_department)
    return Decision(
        action=rule.action,
        case="other" if robot_or_junk else facts.case,
        department=department,
        mailbox=facts.mailbox,
        identifier=None if robot_or_junk or len(facts.identifiers) != 1 else facts.identifiers[0],
        identifiers=() if robot_or_junk else facts.identifiers,
        sender=mail.sender.address if mail.sender else "",
        sender_nominative=facts.sender_nominative,
        phone_registered=None if robot_or_junk else facts.phone_registered,
        missing=missing,
        warnings=_warnings(facts) + (("sender_not_authenticated",) if rule is UNAUTHENTICATED else ()),
        reason=rule.reason,
        findings=findings,
        facts=facts,
    )


def _warnings(facts: Facts) -> tuple[str, ...]:
    """Things an agent must know whatever the action."""
    return tuple(name for name, present in (
        ("password_disclosed", facts.password_disclosed),
        ("unparseable", facts.unparseable),
    ) if present)
