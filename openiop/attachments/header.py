"""The chart header learns whether to show the Documents tab (no query: a role check)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openiop.accounts.models import User
from openiop.patients.chart import register_header_provider
from openiop.patients.models import Patient


@register_header_provider
def _documents_tab(user: User, patient: Patient) -> Mapping[str, Any]:
    return {"may_see_documents": user.can("attachments.view_attachment")}
