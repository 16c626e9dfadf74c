"""Stored events are handed to processing without a read-back, and nothing is handled twice or
skipped when memory and the database disagree (failures, late hand-overs, held processing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mautrix.types import Event
from mautrix.util.async_db import Database

from bridge.db import InboxEvent, InboxTable, upgrade_table
from bridge.inbox_processor import InboxProcessor


def event(n: int, room: str = "!r:x") -> dict[str, Any]:
    return {"event_id": f"$e{n}", "room_id": room, "type": "m.room.message", "sender": "@a:x",
            "origin_server_ts": n, "content": {"msgtype": "m.text", "body": f"消息 {n}"}}


class CountingTable(InboxTable):
    reads = 0

    async def next_pending(self, room_id: str, limit: int = 50) -> list[InboxEvent]:
        self.reads += 1
        return await super().next_pending(room_id, limit)


class Handler:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.fail_once: set[str] = set()

    async def __call__(self, evt: Event) -> None:
        if evt.event_id in self.fail_once:
            self.fail_once.discard(evt.event_id)
            raise RuntimeError("a transient failure")
        self.seen.append(evt.event_id)


@pytest.fixture
async def table(database_url: str) -> AsyncIterator[CountingTable]:
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        yield CountingTable(db)
    finally:
        await db.stop()


async def store(table: InboxTable, processor: InboxProcessor, *numbers: int) -> None:
    processor.take(await table.store("t", [event(n) for n in numbers]))


async def test_a_clean_room_is_processed_from_memory(table: CountingTable) -> None:
    handler = Handler()
    processor = InboxProcessor(table, handler)
    await processor.resume()
    await store(table, processor, 1)
    await processor.queues.idle()
    reads_for_first = table.reads  # the room's backlog is read once: it is not known yet
    for n in range(2, 7):
        await store(table, processor, n)
    await processor.queues.idle()
    assert handler.seen == [f"$e{n}" for n in range(1, 7)]
    assert table.reads == reads_for_first == 1
    assert await table.count("done") == 6


async def test_a_failure_goes_back_to_the_database_in_order(table: CountingTable) -> None:
    handler = Handler()
    processor = InboxProcessor(table, handler, retry_base_delay=0.01)
    await store(table, processor, 1)
    await processor.queues.idle()
    handler.fail_once.add("$e3")
    await store(table, processor, 2, 3, 4)
    await processor.queues.idle()
    assert handler.seen == ["$e1", "$e2", "$e3", "$e4"]
    assert await table.count("done") == 4
    reads = table.reads
    await store(table, processor, 5)  # the read after the retry found nothing: clean again
    await processor.queues.idle()
    assert handler.seen[-1] == "$e5" and table.reads == reads


async def test_a_late_hand_over_of_an_event_already_read_is_not_handled_again(
    table: CountingTable,
) -> None:
    handler = Handler()
    processor = InboxProcessor(table, handler)
    late = await table.store("t", [event(1)])  # committed; its hand-over is still on its way
    processor.wake(["!r:x"])  # e.g. the gap filler's or a start-up's read gets there first
    await processor.queues.idle()
    processor.take(late)
    await store(table, processor, 2)
    await processor.queues.idle()
    assert handler.seen == ["$e1", "$e2"]


async def test_events_stored_while_held_are_read_from_the_database(table: CountingTable) -> None:
    handler = Handler()
    processor = InboxProcessor(table, handler)
    await store(table, processor, 1)
    await processor.queues.idle()
    processor.hold = True
    await store(table, processor, 2, 3)
    await processor.queues.idle()
    assert handler.seen == ["$e1"]
    processor.hold = False
    await processor.resume()
    await processor.queues.idle()
    assert handler.seen == ["$e1", "$e2", "$e3"]
