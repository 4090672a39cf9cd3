"""42 CFR Part 2 consent rules: pure, tested at their boundaries."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from openiop.patients import consent_rules as r

DAY = dt.date(2027, 3, 1)
PROBATION = r.Recipient(name="Officer Jordan Reyes", organization="County Probation")


def named(**overrides: object) -> r.ConsentFacts:
    values: dict[str, object] = {
        "kind": r.KIND_NAMED,
        "categories": frozenset({"attendance", "drug_tests"}),
        "expiry_kind": r.EXPIRY_DATE,
        "signed_on": dt.date(2026, 9, 1),
        "recipient_name": "Officer Jordan Reyes",
        "recipient_organization": "County Probation",
        "expires_on": DAY,
    }
    values.update(overrides)
    return r.ConsentFacts(**values)  # type: ignore[arg-type]


def tpo(**overrides: object) -> r.ConsentFacts:
    values: dict[str, object] = {
        "kind": r.KIND_TPO,
        "categories": frozenset({r.ALL}),
        "expiry_kind": r.EXPIRY_NONE,
        "signed_on": dt.date(2026, 9, 1),
    }
    values.update(overrides)
    return r.ConsentFacts(**values)  # type: ignore[arg-type]


def test_it_keeps_a_dated_consent_through_its_last_day_and_expires_it_the_next() -> None:
    assert r.consent_status(named(), on=DAY, patient_in_treatment=True) == r.ACTIVE
    assert r.covers(named(), PROBATION, ["attendance"], DAY) is None
    nextday = DAY + dt.timedelta(days=1)
    assert r.consent_status(named(), on=nextday, patient_in_treatment=True) == r.EXPIRED
    refusal = r.covers(named(), PROBATION, ["attendance"], nextday)
    assert refusal is not None
    assert refusal.reason == "The consent expired on 03/01/2027."


def test_it_expires_an_end_of_treatment_consent_when_treatment_ends() -> None:
    facts = named(expiry_kind=r.EXPIRY_END_OF_TREATMENT, expires_on=None)
    assert r.consent_status(facts, on=DAY, patient_in_treatment=True) == r.ACTIVE
    assert r.consent_status(facts, on=DAY, patient_in_treatment=False) == r.EXPIRED
    refusal = r.covers(facts, PROBATION, ["attendance"], DAY, patient_in_treatment=False)
    assert refusal is not None and refusal.code == "expired"
    assert refusal.reason == "The consent expired when treatment ended."


def test_it_stops_a_revoked_consent_from_the_day_of_revocation() -> None:
    facts = named(revoked_on=dt.date(2026, 12, 1))
    assert r.covers(facts, PROBATION, ["attendance"], dt.date(2026, 11, 30)) is None
    refusal = r.covers(facts, PROBATION, ["attendance"], dt.date(2026, 12, 1))
    assert refusal is not None
    assert refusal.reason == "The consent was revoked on 12/01/2026."


def test_it_refuses_an_unsigned_consent() -> None:
    refusal = r.covers(named(signed_on=None), PROBATION, ["attendance"], DAY)
    assert refusal is not None and refusal.reason == "The consent is not signed."
    assert r.consent_status(named(signed_on=None), on=DAY, patient_in_treatment=True) == r.DRAFT


def test_it_refuses_a_recipient_the_consent_does_not_name() -> None:
    other = r.Recipient(name="Ana Quintero")
    refusal = r.covers(named(), other, ["attendance"], DAY)
    assert refusal is not None
    assert refusal.reason == "This consent does not name Ana Quintero."
    wrong_org = r.Recipient(name="Officer Jordan Reyes", organization="City Police")
    assert r.covers(named(), wrong_org, ["attendance"], DAY) is not None


def test_it_matches_a_named_recipient_in_any_case_and_spacing() -> None:
    typed = r.Recipient(name="  officer  JORDAN reyes", organization="county probation")
    assert r.covers(named(), typed, ["drug_tests"], DAY) is None
    # A consent that names no organization matches the person wherever they work.
    assert r.covers(named(recipient_organization=""), typed, ["drug_tests"], DAY) is None


def test_it_refuses_information_the_consent_does_not_cover() -> None:
    refusal = r.covers(named(categories=frozenset({"attendance"})), PROBATION, ["drug_tests"], DAY)
    assert refusal is not None
    assert refusal.reason == "This consent does not cover drug-test results."
    refusal = r.covers(named(), PROBATION, ["medications", "discharge", "attendance"], DAY)
    assert refusal is not None
    assert refusal.reason == "This consent does not cover medications and discharge summary."


def test_it_lets_all_records_cover_every_category() -> None:
    facts = named(categories=frozenset({r.ALL}))
    assert r.covers(facts, PROBATION, list(r.CATEGORIES), DAY) is None


def test_it_lets_a_tpo_consent_cover_only_its_classes_and_never_family() -> None:
    provider = r.Recipient(
        name="Dr. Lee", organization="Valley Clinic", tpo_class="treating_provider"
    )
    assert r.covers(tpo(), provider, ["medications"], DAY) is None
    payer = r.Recipient(name="Blue Plan", tpo_class="payer")
    assert r.covers(tpo(), payer, ["billing"], DAY) is None
    unclassed = r.Recipient(name="Dr. Lee")
    refusal = r.covers(tpo(), unclassed, ["medications"], DAY)
    assert refusal is not None and refusal.code == "wrong_recipient"
    mother = r.Recipient(name="Ana Quintero", tpo_class="treating_provider", in_support_system=True)
    refusal = r.covers(tpo(), mother, ["medications"], DAY)
    assert refusal is not None and "never family or friends" in refusal.reason


def test_it_allows_no_end_only_for_tpo_and_no_past_end_dates() -> None:
    today = dt.date(2026, 9, 1)
    assert (
        r.expiry_error(kind=r.KIND_TPO, expiry_kind=r.EXPIRY_NONE, expires_on=None, today=today)
        == {}
    )
    assert "expiry_kind" in r.expiry_error(
        kind=r.KIND_NAMED, expiry_kind=r.EXPIRY_NONE, expires_on=None, today=today
    )
    assert "expires_on" in r.expiry_error(
        kind=r.KIND_NAMED, expiry_kind=r.EXPIRY_DATE, expires_on=None, today=today
    )
    assert "expires_on" in r.expiry_error(
        kind=r.KIND_NAMED,
        expiry_kind=r.EXPIRY_DATE,
        expires_on=today - dt.timedelta(days=1),
        today=today,
    )
    assert (
        r.expiry_error(kind=r.KIND_NAMED, expiry_kind=r.EXPIRY_DATE, expires_on=today, today=today)
        == {}
    )


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_it_starts_the_accounting_exactly_three_years_back(today: dt.date) -> None:
    start = r.accounting_start(today)
    assert start.year == today.year - 3
    assert (today - start).days in range(365 * 3, 365 * 3 + 2)


@given(
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
)
def test_it_never_lets_an_expired_date_consent_cover_anything(
    expires_on: dt.date, on: dt.date
) -> None:
    refusal = r.covers(named(expires_on=expires_on), PROBATION, ["attendance"], on)
    assert (refusal is None) == (on <= expires_on)


def test_it_labels_the_header_pill() -> None:
    assert r.header_label(tpo_active=True, named_active=2) == (
        True,
        "TPO consent active · 2 named recipients",
    )
    assert r.header_label(tpo_active=False, named_active=1) == (True, "1 named recipient")
    assert r.header_label(tpo_active=False, named_active=0) == (
        False,
        "No active consent — nothing may be released",
    )


def test_it_reads_relationship_words() -> None:
    assert r.relationship_kind("Mother") == "parent"
    assert r.relationship_kind(" adult  child") == "child"
    assert r.relationship_kind("neighbor") == "other"
