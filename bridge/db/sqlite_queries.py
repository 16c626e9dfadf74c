"""SQLite reads with one thread hand-off each instead of three.

mautrix's aiosqlite connection runs a SELECT as three trips to the database thread (execute,
fetch, close the cursor); each trip wakes the event loop, and together they were the largest
share of the bridge's CPU per relayed message. aiosqlite's `execute_fetchall` does it in one.
Each query's `$n` placeholders are also rewritten for SQLite once, not at every call.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

import aiosqlite
from mautrix.util.async_db import aiosqlite as mautrix_sqlite


@functools.lru_cache(maxsize=1024)
def _positional(query: str) -> str:
    """$1 → ?1. The project's queries are a fixed set of strings, so each is rewritten once."""
    return mautrix_sqlite.POSITIONAL_PARAM_PATTERN.sub(r"?\1", query)


class OneTripConnection(mautrix_sqlite.TxnConnection):
    async def execute(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> aiosqlite.Cursor:
        return await aiosqlite.Connection.execute(self, _positional(query), args)

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[sqlite3.Row]:
        return list(await self.execute_fetchall(_positional(query), args))

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> sqlite3.Row | None:
        rows = await self.fetch(query, *args)
        return rows[0] if rows else None


def use_one_trip_queries() -> None:
    """Make mautrix's SQLite pool open OneTripConnections (it looks the class up at start)."""
    mautrix_sqlite.TxnConnection = OneTripConnection  # type: ignore[misc]
