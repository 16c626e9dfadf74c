"""inbox_event: every event the homeserver pushed, stored before the push is acknowledged."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

from ..storable import storable


@dataclass(frozen=True)
class InboxEvent:
    seq: int
    event_id: str
    room_id: str
    payload: dict[str, Any]
    attempts: int


class InboxTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(self, txn_id: str, events: list[dict[str, Any]]) -> list[InboxEvent]:
        """Store the events (one statement, so all or none); returns the ones that were new, in
        the order given, so they can be handed to processing without being read back.

        The events are stored (and returned) cleaned of characters a database refuses.
        Deduplication is by event_id: homeservers may restart transaction IDs at 1 or resend an
        event inside a different transaction.
        """
        if not events:
            return []
        # NUL and lone surrogates would fail every later write of the event (PostgreSQL refuses
        # \x00 in TEXT): removed once, here, for every path into the inbox.
        events = [storable(event) for event in events]
        now = int(time.time() * 1000)
        rows, args = [], []
        for i, event in enumerate(events):
            rows.append("(" + ", ".join(f"${i * 6 + n}" for n in range(1, 7)) + ")")
            args += [event["event_id"], event["room_id"], txn_id,
                     json.dumps(event, ensure_ascii=False), now, event.get("sender")]
        seqs = {r["event_id"]: r["seq"] for r in await self.db.fetch(
            "INSERT INTO inbox_event (event_id, room_id, txn_id, payload, received_at, sender)"
            f" VALUES {', '.join(rows)} ON CONFLICT (event_id) DO NOTHING RETURNING seq, event_id",
            *args,
        )}
        stored: list[InboxEvent] = []
        for event in events:
            seq = seqs.pop(event["event_id"], None)  # popped: a repeat inside one batch is no new event
            if seq is not None:
                stored.append(InboxEvent(seq, event["event_id"], event["room_id"], event, 0))
        return stored

    async def pending_rooms(self) -> list[str]:
        rows = await self.db.fetch(
            "SELECT room_id, MIN(seq) AS first FROM inbox_event WHERE state='pending'"
            " GROUP BY room_id ORDER BY first"
        )
        return [row["room_id"] for row in rows]

    async def pending_senders(self) -> dict[str, set[str]]:
        """room → the senders of its pending events."""
        rows = await self.db.fetch(
            "SELECT DISTINCT room_id, sender FROM inbox_event WHERE state='pending'")
        found: dict[str, set[str]] = {}
        for row in rows:
            found.setdefault(row["room_id"], set()).add(row["sender"] or "")
        return found

    async def next_pending(self, room_id: str, limit: int = 50) -> list[InboxEvent]:
        """Oldest first: in timeline order where a reconciliation set positions, then in the
        order of arrival (events that arrived after the reconciliation read the room)."""
        rows = await self.db.fetch(
            "SELECT seq, event_id, room_id, payload, attempts FROM inbox_event"
            " WHERE state='pending' AND room_id=$1"
            " ORDER BY (position IS NULL), position, seq LIMIT $2",
            room_id,
            limit,
        )
        return [
            InboxEvent(r["seq"], r["event_id"], r["room_id"], json.loads(r["payload"]), r["attempts"])
            for r in rows
        ]

    async def mark_done(self, seq: int) -> None:
        await self.db.execute("UPDATE inbox_event SET state='done', payload='{}' WHERE seq=$1", seq)

    async def record_failure(self, seq: int, error: str, dead: bool) -> None:
        await self.db.execute(
            "UPDATE inbox_event SET attempts=attempts+1, error=$2, state=$3 WHERE seq=$1",
            seq,
            error,
            "dead" if dead else "pending",
        )

    async def count(self, state: str) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM inbox_event WHERE state=$1", state)

    async def rooms_with_others(self, since_ms: int, is_own_user: Any) -> list[str]:
        """Rooms where someone other than the bridge spoke since `since_ms`."""
        rows = await self.db.fetch(
            "SELECT DISTINCT room_id, sender FROM inbox_event WHERE received_at > $1", since_ms
        )
        rooms = {r["room_id"] for r in rows if r["sender"] and not is_own_user(r["sender"])}
        return sorted(rooms)

    async def states(self, event_ids: list[str]) -> dict[str, str]:
        """event_id → state ('pending', 'done', 'dead') of those of the events stored here."""
        if not event_ids:
            return {}
        marks = ", ".join(f"${i}" for i in range(1, len(event_ids) + 1))
        rows = await self.db.fetch(
            f"SELECT event_id, state FROM inbox_event WHERE event_id IN ({marks})", *event_ids
        )
        return {r["event_id"]: r["state"] for r in rows}

    async def set_positions(self, positions: dict[str, int]) -> None:
        """Timeline positions of pending events (see next_pending); processed ones keep theirs."""
        if positions:
            await self.db.executemany(
                "UPDATE inbox_event SET position=$2 WHERE event_id=$1 AND state='pending'",
                list(positions.items()),
            )

    async def last_txn_id(self) -> int | None:
        """The homeserver's transaction ID of the latest event pushed (not recovered), if it is a
        number: the baseline against which the next transaction's ID is checked after a restart."""
        rows = await self.db.fetch(
            "SELECT txn_id FROM inbox_event WHERE txn_id <> 'gapfill' ORDER BY seq DESC LIMIT 1"
        )
        text = rows[0]["txn_id"] if rows else None
        return int(text) if isinstance(text, str) and text.isdigit() else None

    async def prune(self, older_than_ms: int) -> None:
        """Forget processed events once a resend of them is no longer plausible."""
        await self.db.execute(
            "DELETE FROM inbox_event WHERE state='done' AND received_at < $1", older_than_ms
        )
