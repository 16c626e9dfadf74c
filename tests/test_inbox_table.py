"""The inbox stores a transaction in one statement and returns the new events, in order."""

from __future__ import annotations

from mautrix.util.async_db import Database

from bridge.db import InboxTable, upgrade_table


def event(n: int, room: str) -> dict:
    return {"event_id": f"$e{n}", "room_id": room, "type": "m.room.message", "sender": "@a:x",
            "content": {"body": f"消息 {n}"}}


async def test_store_dedups_within_and_across_transactions(database_url: str) -> None:
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        inbox = InboxTable(db)
        assert await inbox.store("t1", []) == []
        first = [event(1, "!b"), event(2, "!a"), event(1, "!b"), event(3, "!b")]
        stored = await inbox.store("t1", first)
        assert [(e.event_id, e.room_id, e.attempts) for e in stored] == [
            ("$e1", "!b", 0), ("$e2", "!a", 0), ("$e3", "!b", 0)]
        assert stored[0].seq < stored[1].seq < stored[2].seq
        assert stored[1].payload == first[1]
        # A replay of the same events, and a resend of one inside another transaction.
        assert await inbox.store("t1", first) == []
        assert [e.event_id for e in await inbox.store("t2", [event(2, "!a"), event(4, "!c")])] == ["$e4"]
        assert await inbox.count("pending") == 4
        [stored] = await inbox.next_pending("!a")
        assert stored.payload["content"]["body"] == "消息 2"
        assert [e.event_id for e in await inbox.next_pending("!b")] == ["$e1", "$e3"]
    finally:
        await db.stop()
