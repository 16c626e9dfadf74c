"""The one-trip SQLite reads answer exactly as mautrix's own connection does."""

from __future__ import annotations

from pathlib import Path

from mautrix.util.async_db import Database
from mautrix.util.async_db import aiosqlite as mautrix_sqlite

from bridge.db import upgrade_table
from bridge.db.sqlite_queries import OneTripConnection, use_one_trip_queries


async def test_reads_inside_and_outside_transactions(tmp_path: Path) -> None:
    use_one_trip_queries()
    assert mautrix_sqlite.TxnConnection is OneTripConnection
    db = Database.create(f"sqlite:{tmp_path}/q.db", upgrade_table=upgrade_table)
    await db.start()
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
    finally:
        await db.stop()
