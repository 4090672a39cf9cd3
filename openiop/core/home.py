"""Panels on the home page, contributed by the capabilities (each decides who sees it).

The home page lives in core, below every capability, so capabilities register their panels
here from their AppConfig.ready() instead of core importing them. A panel costs a constant
number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openiop.accounts.models import Facility, User


@dataclass
class HomePanel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50
    wide: bool = False


PanelProvider = Callable[[User, Facility], HomePanel | None]
_panels: list[PanelProvider] = []


def register_home_panel(provider: PanelProvider) -> PanelProvider:
    _panels.append(provider)
    return provider


def panels_for(user: User, facility: Facility) -> list[HomePanel]:
    shown = [p for p in (provider(user, facility) for provider in _panels) if p is not None]
    return sorted(shown, key=lambda p: p.order)
