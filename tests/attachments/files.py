"""Files built in memory: real PNG and JPEG images (Pillow), PDFs of an exact size."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from openiop.attachments.rules import MB

LIMIT = 10 * MB


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes(size: int = 400) -> bytes:
    """A PDF header and body padded to exactly ``size`` bytes."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    tail = b"\n%%EOF\n"
    return head + b"0" * (size - len(head) - len(tail)) + tail


def upload(
    data: bytes, name: str = "scan.pdf", content_type: str = "application/pdf"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
