"""A start-up check: documents must never sit where static or media files are served from."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from openiop.attachments import storage


@register()
def attachments_outside_web_root(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    where = storage.root()
    for folder in storage.public_folders():
        if storage.is_inside(where, folder) or storage.is_inside(folder, where):
            return [
                Error(
                    f"OPENIOP_ATTACHMENTS_DIR ({where}) overlaps {folder}, which is served to "
                    "anyone as static or media files.",
                    hint="Set OPENIOP_ATTACHMENTS_DIR to a private folder outside the web root.",
                    id="attachments.E001",
                )
            ]
    return []
