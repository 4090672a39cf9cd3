"""42 CFR Part 2 consent rules (SPEC §10): pure functions, no database, no request.

A consent (§2.31) lets the program disclose named information to named recipients for a
purpose until it expires or the patient revokes it. ``consent_status`` says where a consent
stands on a day; ``covers`` says whether it allows one disclosure and, when it does not, why —
in words a counselor can read to the person asking for the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

# Structured description of the information (used for matching; the consent also keeps the
# patient's own text). "all" covers every other category.
ALL = "all"
CATEGORIES: dict[str, str] = {
    ALL: "all substance-use treatment records",
    "assessments": "assessments and diagnoses",
    "plan": "treatment plan and progress",
    "attendance": "attendance and dose",
    "drug_tests": "drug-test results",
    "medications": "medications",
    "discharge": "discharge summary",
    "billing": "billing and insurance information",
    "demographics": "demographics and contact information",
}

# A single consent for treatment, payment and health care operations may name recipients by
# class (§2.31(a)(4)(i)); a disclosure under it must go to one of these classes.
TPO_RECIPIENTS_TEXT = (
    "my treating providers, health plans, third-party payers, and people helping to operate "
    "this program"
)
TPO_CLASSES: dict[str, str] = {
    "treating_provider": "a treating provider",
    "payer": "a health plan or third-party payer",
    "operations": "people helping to operate this program",
}

# §2.31(a)(6): shown to the patient before signing and stored with the consent.
REVOCATION_STATEMENT = (
    "I understand that I may revoke this consent at any time, in writing or by telling the "
    "program, except to the extent that the program or others have already acted in reliance "
    "on it. Revoking it does not undo disclosures made before the revocation."
)

# §2.32: on every page of every disclosed document, exactly.
PART2_NOTICE = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."

KIND_TPO = "tpo"
KIND_NAMED = "named"

EXPIRY_DATE = "date"
EXPIRY_END_OF_TREATMENT = "end_of_treatment"
EXPIRY_NONE = "none"

DRAFT = "draft"
ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"

# The accounting of disclosures covers this many years (SPEC §10).
ACCOUNTING_YEARS = 3


def _day(value: dt.date) -> str:
    return value.strftime("%m/%d/%Y")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class ConsentFacts:
    """What the rules need to know about one consent."""

    kind: str
    categories: frozenset[str]
    expiry_kind: str
    signed_on: dt.date | None
    recipient_name: str = ""
    recipient_organization: str = ""
    expires_on: dt.date | None = None
    revoked_on: dt.date | None = None


@dataclass(frozen=True)
class Recipient:
    """Who would receive a disclosure.

    ``tpo_class`` is one of TPO_CLASSES when the person releasing the records says the
    recipient is a treating provider, a payer or program operations; ``in_support_system``
    is true when the recipient is one of the patient's family, friends or other contacts.
    """

    name: str
    organization: str = ""
    tpo_class: str = ""
    in_support_system: bool = False

    @property
    def label(self) -> str:
        if self.organization:
            return f"{self.name} ({self.organization})"
        return self.name


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str

    def __str__(self) -> str:
        return self.reason


def category_labels(categories: Iterable[str]) -> list[str]:
    return [CATEGORIES.get(c, c) for c in categories]


def join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def consent_status(facts: ConsentFacts, *, on: dt.date, patient_in_treatment: bool) -> str:
    """draft, active, expired or revoked on the day ``on``.

    An "end of treatment" consent expires as soon as the patient is no longer in treatment;
    a dated consent is good through the whole of its expiry date.
    """
    if facts.signed_on is None:
        return DRAFT
    if facts.revoked_on is not None and facts.revoked_on <= on:
        return REVOKED
    if facts.expiry_kind == EXPIRY_DATE and facts.expires_on is not None and on > facts.expires_on:
        return EXPIRED
    if facts.expiry_kind == EXPIRY_END_OF_TREATMENT and not patient_in_treatment:
        return EXPIRED
    return ACTIVE


def expiry_error(
    *, kind: str, expiry_kind: str, expires_on: dt.date | None, today: dt.date
) -> dict[str, str]:
    """Field → message for an expiry a consent may not have (§2.31(a)(7))."""
    if expiry_kind not in (EXPIRY_DATE, EXPIRY_END_OF_TREATMENT, EXPIRY_NONE):
        return {"expiry_kind": "Choose when the consent ends."}
    if expiry_kind == EXPIRY_NONE and kind != KIND_TPO:
        return {
            "expiry_kind": (
                "Only a treatment-payment-operations consent may have no end. Choose a date "
                "or the end of treatment."
            )
        }
    if expiry_kind == EXPIRY_DATE:
        if expires_on is None:
            return {"expires_on": "Give the date the consent ends."}
        if expires_on < today:
            return {"expires_on": "The end date has already passed. Choose a later date."}
    return {}


def uncovered(consented: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The wanted categories a consent does not include, in the order asked."""
    allowed = set(consented)
    if ALL in allowed:
        return []
    return [c for c in wanted if c not in allowed]


def names_recipient(facts: ConsentFacts, recipient: Recipient) -> bool:
    """A named consent names this recipient: same name (any case or spacing) and, when the
    consent names an organization, the same organization."""
    if facts.kind != KIND_NAMED:
        return False
    if _norm(facts.recipient_name) != _norm(recipient.name):
        return False
    if facts.recipient_organization:
        return _norm(facts.recipient_organization) == _norm(recipient.organization)
    return True


def covers(
    facts: ConsentFacts,
    recipient: Recipient,
    categories: Iterable[str],
    on: dt.date,
    *,
    patient_in_treatment: bool = True,
) -> Refusal | None:
    """None when the consent allows this disclosure on ``on``, else the reason it does not."""
    wanted = list(categories)
    status = consent_status(facts, on=on, patient_in_treatment=patient_in_treatment)
    if status == DRAFT:
        return Refusal("unsigned", "The consent is not signed.")
    if status == REVOKED and facts.revoked_on is not None:
        return Refusal("revoked", f"The consent was revoked on {_day(facts.revoked_on)}.")
    if status == EXPIRED:
        if facts.expiry_kind == EXPIRY_DATE and facts.expires_on is not None:
            return Refusal("expired", f"The consent expired on {_day(facts.expires_on)}.")
        return Refusal("expired", "The consent expired when treatment ended.")
    if facts.kind == KIND_TPO:
        if recipient.in_support_system or recipient.tpo_class not in TPO_CLASSES:
            return Refusal(
                "wrong_recipient",
                f"A treatment-payment-operations consent does not cover {recipient.label}: it "
                "covers treating providers, health plans and payers, and people helping to "
                "operate this program — never family or friends.",
            )
    elif not names_recipient(facts, recipient):
        return Refusal("wrong_recipient", f"This consent does not name {recipient.label}.")
    if not wanted:
        return Refusal("no_information", "Choose the information to release.")
    missing = uncovered(facts.categories, wanted)
    if missing:
        return Refusal(
            "wrong_information",
            f"This consent does not cover {join_words(category_labels(missing))}.",
        )
    return None


# The registration form's free-text relationship ("Mother", "my sponsor") to a kind.
_RELATIONSHIP_WORDS: dict[str, tuple[str, ...]] = {
    "parent": ("mother", "father", "mom", "dad", "parent", "stepmother", "stepfather"),
    "partner": ("wife", "husband", "spouse", "partner", "girlfriend", "boyfriend", "fiance"),
    "child": ("son", "daughter", "child", "adult child"),
    "sibling": ("sister", "brother", "sibling"),
    "other_family": (
        "aunt",
        "uncle",
        "cousin",
        "grandmother",
        "grandfather",
        "grandparent",
        "niece",
        "nephew",
    ),
    "friend": ("friend",),
    "sponsor": ("sponsor",),
    "employer": ("employer", "boss"),
    "probation": ("probation officer", "parole officer"),
}


def relationship_kind(words: str) -> str:
    """The relationship kind for what someone typed, "other" when unsure."""
    text = _norm(words)
    for kind, spellings in _RELATIONSHIP_WORDS.items():
        if text in spellings:
            return kind
    return "other"


def accounting_start(today: dt.date) -> dt.date:
    """The first day of the accounting of disclosures: the same day ACCOUNTING_YEARS ago."""
    try:
        return today.replace(year=today.year - ACCOUNTING_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ACCOUNTING_YEARS, day=28)


def header_label(*, tpo_active: bool, named_active: int) -> tuple[bool, str]:
    """The chart header's consent pill: whether anything may be released, in words."""
    parts = []
    if tpo_active:
        parts.append("TPO consent active")
    if named_active:
        parts.append(f"{named_active} named recipient{'s' if named_active != 1 else ''}")
    if not parts:
        return False, "No active consent — nothing may be released"
    return True, " · ".join(parts)
