"""The pure rules: the type from the first bytes, the size limit and its words."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from openiop.attachments import rules
from openiop.attachments.rules import MB

LIMIT = 10 * MB


def test_it_reads_the_type_from_the_first_bytes() -> None:
    assert rules.sniff(b"%PDF-1.7\n") == rules.PDF
    assert rules.sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == rules.JPEG
    assert rules.sniff(b"\x89PNG\r\n\x1a\n\x00") == rules.PNG
    assert rules.sniff(b"hello, world") is None
    assert rules.sniff(b"%PDF") is None  # cut short
    assert rules.sniff(b"\x89PNG\r\n") is None
    assert rules.sniff(b"GIF89a") is None
    assert rules.sniff(b"<html>%PDF-") is None  # the signature must come first


def test_the_limit_is_inclusive_and_named_when_refused() -> None:
    assert rules.size_error(LIMIT, LIMIT) is None
    refused = rules.size_error(LIMIT + 1, LIMIT)
    assert refused is not None
    assert refused.startswith("This file is 10.1 MB; the limit is 10 MB.")
    assert rules.size_error(int(12.3 * MB), LIMIT) is not None
    assert str(rules.size_error(int(12.3 * MB), LIMIT)).startswith(
        "This file is 12.3 MB; the limit is 10 MB."
    )
    assert rules.size_error(0, LIMIT) == rules.EMPTY
    assert rules.size_error(1, LIMIT) is None


@given(st.integers(min_value=1, max_value=40 * MB))
def test_a_size_is_refused_exactly_when_over_the_limit(size: int) -> None:
    assert (rules.size_error(size, LIMIT) is None) == (size <= LIMIT)


@given(st.integers(min_value=LIMIT + 1, max_value=40 * MB))
def test_a_file_over_the_limit_never_reads_as_the_limit(size: int) -> None:
    words = rules.megabytes(size)
    assert words != "10 MB"
    assert float(words.removesuffix(" MB")) > 10


def test_names_are_cleaned_and_the_download_name_is_generic() -> None:
    assert rules.clean_name("C:\\scans\\Dana Q intake.pdf") == "Dana Q intake.pdf"
    assert rules.clean_name("../../etc/passwd") == "passwd"
    assert rules.clean_name("a\x00b\nc.png") == "abc.png"
    assert rules.clean_name("") == "document"
    assert len(rules.clean_name("x" * 400)) == 255
    assert rules.download_name(rules.PNG, dt.date(2026, 3, 2)) == "document-2026-03-02.png"
    assert rules.download_name(rules.PDF, dt.date(2026, 3, 2)) == "document-2026-03-02.pdf"
