"""The demo stores meeting slips: in a temporary folder, never in the checkout's var/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.OPENIOP_ATTACHMENTS_DIR = tmp_path / "attachments"
