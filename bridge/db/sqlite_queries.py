"""SQLite statements run on the event loop's own thread, not handed to a database thread.

mautrix's SQLite connection is aiosqlite's: every statement is queued to a worker thread, which
wakes the event loop again with the answer. Measured under load, those hand-offs were more than
a third of the bridge's CPU per relayed message, while the statements themselves (indexed reads
and single-row writes, WAL, synchronous=NORMAL, so no fsync at commit) take microseconds. So
here each statement runs where it is awaited. The pool has one connection (mautrix's default
for SQLite), so no two statements ever run on it at once and no transaction waits on another
inside this process. Each query's `$n` placeholders are rewritten for SQLite once, not at every
call.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from mautrix.util.async_db import aiosqlite as mautrix_sqlite


@functools.lru_cache(maxsize=1024)
def _positional(query: str) -> str:
    """$1 → ?1. The project's queries are a fixed set of strings, so each is rewritten once."""
    return mautrix_sqlite.POSITIONAL_PARAM_PATTERN.sub(r"?\1", query)


class LoopThreadConnection(mautrix_sqlite.TxnConnection):
    """mautrix's SQLite connection, with its statements run on the calling thread."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        # aiosqlite opens the connection on its worker thread (it still opens and closes it
        # there); the statements then come from the event loop's thread.
        super().__init__(path, check_same_thread=False, **kwargs)

    @property
    def _sqlite(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    async def execute(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> sqlite3.Cursor:
        return self._sqlite.execute(_positional(query), args)

    async def executemany(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> sqlite3.Cursor:
        return self._sqlite.executemany(_positional(query), *args)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[sqlite3.Row]:
        return self._sqlite.execute(_positional(query), args).fetchall()

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._sqlite.execute(_positional(query), args).fetchone()
        return row

    # With isolation_level=None these end the transaction that transaction() began, if any.
    async def commit(self) -> None:
        self._sqlite.commit()

    async def rollback(self) -> None:
        self._sqlite.rollback()


def use_loop_thread_queries() -> None:
    """Make mautrix's SQLite pool open LoopThreadConnections (it looks the class up at start)."""
    mautrix_sqlite.TxnConnection = LoopThreadConnection  # type: ignore[misc]
