"""Pure rules about patient records: normalizing for search, phones, ages, likely duplicates."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from difflib import SequenceMatcher

_WORD = re.compile(r"[a-z0-9]+")
_PHONE_KEEP = re.compile(r"[^\d+]")


def fold(text: str) -> str:
    """Lower case without accents, so 'José' is found by 'jose'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


class PhoneError(ValueError):
    pass


def normalize_phone(raw: str) -> tuple[str, str]:
    """(display form, digits) for a phone number, or PhoneError with a message for people.

    North American numbers (10 digits, or 11 starting with 1) are shown as 555-010-0123;
    other countries need a leading + and 8 to 15 digits.
    """
    text = raw.strip()
    if not text:
        return "", ""
    if re.search(r"[A-Za-z]", text):
        raise PhoneError("Use digits only, for example 555-010-0123.")
    cleaned = _PHONE_KEEP.sub("", text)
    if cleaned.count("+") > 1 or ("+" in cleaned and not cleaned.startswith("+")):
        raise PhoneError("A + can only start an international number.")
    digits = cleaned.lstrip("+")
    if cleaned.startswith("+") and not cleaned.startswith("+1"):
        if not 8 <= len(digits) <= 15:
            raise PhoneError("An international number has 8 to 15 digits after the +.")
        return f"+{digits}", digits
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise PhoneError("Enter a 10-digit phone number with area code, e.g. 555-010-0123.")
    if digits[0] in "01":
        raise PhoneError("An area code cannot start with 0 or 1.")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", digits


def search_tokens(
    *, first: str, middle: str, last: str, preferred: str, mrn: str, phone_digits: str
) -> set[str]:
    """The index entries that let a patient be found by part of a name, MRN or phone."""
    tokens: set[str] = set()
    for name in (first, middle, last, preferred):
        tokens.update(w[:40] for w in words(name))
        joined = "".join(words(name))
        if joined:  # "De la Cruz" is also found as "delacruz"
            tokens.add(joined[:40])
    mrn_words = words(mrn)
    if mrn_words:
        tokens.add("".join(mrn_words)[:40])
        tokens.update(w[:40] for w in mrn_words)
    if phone_digits:
        tokens.update({phone_digits, phone_digits[-7:], phone_digits[-4:]})
    return tokens


def query_terms(query: str) -> list[str]:
    """Search words for a query: each must be the start of one of a patient's tokens."""
    terms: list[str] = []
    for word in fold(query).split():
        digits = re.sub(r"[\s().\-]", "", word)
        if digits.isdigit():
            terms.append(digits)
            continue
        parts = _WORD.findall(word)
        joined = "".join(parts)
        if len(parts) > 1 and re.search(r"\d", joined) and re.search(r"[a-z]", joined):
            # An MRN such as HTF-100042: its joined token ("htf100042"), not "htf", which
            # starts the MRN token of every patient of the facility.
            terms.append(joined[:40])
            continue
        terms.extend(w for w in parts if w)
    return terms[:6]


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m.%d.%Y")


def parse_date_query(query: str) -> dt.date | None:
    text = query.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - a date, not an instant
        except ValueError:
            continue
        return parsed.date()
    return None


def age_on(date_of_birth: dt.date, today: dt.date) -> int:
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def birth_date_error(date_of_birth: dt.date, today: dt.date) -> str | None:
    if date_of_birth > today:
        return "The date of birth cannot be in the future."
    if age_on(date_of_birth, today) > 120:
        return "Check the year: that would make the person older than 120."
    return None


def names_look_alike(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Whether two names are close enough that the records may be one person.

    Catches typos (Jon/John), swapped first and last names, and a shared last name with the
    same first initial; deliberately generous because a false alarm costs one click.
    """
    fa, la, fb, lb = ("".join(words(x)) for x in (first_a, last_a, first_b, last_b))
    if not (fa and la and fb and lb):
        return False
    if la == lb and fa[0] == fb[0]:
        return True
    if (fa, la) == (lb, fb):
        return True
    ratio = SequenceMatcher(None, f"{fa} {la}", f"{fb} {lb}").ratio()
    return ratio >= 0.8
