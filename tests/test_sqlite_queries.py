"""SQLite statements on the event loop's thread answer exactly as mautrix's own connection does."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from mautrix.util.async_db import Database
from mautrix.util.async_db import aiosqlite as mautrix_sqlite

from bridge.db import upgrade_table
from bridge.db.sqlite_queries import LoopThreadConnection, use_loop_thread_queries


async def test_reads_inside_and_outside_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_loop_thread_queries()
    assert mautrix_sqlite.TxnConnection is LoopThreadConnection
    db = Database.create(f"sqlite:{tmp_path}/q.db", upgrade_table=upgrade_table)
    await db.start()
    handed_to_thread = 0
    to_thread = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
        nonlocal handed_to_thread
        handed_to_thread += 1
        return await to_thread(self, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    try:
        insert = ("INSERT INTO outbox (key, room_id, sender, event_type, content, created_at)"
                  " VALUES ($1, $2, 's', 't', '{}', $3) RETURNING seq")
        first = await db.fetchval(insert, "k1", "!a", 1)
        async with db.acquire() as conn, conn.transaction():
            second = await conn.fetchval(insert, "k2", "!b", 2)
            assert await conn.fetchval("SELECT COUNT(*) FROM outbox") == 2  # sees its own write
        assert second == first + 1
        row = await db.fetchrow("SELECT key, room_id FROM outbox WHERE seq=$1", second)
        assert (row["key"], row["room_id"]) == ("k2", "!b")
        assert await db.fetchrow("SELECT key FROM outbox WHERE seq=$1", 999) is None
        assert await db.fetchval("SELECT key FROM outbox WHERE seq=$1", 999) is None
        assert [r["key"] for r in await db.fetch("SELECT key FROM outbox ORDER BY seq DESC")] == ["k2", "k1"]
        try:
            async with db.acquire() as conn, conn.transaction():
                await conn.execute(insert, "k3", "!c", 3)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 2
        # A failing statement raises and takes its transaction's earlier writes with it.
        with pytest.raises(sqlite3.IntegrityError):
            async with db.acquire() as conn, conn.transaction():
                await conn.execute(insert, "k4", "!d", 4)
                await conn.execute(insert, "k1", "!d", 5)  # the key is taken
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE key='k4'") == 0
        await db.executemany("UPDATE outbox SET attempts=$2 WHERE key=$1", [("k1", 7), ("k2", 8)])
        assert [r["attempts"] for r in await db.fetch("SELECT attempts FROM outbox ORDER BY seq")] == [7, 8]
        assert handed_to_thread == 0
    finally:
        await db.stop()
