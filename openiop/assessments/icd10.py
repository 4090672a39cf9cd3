"""The shipped ICD-10-CM list (F codes and common Z codes), loaded once per process.

Built by scripts/build_icd10_list.py from the CMS release; the codes themselves are not PHI.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "icd10cm_f_z.csv"


@dataclass(frozen=True)
class Code:
    code: str
    description: str


@functools.cache
def _codes() -> tuple[Code, ...]:
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(Code(row["code"], row["description"]) for row in csv.DictReader(handle))


@functools.cache
def _by_code() -> dict[str, Code]:
    return {c.code: c for c in _codes()}


@functools.cache
def _search_text() -> tuple[tuple[Code, str], ...]:
    return tuple((c, c.description.lower()) for c in _codes())


def lookup(code: str) -> Code | None:
    """The shipped entry for a normalized code ("F10.20"), or None."""
    return _by_code().get(code)


def search(query: str, *, limit: int = 25) -> list[Code]:
    """Codes starting with the query ("f10.2", "F102"), else descriptions with every word."""
    text = query.strip()
    if not text:
        return []
    compact = re.sub(r"[\s.]", "", text).upper()
    if re.fullmatch(r"[A-Z][0-9][0-9A-Z]*", compact):
        found = [c for c in _codes() if c.code.replace(".", "").startswith(compact)]
        if found:
            return found[:limit]
    words = [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]
    if not words:
        return []
    results = []
    for code, description in _search_text():
        if all(w in description for w in words):
            results.append(code)
            if len(results) >= limit:
                break
    return results


def count() -> int:
    return len(_codes())
