"""Erasures in progress (privacy_erasure): written down before the citizen's rows go, so that
what follows on the homeserver (the copies withdrawn, goodbyes, DMs left) is finished after a
crash; the citizen's ID is blanked once it is done."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mautrix.util.async_db import Database


@dataclass
class Erasing:
    event_id: str
    citizen: str
    room_id: str   # where the citizen asked
    speaker: str   # the account that answered there
    case_ids: list[int]
    rooms: dict[str, str] | None  # room -> account that leaves it; None until the rows are gone
    said: str | None  # the summary told where the citizen asked


class ErasureTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def begin(self, event_id: str, citizen: str, room_id: str, speaker: str,
                    case_ids: list[int]) -> None:
        await self.db.execute(
            "INSERT INTO privacy_erasure (event_id, citizen, room_id, speaker, case_ids)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
            event_id, citizen, room_id, speaker, json.dumps(case_ids))

    async def erased(self, event_id: str, rooms: dict[str, str], said: str) -> None:
        await self.db.execute("UPDATE privacy_erasure SET rooms=$2, said=$3 WHERE event_id=$1",
                              event_id, json.dumps(rooms), said)

    async def done(self, event_id: str, at_ms: int) -> None:
        await self.db.execute("UPDATE privacy_erasure SET done_at=$2, citizen='' WHERE event_id=$1",
                              event_id, at_ms)

    async def unfinished(self) -> list[Erasing]:
        rows = await self.db.fetch(
            "SELECT event_id, citizen, room_id, speaker, case_ids, rooms, said FROM privacy_erasure"
            " WHERE done_at IS NULL ORDER BY event_id")
        return [Erasing(r["event_id"], r["citizen"], r["room_id"], r["speaker"], json.loads(r["case_ids"]),
                        json.loads(r["rooms"]) if r["rooms"] else None, r["said"]) for r in rows]
