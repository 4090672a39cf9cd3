"""Scoped reads of discharge and continuing care."""

from __future__ import annotations
