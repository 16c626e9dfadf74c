"""The latest case of a DM is kept in memory, and every write to a case makes it read again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mautrix.util.async_db import Database

from bots.consultation.db import CLOSED, ConsultationTables
from bots.consultation.upgrade import upgrade_table

DM = "!dm:x"


class CountingDatabase:
    """The real database, with its single-row reads counted (and optionally held up)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows_read = 0
        self.hold_reads: asyncio.Event | None = None

    async def fetchrow(self, query: str, *args: Any) -> Any:
        self.rows_read += 1
        row = await self.db.fetchrow(query, *args)
        if self.hold_reads is not None:
            await self.hold_reads.wait()  # the row is read; a write may finish before it returns
        return row

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.fixture
async def tables(database_url: str) -> AsyncIterator[tuple[ConsultationTables, CountingDatabase]]:
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    counting = CountingDatabase(db)
    try:
        yield ConsultationTables(counting), counting  # type: ignore[arg-type]
    finally:
        await db.stop()


async def open_one(tables: ConsultationTables, n: int) -> int:
    case = await tables.open_case(event_id=f"$open{n}", dept_id="fgw", citizen="@c:x", dm_room=DM,
                                  officers_room="!o:x", now_ms=n, day="20261127")
    return case.id


async def test_kept_until_a_write(tables: tuple[ConsultationTables, CountingDatabase]) -> None:
    t, db = tables
    first = await open_one(t, 1)
    assert (await t.latest_case(DM)).id == first  # type: ignore[union-attr]
    reads = db.rows_read
    for _ in range(3):
        assert (await t.latest_case(DM)).status == "open"  # type: ignore[union-attr]
    assert db.rows_read == reads
    await t.set_status(first, CLOSED, closed_at=5)
    assert (await t.latest_case(DM)).status == CLOSED  # type: ignore[union-attr]
    second = await open_one(t, 2)
    assert (await t.latest_case(DM)).id == second  # type: ignore[union-attr]
    await t.attend_from(second, 7)
    assert (await t.latest_case(DM)).attention_since == 7  # type: ignore[union-attr]


async def test_a_copy_is_handed_out(tables: tuple[ConsultationTables, CountingDatabase]) -> None:
    t, _ = tables
    await open_one(t, 1)
    case = await t.latest_case(DM)
    assert case is not None
    case.status = "changed by a caller"
    assert (await t.latest_case(DM)).status == "open"  # type: ignore[union-attr]


async def test_a_read_that_overlapped_a_write_is_not_kept(
    tables: tuple[ConsultationTables, CountingDatabase],
) -> None:
    t, db = tables
    case_id = await open_one(t, 1)
    db.hold_reads = asyncio.Event()
    reading = asyncio.create_task(t.latest_case(DM))  # reads the open case, then waits
    await asyncio.sleep(0.05)
    await t.set_status(case_id, CLOSED, closed_at=5)  # finishes while the read is held
    db.hold_reads.set()
    assert (await reading).status == "open"  # type: ignore[union-attr]  # what it read
    db.hold_reads = None
    assert (await t.latest_case(DM)).status == CLOSED  # type: ignore[union-attr]
