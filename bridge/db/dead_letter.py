"""Dead letters of every kind, for alerts, the gauge and the administrators' CLI.

Three kinds, each kept where it arose:
- malformed: a pushed event too broken to store in the inbox (table dead_letter);
- inbox: a stored event whose handler kept failing (inbox_event, state 'dead');
- outbox: a send given up on (outbox, state 'failed').

Each is alerted once (alerted_at), may be retried once (retried_at: a second retry is refused,
so a replay happens exactly once) or discarded. A retry makes the row pending again; the running
bridge's sweep (bridge/dead_letter_watch.py) picks it up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

from ..storable import storable

KINDS = ("malformed", "inbox", "outbox")


def now_ms() -> int:
    return int(time.time() * 1000)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class DeadLetter:
    kind: str
    seq: int
    error: str
    at: int  # when it arrived (inbox kinds) or was queued (outbox), ms
    payload: Any  # the event as pushed (malformed, inbox) or the content to send (outbox)
    room_id: str | None = None
    event_id: str | None = None
    sender: str | None = None
    key: str | None = None  # outbox: the send's key
    event_type: str | None = None
    state: str = "unresolved"  # unresolved, pending (retried), done/sent, discarded, retried
    retried: bool = False  # an administrator replayed it once already

    @property
    def id(self) -> str:
        """How administrators name it: kind/seq, e.g. inbox/42."""
        return f"{self.kind}/{self.seq}"


def parse_id(letter_id: str) -> tuple[str, int]:
    kind, _, seq = letter_id.partition("/")
    if kind not in KINDS or not seq.isdigit():
        raise ValueError(f"{letter_id!r} is not a dead letter id (kind/number, kind one of "
                         f"{', '.join(KINDS)}; `dead-letters list` shows them)")
    return kind, int(seq)


def _payload(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _from_event(kind: str, row: Any, state: str) -> DeadLetter:
    payload = _payload(row["payload"])
    event = payload if isinstance(payload, dict) else {}
    return DeadLetter(
        kind=kind, seq=row["seq"], error=row["error"] or "", at=row["received_at"],
        payload=payload, room_id=_text(event.get("room_id")), event_id=_text(event.get("event_id")),
        sender=_text(event.get("sender")), event_type=_text(event.get("type")), state=state,
        retried=row["retried_at"] is not None,
    )


def _from_outbox(row: Any, state: str) -> DeadLetter:
    return DeadLetter(
        kind="outbox", seq=row["seq"], error=row["error"] or "", at=row["created_at"],
        payload=_payload(row["content"]), room_id=row["room_id"], sender=row["sender"],
        key=row["key"], event_type=row["event_type"], state=state,
        retried=row["retried_at"] is not None,
    )


INBOX_STATES = {"dead": "unresolved", "pending": "pending", "done": "done", "discarded": "discarded"}
OUTBOX_STATES = {"failed": "unresolved", "pending": "pending", "sent": "sent", "discarded": "discarded"}

_INBOX_COLUMNS = "seq, event_id, room_id, payload, received_at, state, error, retried_at"
_OUTBOX_COLUMNS = ("seq, key, room_id, sender, event_type, content, created_at, state, error,"
                   " retried_at")
_MALFORMED_COLUMNS = "seq, txn_id, payload, error, received_at, resolution, retried_at"


class DeadLetterTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, txn_id: str, payload: Any, error: str) -> None:
        """Keep a malformed pushed event (cleaned of characters the database refuses)."""
        payload = storable(payload)
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        await self.db.execute(
            "INSERT INTO dead_letter (txn_id, event_id, payload, error, received_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            txn_id,
            event_id if isinstance(event_id, str) else None,
            json.dumps(payload, ensure_ascii=False, default=repr),
            storable(error),
            now_ms(),
        )

    async def count(self) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM dead_letter")

    # Alerts and the gauge -------------------------------------------------------------------
    async def unalerted(self, limit: int = 100) -> list[DeadLetter]:
        """Dead letters nobody was told about yet, oldest first within each kind."""
        found = [self._malformed(r) for r in await self.db.fetch(
            f"SELECT {_MALFORMED_COLUMNS} FROM dead_letter"
            " WHERE alerted_at IS NULL AND resolved_at IS NULL ORDER BY seq LIMIT $1", limit)]
        found += [_from_event("inbox", r, "unresolved") for r in await self.db.fetch(
            f"SELECT {_INBOX_COLUMNS} FROM inbox_event"
            " WHERE state='dead' AND alerted_at IS NULL ORDER BY seq LIMIT $1", limit)]
        found += [_from_outbox(r, "unresolved") for r in await self.db.fetch(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
            " WHERE state='failed' AND alerted_at IS NULL ORDER BY seq LIMIT $1", limit)]
        return found

    async def mark_alerted(self, letter: DeadLetter) -> None:
        table = {"malformed": "dead_letter", "inbox": "inbox_event", "outbox": "outbox"}[letter.kind]
        await self.db.execute(f"UPDATE {table} SET alerted_at=$2 WHERE seq=$1", letter.seq, now_ms())

    async def unresolved_counts(self) -> dict[str, int]:
        return {
            "malformed": await self.db.fetchval(
                "SELECT COUNT(*) FROM dead_letter WHERE resolved_at IS NULL"),
            "inbox": await self.db.fetchval("SELECT COUNT(*) FROM inbox_event WHERE state='dead'"),
            "outbox": await self.db.fetchval("SELECT COUNT(*) FROM outbox WHERE state='failed'"),
        }

    async def replayed_rooms(self) -> tuple[list[str], list[str]]:
        """Rooms with a retried event (inbox) and a retried send (outbox) still pending."""
        inbox = await self.db.fetch(
            "SELECT DISTINCT room_id FROM inbox_event WHERE state='pending' AND retried_at IS NOT NULL")
        outbox = await self.db.fetch(
            "SELECT DISTINCT room_id FROM outbox WHERE state='pending' AND retried_at IS NOT NULL")
        return [r["room_id"] for r in inbox], [r["room_id"] for r in outbox]

    # The administrators' view -----------------------------------------------------------------
    def _malformed(self, row: Any) -> DeadLetter:
        payload = _payload(row["payload"])
        event = payload if isinstance(payload, dict) else {}
        resolution = row["resolution"]
        return DeadLetter(
            kind="malformed", seq=row["seq"], error=row["error"], at=row["received_at"],
            payload=payload, room_id=_text(event.get("room_id")),
            event_id=_text(event.get("event_id")), sender=_text(event.get("sender")),
            event_type=_text(event.get("type")), state=resolution or "unresolved",
            retried=row["retried_at"] is not None,
        )

    async def unresolved(self) -> list[DeadLetter]:
        """Every dead letter waiting for an administrator, oldest first."""
        letters = [self._malformed(r) for r in await self.db.fetch(
            f"SELECT {_MALFORMED_COLUMNS} FROM dead_letter WHERE resolved_at IS NULL")]
        letters += [_from_event("inbox", r, "unresolved") for r in await self.db.fetch(
            f"SELECT {_INBOX_COLUMNS} FROM inbox_event WHERE state='dead'")]
        letters += [_from_outbox(r, "unresolved") for r in await self.db.fetch(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state='failed'")]
        return sorted(letters, key=lambda d: d.at)

    async def get(self, letter_id: str) -> DeadLetter | None:
        """One dead letter by id, whatever became of it since (its state says)."""
        kind, seq = parse_id(letter_id)
        if kind == "malformed":
            row = await self.db.fetchrow(
                f"SELECT {_MALFORMED_COLUMNS} FROM dead_letter WHERE seq=$1", seq)
            return self._malformed(row) if row else None
        if kind == "inbox":
            row = await self.db.fetchrow(
                f"SELECT {_INBOX_COLUMNS} FROM inbox_event WHERE seq=$1", seq)
            if row is None or (row["state"] != "dead" and row["retried_at"] is None
                               and row["state"] != "discarded"):
                return None  # an ordinary event, never a dead letter
            return _from_event("inbox", row, INBOX_STATES.get(row["state"], row["state"]))
        row = await self.db.fetchrow(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE seq=$1", seq)
        if row is None or (row["state"] != "failed" and row["retried_at"] is None
                           and row["state"] != "discarded"):
            return None
        return _from_outbox(row, OUTBOX_STATES.get(row["state"], row["state"]))

    async def retry(self, letter: DeadLetter) -> bool:
        """Make an inbox or outbox dead letter pending again, once; False if it is no longer
        unresolved or was retried before (checked in the same statement, so two administrators
        retrying at once replay it once)."""
        at = now_ms()
        if letter.kind == "inbox":
            seq = await self.db.fetchval(
                "UPDATE inbox_event SET state='pending', attempts=0, retried_at=$2,"
                " alerted_at=NULL WHERE seq=$1 AND state='dead' AND retried_at IS NULL"
                " RETURNING seq", letter.seq, at)
        elif letter.kind == "outbox":
            seq = await self.db.fetchval(
                "UPDATE outbox SET state='pending', attempts=0, not_before=0, retried_at=$2,"
                " alerted_at=NULL WHERE seq=$1 AND state='failed' AND retried_at IS NULL"
                " RETURNING seq", letter.seq, at)
        else:
            raise ValueError("a malformed event is retried with replay_malformed")
        return seq is not None

    async def replay_malformed(self, letter: DeadLetter, event: dict[str, Any]) -> bool:
        """Store a malformed event that now passes the door's checks in the inbox, as a retried
        event, and resolve it; False if it was resolved before."""
        at = now_ms()
        event = storable(event)
        async with self.db.acquire() as conn, conn.transaction():
            seq = await conn.fetchval(
                "UPDATE dead_letter SET resolved_at=$2, resolution='retried', retried_at=$2"
                " WHERE seq=$1 AND resolved_at IS NULL RETURNING seq", letter.seq, at)
            if seq is None:
                return False
            await conn.execute(
                "INSERT INTO inbox_event (event_id, room_id, txn_id, payload, received_at, sender,"
                " retried_at) VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (event_id) DO NOTHING",
                event["event_id"], event["room_id"], f"retried-{letter.id}",
                json.dumps(event, ensure_ascii=False), at, event.get("sender"))
        return True

    async def discard(self, letter: DeadLetter) -> bool:
        """Resolve a dead letter without replaying it; False if it was no longer unresolved."""
        if letter.kind == "malformed":
            seq = await self.db.fetchval(
                "UPDATE dead_letter SET resolved_at=$2, resolution='discarded'"
                " WHERE seq=$1 AND resolved_at IS NULL RETURNING seq", letter.seq, now_ms())
        elif letter.kind == "inbox":
            seq = await self.db.fetchval(
                "UPDATE inbox_event SET state='discarded' WHERE seq=$1 AND state='dead'"
                " RETURNING seq", letter.seq)
        else:
            seq = await self.db.fetchval(
                "UPDATE outbox SET state='discarded' WHERE seq=$1 AND state='failed'"
                " RETURNING seq", letter.seq)
        return seq is not None
