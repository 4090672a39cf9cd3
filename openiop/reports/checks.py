"""A start-up check: export files must never sit where static or media files are served from."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from openiop.attachments import storage
from openiop.reports import exports


@register()
def exports_outside_web_root(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    where = exports.exports_dir()
    for folder in storage.public_folders():
        if storage.is_inside(where, folder) or storage.is_inside(folder, where):
            return [
                Error(
                    f"OPENIOP_EXPORTS_DIR ({where}) overlaps {folder}, which is served to "
                    "anyone as static or media files.",
                    hint="Set OPENIOP_EXPORTS_DIR to a private folder outside the web root.",
                    id="reports.E001",
                )
            ]
    return []
