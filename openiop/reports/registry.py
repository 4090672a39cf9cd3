"""Every report module imported once, so each ``@register`` has run before a page, the API or
an export looks a report up. Call ``load()`` (cheap after the first time) rather than reading
``base.REGISTRY`` straight away."""

from __future__ import annotations

import importlib

from openiop.reports.base import REGISTRY, Report

# Modules written as the reports grow. A module not written yet is skipped (only that one:
# an import error inside a module that exists is a bug and is raised).
_MODULES = ("openiop.reports.operations",)
_OPTIONAL_MODULES = ("openiop.reports.clinical",)


def load() -> dict[str, Report]:
    """The registry with every report module imported."""
    for name in _MODULES:
        importlib.import_module(name)
    for name in _OPTIONAL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    return REGISTRY


def get(key: str) -> Report | None:
    return load().get(key)
