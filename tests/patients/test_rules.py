"""Pure patient rules: phones, search normalization, dates, ages, likely duplicates."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openiop.patients.rules import (
    PhoneError,
    age_on,
    birth_date_error,
    fold,
    names_look_alike,
    normalize_phone,
    parse_date_query,
    query_terms,
    search_tokens,
    words,
)

# --- phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "display", "digits"),
    [
        ("951-555-0142", "951-555-0142", "9515550142"),
        ("(951) 555-0142", "951-555-0142", "9515550142"),
        ("951.555.0142", "951-555-0142", "9515550142"),
        ("9515550142", "951-555-0142", "9515550142"),
        ("  951 555 0142  ", "951-555-0142", "9515550142"),
        ("1-951-555-0142", "951-555-0142", "9515550142"),
        ("19515550142", "951-555-0142", "9515550142"),
        ("+1 951 555 0142", "951-555-0142", "9515550142"),
        ("+44 20 7946 0958", "+442079460958", "442079460958"),
        ("+33 1 23 45 67 89", "+33123456789", "33123456789"),
        ("+49 1234 5678", "+4912345678", "4912345678"),
        ("", "", ""),
        ("   ", "", ""),
    ],
)
def test_it_normalizes_phone_numbers(raw: str, display: str, digits: str) -> None:
    assert normalize_phone(raw) == (display, digits)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("951-555-CALL", "Use digits only"),
        ("call me", "Use digits only"),
        ("951-555-014", "10-digit"),  # 9 digits
        ("951-555-01423", "10-digit"),  # 11 digits not starting with 1
        ("29515550142", "10-digit"),
        ("051-555-0142", "area code cannot start with 0 or 1"),
        ("151-555-0142", "area code cannot start with 0 or 1"),
        ("1-151-555-0142", "area code cannot start with 0 or 1"),
        ("951+555-0142", "A + can only start"),
        ("++44 20 7946 0958", "A + can only start"),
        ("+44 123 45", "8 to 15 digits"),  # 7 digits
        ("+44 1234 5678 9012 3456", "8 to 15 digits"),
        ("+1 555 0142", "10-digit"),
    ],
)
def test_it_refuses_malformed_phone_numbers_with_a_message(raw: str, message: str) -> None:
    with pytest.raises(PhoneError, match=re.escape(message)):
        normalize_phone(raw)


def test_it_accepts_eight_and_fifteen_digit_international_numbers_only() -> None:
    assert normalize_phone("+4412345678")[1] == "4412345678"
    assert normalize_phone("+44123456")[1] == "44123456"  # 8 digits
    with pytest.raises(PhoneError):
        normalize_phone("+4412345")  # 7 digits
    assert normalize_phone("+" + "4" * 15)[1] == "4" * 15
    with pytest.raises(PhoneError):
        normalize_phone("+" + "4" * 16)


north_american = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("23456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@given(digits=north_american)
def test_it_round_trips_every_valid_ten_digit_number(digits: str) -> None:
    display, normalized = normalize_phone(digits)
    assert normalized == digits
    assert display == f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    assert normalize_phone(display) == (display, digits)
    assert normalize_phone(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}") == (display, digits)
    assert normalize_phone(f"+1 {display}") == (display, digits)
    assert normalize_phone(f"1{digits}") == (display, digits)


# --- folding and search tokens ----------------------------------------------------------------


def test_it_folds_accents_and_case() -> None:
    assert fold("José GARCÍA") == "jose garcia"
    assert fold("Zoë Ångström") == "zoe angstrom"
    assert fold("Nguyễn") == "nguyen"


def test_it_splits_names_into_plain_words() -> None:
    assert words("Mary-Ann O'Brien") == ["mary", "ann", "o", "brien"]
    assert words("  De la Cruz ") == ["de", "la", "cruz"]
    assert words("---") == []


def test_it_indexes_name_words_joined_names_mrn_and_phone_endings() -> None:
    tokens = search_tokens(
        first="María José",
        middle="",
        last="De la Cruz",
        preferred="Majo",
        mrn="HTF-100042",
        phone_digits="9515550142",
    )
    assert tokens == {
        "maria",
        "jose",
        "mariajose",
        "de",
        "la",
        "cruz",
        "delacruz",
        "majo",
        "htf",
        "100042",
        "htf100042",
        "9515550142",
        "5550142",
        "0142",
    }


def test_it_indexes_nothing_for_a_missing_mrn_or_phone() -> None:
    tokens = search_tokens(
        first="Ann", middle="", last="Lee", preferred="", mrn="", phone_digits=""
    )
    assert tokens == {"ann", "lee"}


def test_it_caps_tokens_at_forty_characters() -> None:
    tokens = search_tokens(
        first="a" * 60, middle="", last="Lee", preferred="", mrn="", phone_digits=""
    )
    assert "a" * 40 in tokens
    assert all(len(t) <= 40 for t in tokens)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Jose", ["jose"]),
        ("  josé   GARCÍA ", ["jose", "garcia"]),
        ("(951) 555-0142", ["951", "5550142"]),
        ("951-555-0142", ["9515550142"]),
        ("0142", ["0142"]),
        ("HTF-100042", ["htf100042"]),
        ("htf-1000", ["htf1000"]),
        ("Mary-Jane 4B", ["mary", "jane", "4b"]),
        ("O'Brien", ["o", "brien"]),
        ("!!!", []),
        ("a b c d e f g h", ["a", "b", "c", "d", "e", "f"]),
    ],
)
def test_it_turns_a_query_into_search_terms(query: str, terms: list[str]) -> None:
    assert query_terms(query) == terms


# --- dates and ages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-04-12", dt.date(1990, 4, 12)),
        ("04/12/1990", dt.date(1990, 4, 12)),
        ("4/12/1990", dt.date(1990, 4, 12)),
        ("04-12-1990", dt.date(1990, 4, 12)),
        ("04/12/90", dt.date(1990, 4, 12)),
        ("04.12.1990", dt.date(1990, 4, 12)),
        (" 1990-04-12 ", dt.date(1990, 4, 12)),
        ("02/29/2000", dt.date(2000, 2, 29)),
        ("02/29/2001", None),
        ("13/12/1990", None),
        ("1990", None),
        ("garcia", None),
        ("", None),
    ],
)
def test_it_reads_dates_of_birth_in_the_formats_people_type(
    text: str, expected: dt.date | None
) -> None:
    assert parse_date_query(text) == expected


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (dt.date(1990, 4, 12), dt.date(2020, 4, 11), 29),
        (dt.date(1990, 4, 12), dt.date(2020, 4, 12), 30),
        (dt.date(1990, 4, 12), dt.date(2020, 4, 13), 30),
        (dt.date(1990, 4, 12), dt.date(1990, 4, 12), 0),
        (dt.date(1990, 12, 31), dt.date(1991, 1, 1), 0),
        # born on 29 February: a year older on 1 March in common years
        (dt.date(2000, 2, 29), dt.date(2001, 2, 28), 0),
        (dt.date(2000, 2, 29), dt.date(2001, 3, 1), 1),
        (dt.date(2000, 2, 29), dt.date(2004, 2, 28), 3),
        (dt.date(2000, 2, 29), dt.date(2004, 2, 29), 4),
    ],
)
def test_it_counts_age_in_completed_years(born: dt.date, today: dt.date, age: int) -> None:
    assert age_on(born, today) == age


dates = st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2100, 12, 31))


@given(born=dates, first=dates, second=dates)
def test_it_never_makes_anyone_younger_as_time_passes(
    born: dt.date, first: dt.date, second: dt.date
) -> None:
    earlier, later = sorted((first, second))
    assert age_on(born, earlier) <= age_on(born, later)


@given(born=dates)
def test_it_adds_a_year_on_each_birthday(born: dt.date) -> None:
    assert age_on(born, born) == 0
    if not (born.month == 2 and born.day == 29) and born.year < 2100:
        birthday = born.replace(year=born.year + 1)
        assert age_on(born, birthday) == 1
        assert age_on(born, birthday - dt.timedelta(days=1)) == 0


TODAY = dt.date(2026, 3, 15)


@pytest.mark.parametrize(
    ("born", "problem"),
    [
        (TODAY, None),
        (TODAY + dt.timedelta(days=1), "cannot be in the future"),
        (dt.date(1906, 3, 15), None),  # exactly 120
        (dt.date(1905, 3, 16), None),  # 120 until tomorrow
        (dt.date(1905, 3, 15), "older than 120"),  # 121 today
    ],
)
def test_it_refuses_birth_dates_in_the_future_or_over_120_years_ago(
    born: dt.date, problem: str | None
) -> None:
    error = birth_date_error(born, TODAY)
    if problem is None:
        assert error is None
    else:
        assert error is not None and problem in error


# --- likely duplicates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("John", "Smith"), ("Jon", "Smith")),  # typo, same last name and initial
        (("John", "Smith"), ("John", "Smyth")),  # typo in the last name
        (("Smith", "John"), ("John", "Smith")),  # swapped
        (("José", "García"), ("Jose", "Garcia")),  # accents
        (("Mary Ann", "Lee"), ("Maryann", "Lee")),
        (("Catherine", "Oduya"), ("Katherine", "Oduya")),
    ],
)
def test_it_sees_typos_swaps_and_accents_as_the_same_person(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    assert names_look_alike(*a, *b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Maria", "Lopez"), ("Kevin", "Tran")),
        (("John", "Smith"), ("Paul", "Smith")),  # same family, different initial
        (("Ann", "Lee"), ("Ann", "Okafor")),
        (("", "Smith"), ("", "Smith")),  # nothing to compare
        (("John", ""), ("John", "")),
    ],
)
def test_it_tells_different_people_apart(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert not names_look_alike(*a, *b)
