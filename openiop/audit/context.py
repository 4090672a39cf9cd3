"""Where the current request came from, for audit records written deep in services."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None = None
    user_agent: str = ""
    channel: str = "web"  # web, api, command, task


_origin: ContextVar[RequestOrigin] = ContextVar(
    "audit_origin",
    default=RequestOrigin(channel="command"),  # noqa: B039 - frozen dataclass
)


def current_origin() -> RequestOrigin:
    return _origin.get()


def set_origin(origin: RequestOrigin) -> object:
    return _origin.set(origin)


def reset_origin(token: object) -> None:
    _origin.reset(token)  # type: ignore[arg-type]
