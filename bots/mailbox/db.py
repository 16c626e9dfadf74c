"""Rows of a letter bot. Writes are keyed by the Matrix event or mail that caused them, so a
reprocessed event or reply changes nothing the second time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

# Statuses as stored; the citizen sees them through messages ("letters.status.<code>").
# A letter's citizen and room once its writer had their data erased (bots/privacy/records.py).
ERASED = "erased"
ACCEPTED, TRANSFERRED, REPLIED, FINISHED, FAILED = (
    "accepted", "transferred", "replied", "finished", "failed")


@dataclass
class Draft:
    room_id: str
    step: str
    data: dict[str, Any]


@dataclass
class Letter:
    number: str
    kind: str
    citizen: str
    room_id: str
    recipient: str
    to_address: str
    subject: str
    status: str
    created_at: int
    deadline: str
    replied_at: int | None
    reminded_at: int | None


_LETTER = ("number, kind, citizen, room_id, recipient, to_address, subject, status, created_at,"
           " deadline, replied_at, reminded_at")


def _letter(row: Any) -> Letter | None:
    return None if row is None else Letter(*(row[c.strip()] for c in _LETTER.split(",")))


# Every message in every room asks whether its room is a letter DM; the answers, "no" included,
# stay in memory (rows are only ever added, by add_dm below). The bound keeps memory flat.
CITIZEN_CACHE = 100_000


class LetterTables:
    def __init__(self, db: Database, prefix: str) -> None:
        self.db = db
        self.p = prefix
        self._citizens: dict[str, str | None] = {}

    # DM rooms and drafts ------------------------------------------------------------------
    async def add_dm(self, room_id: str, citizen: str) -> None:
        await self.db.execute(
            f"INSERT INTO {self.p}_dm (room_id, citizen) VALUES ($1, $2)"
            " ON CONFLICT (room_id) DO NOTHING", room_id, citizen)
        self._citizens.pop(room_id, None)

    async def citizen_of(self, room_id: str) -> str | None:
        if room_id not in self._citizens:
            if len(self._citizens) >= CITIZEN_CACHE:
                self._citizens.clear()
            self._citizens[room_id] = await self.db.fetchval(
                f"SELECT citizen FROM {self.p}_dm WHERE room_id=$1", room_id)
        return self._citizens[room_id]

    async def draft(self, room_id: str) -> Draft | None:
        row = await self.db.fetchrow(
            f"SELECT step, data FROM {self.p}_draft WHERE room_id=$1", room_id)
        return None if row is None else Draft(room_id, row["step"], json.loads(row["data"]))

    async def seen(self, event_id: str) -> bool:
        return bool(await self.db.fetchval(
            f"SELECT 1 FROM {self.p}_seen WHERE event_id=$1", event_id))

    async def commit(self, event_id: str, room_id: str, draft: Draft | None) -> None:
        """Save the room's draft (None deletes it) and mark the event handled, atomically."""
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute(f"DELETE FROM {self.p}_draft WHERE room_id=$1", room_id)
            if draft is not None:
                await conn.execute(
                    f"INSERT INTO {self.p}_draft (room_id, step, data) VALUES ($1, $2, $3)",
                    room_id, draft.step, json.dumps(draft.data, ensure_ascii=False))
            await conn.execute(
                f"INSERT INTO {self.p}_seen (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
                event_id)

    # Letters -----------------------------------------------------------------------------
    async def create_letter(
        self, *, event_id: str, number_prefix: str, kind: str, citizen: str, room_id: str,
        recipient: str, to_address: str, subject: str, created_at: int, deadline: str,
    ) -> Letter:
        """The letter confirmed by `event_id`, numbered <prefix>-NNNN; made once per event."""
        while (found := await self.letter_by_event(event_id)) is None:
            count = await self.db.fetchval(
                f"SELECT COUNT(*) FROM {self.p}_letter WHERE number LIKE $1", f"{number_prefix}-%")
            # Two rooms confirming at once may pick the same number: the loser tries the next.
            await self.db.execute(
                f"INSERT INTO {self.p}_letter (number, created_by, kind, citizen, room_id,"
                " recipient, to_address, subject, status, created_at, deadline)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                " ON CONFLICT DO NOTHING",
                f"{number_prefix}-{count + 1:04d}", event_id, kind, citizen, room_id, recipient,
                to_address, subject, ACCEPTED, created_at, deadline)
        return found

    async def letter_by_event(self, event_id: str) -> Letter | None:
        return _letter(await self.db.fetchrow(
            f"SELECT {_LETTER} FROM {self.p}_letter WHERE created_by=$1", event_id))

    async def letter(self, number: str) -> Letter | None:
        return _letter(await self.db.fetchrow(
            f"SELECT {_LETTER} FROM {self.p}_letter WHERE number=$1", number))

    async def delete_letter(self, number: str) -> None:
        await self.db.execute(f"DELETE FROM {self.p}_letter WHERE number=$1", number)

    async def letters_of(self, citizen: str) -> list[Letter]:
        rows = await self.db.fetch(
            f"SELECT {_LETTER} FROM {self.p}_letter WHERE citizen=$1 ORDER BY created_at, number",
            citizen)
        return [_letter(r) for r in rows]  # type: ignore[misc]

    async def set_status(self, number: str, status: str, replied_at: int | None = None) -> None:
        await self.db.execute(
            f"UPDATE {self.p}_letter SET status=$2, replied_at=COALESCE(replied_at, $3)"
            " WHERE number=$1", number, status, replied_at)

    async def overdue(self, today: str) -> list[Letter]:
        """Unanswered letters past their deadline that were not chased yet (not those whose
        writer had their data erased: nobody is left to answer, and nothing of the letter)."""
        rows = await self.db.fetch(
            f"SELECT {_LETTER} FROM {self.p}_letter WHERE status=$1 AND reminded_at IS NULL"
            " AND deadline < $2 AND citizen <> $3 ORDER BY number", ACCEPTED, today, ERASED)
        return [_letter(r) for r in rows]  # type: ignore[misc]

    async def mark_reminded(self, number: str, at: int) -> None:
        await self.db.execute(
            f"UPDATE {self.p}_letter SET reminded_at=$2 WHERE number=$1 AND reminded_at IS NULL",
            number, at)
