"""Documents are written to a temporary folder per test, never to the real storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def attachments_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "private" / "attachments"
    settings.OPENIOP_ATTACHMENTS_DIR = folder
    return folder
