"""What a chart may hold as a document: pure rules, no database, no request.

The type is read from the file's first bytes ("magic numbers"), never from its name or the
type the browser declares: a text file named ``x.pdf`` is refused, and PNG bytes named
``scan.pdf`` are stored as the PNG they are.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

MB = 1024 * 1024
DEFAULT_MAX_MB = 10

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
IMAGES = frozenset({JPEG, PNG})

# The first bytes of each accepted format (ISO 32000 header; JPEG SOI + marker; PNG signature).
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
HEAD_BYTES = max(len(magic) for magic, _ in SIGNATURES)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG"}

ACCEPTED_TEXT = "PDF, JPEG or PNG"
WRONG_TYPE = (
    "Only PDF, JPEG and PNG files can be attached, and this file is none of them (whatever "
    "its name says). Save or scan it as a PDF, JPEG or PNG and try again."
)
UNREADABLE_IMAGE = (
    "This image cannot be read: it may be damaged or cut short. Scan it again, or save it as a PDF."
)
EMPTY = "This file is empty. Choose the scanned document again."
REASON_NEEDED = "Say why the document is removed (at least 3 characters)."
ALREADY_REMOVED = "This document was already removed from the chart."


def sniff(head: bytes) -> str | None:
    """The content type the file's first bytes show, or None when it is none we accept."""
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def megabytes(size: int) -> str:
    """A size in MB with one decimal, rounded up so that a file over the limit never reads
    as the limit itself (10 MB and one byte is "10.1 MB")."""
    tenths = math.ceil(size * 10 / MB)
    whole, part = divmod(tenths, 10)
    return f"{whole} MB" if part == 0 else f"{whole}.{part} MB"


def limit_text(limit: int) -> str:
    return megabytes(limit)


def size_error(size: int, limit: int) -> str | None:
    """Why a file of ``size`` bytes cannot be attached, or None. The limit is inclusive."""
    if size <= 0:
        return EMPTY
    if size > limit:
        return (
            f"This file is {megabytes(size)}; the limit is {limit_text(limit)}. Scan it at a "
            "lower resolution, or split it into parts."
        )
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name: str) -> str:
    """The original file name as shown in the chart: the last path part, no control
    characters, at most 255 characters. It is never used to store or serve the file."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _CONTROL.sub("", unicodedata.normalize("NFC", base)).strip()
    return base[:255] or "document"


def clean_description(text: str) -> str:
    return " ".join((text or "").split())


def download_name(content_type: str, uploaded_on: dt.date) -> str:
    """A generic name for the saved copy: no patient, no original name (it may hold either)."""
    return f"document-{uploaded_on:%Y-%m-%d}.{EXTENSIONS.get(content_type, 'bin')}"
