"""The one sanctioned way to remove audit records: retention purges after six years.

Database triggers refuse every UPDATE and DELETE on the audit trail. A DELETE is let through
only inside ``allow_audit_purge()``, which flags the current connection: PostgreSQL through a
session setting the trigger reads, SQLite through a SQL function registered on our own
connections (another program opening the file has no such function, so it is refused too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

_state = threading.local()


def _sqlite_flag() -> int:
    return 1 if getattr(_state, "purging", False) else 0


def register_sqlite_function(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("openiop_audit_purge_allowed", 0, _sqlite_flag)


@contextmanager
def allow_audit_purge(connection: BaseDatabaseWrapper | None = None) -> Iterator[None]:
    conn = connection or default_connection
    _state.purging = True
    local = conn.in_atomic_block  # SET LOCAL ends with the transaction, whatever happens
    try:
        if conn.vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute(f"SET {'LOCAL ' if local else ''}openiop.audit_purge = 'on'")
        yield
    finally:
        _state.purging = False
        if conn.vendor == "postgresql" and conn.connection is not None:
            _switch_off(conn, local)


def _switch_off(conn: BaseDatabaseWrapper, local: bool) -> None:
    if local:
        # The transaction may go on after the purge; SET LOCAL lasts until it ends, so turn
        # it off now. In an aborted transaction this fails, and the rollback discards it.
        if conn.needs_rollback:
            return
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET LOCAL openiop.audit_purge = 'off'")
        except DatabaseError:
            pass  # an aborted transaction: its rollback discards the setting
        return
    try:
        with conn.cursor() as cursor:
            cursor.execute("RESET openiop.audit_purge")
    except Exception:
        conn.close()  # never hand a connection with purging on to the next request
        raise
