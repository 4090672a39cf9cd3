"""Private storage of documents, outside the web root.

Each file is stored under a random name (``ab/ab12…``: no original name, no patient, nothing
a directory listing would give away), written to a temporary file in the same directory and
moved into place with ``os.replace`` (a reader never sees half a file), readable by the
server's user only (0600, directories 0700). Nothing serves these files but the
permission-checked, audited download view.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

FILE_MODE = 0o600
DIR_MODE = 0o700
_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")


def root() -> Path:
    """The storage folder: ``OPENIOP_ATTACHMENTS_DIR``, else ``<BASE_DIR>/var/attachments``."""
    configured = getattr(settings, "OPENIOP_ATTACHMENTS_DIR", None)
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR) / "var" / "attachments"


def new_name() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


def path_of(storage_name: str) -> Path:
    """The file's path; anything but a name this module made is refused (no ``..``)."""
    if not _NAME.fullmatch(storage_name):
        raise ValueError("Not a storage name.")
    return root() / storage_name


@dataclass(frozen=True)
class Stored:
    name: str
    size: int
    sha256: str


def _folder(path: Path) -> None:
    for folder in (root(), path.parent):
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def save(chunks: Iterable[bytes]) -> Stored:
    """Write the bytes under a new random name, atomically, and return their SHA-256."""
    name = new_name()
    target = path_of(name)
    _folder(target)
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Stored(name=name, size=size, sha256=digest.hexdigest())


def discard(storage_name: str) -> None:
    """Remove a file whose row was never saved (the database refused it)."""
    path_of(storage_name).unlink(missing_ok=True)


def open_stored(storage_name: str) -> BinaryIO:
    """The stored file, for reading (FileNotFoundError when it is missing)."""
    return path_of(storage_name).open("rb")


def is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def public_folders() -> list[Path]:
    """Folders a web server or Django may serve as they are: never a place for documents."""
    folders = [Path(p) for p in (settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", "")) if p]
    for entry in getattr(settings, "STATICFILES_DIRS", []):
        folders.append(Path(entry[1] if isinstance(entry, tuple | list) else entry))
    return folders
