"""The notices bot's tables: notices, one copy per department, receipts, steps, DMs, drafts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mautrix.util.async_db import Database

MEETING, WORK = "meeting", "work"
# delivering → sent → closed (its overdue report made: chasing is over), or recalled.
DELIVERING, SENT, CLOSED, RECALLED = "delivering", "sent", "closed", "recalled"


@dataclass
class Notice:
    id: int
    source: str
    kind: str
    title: str
    body: str
    meeting: dict[str, Any]
    attachments: list[dict[str, Any]]
    sender: str
    sender_room: str
    created_at: int
    deadline: int
    remind_at: int
    email: bool
    status: str
    version: int
    recall_reason: str | None = None
    copies: dict[str, str] = field(default_factory=dict)  # dept → officers' room

    @property
    def ref(self) -> str:
        return ref_of(self.id)


@dataclass
class Receipt:
    dept_id: str
    officer: str
    at: int
    attendees: list[str]
    event_id: str = ""


def ref_of(notice_id: int) -> str:
    return f"TZ-{notice_id:04d}"


def parse_ref(text: str) -> int | None:
    """TZ-0012, tz-12, TZ0012 or 12."""
    text = text.strip().upper().removeprefix("TZ").lstrip("-")
    return int(text) if text.isdigit() else None


_COLUMNS = ("id, source, kind, title, body, meeting, attachments, sender, sender_room, created_at,"
            " deadline, remind_at, email, status, version, recall_reason")


class NoticeTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Notices ------------------------------------------------------------------------------
    async def create(self, source: str, spec: dict[str, Any], copies: dict[str, str]) -> Notice:
        """The notice and its copies in one transaction; the one made before if `source` was
        handled already (an event handled again after a crash)."""
        existing = await self.by_source(source)
        if existing is not None:
            return existing
        async with self.db.acquire() as conn, conn.transaction():
            notice_id = await conn.fetchval(
                "INSERT INTO notice (source, kind, title, body, meeting, attachments, sender,"
                " sender_room, created_at, deadline, remind_at, email, status)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                source, spec["kind"], spec["title"], spec["body"],
                _dump(spec.get("meeting") or {}), _dump(spec.get("attachments") or []),
                spec["sender"], spec["sender_room"], spec["created_at"], spec["deadline"],
                spec["remind_at"], bool(spec.get("email")), DELIVERING,
            )
            for dept_id, room_id in copies.items():
                await conn.execute(
                    "INSERT INTO notice_copy (notice_id, dept_id, room_id) VALUES ($1, $2, $3)",
                    notice_id, dept_id, room_id)
        found = await self.get(int(notice_id))
        assert found is not None
        return found

    async def by_source(self, source: str) -> Notice | None:
        row = await self.db.fetchrow(f"SELECT {_COLUMNS} FROM notice WHERE source=$1", source)
        return await self._with_copies(row)

    async def get(self, notice_id: int) -> Notice | None:
        row = await self.db.fetchrow(f"SELECT {_COLUMNS} FROM notice WHERE id=$1", notice_id)
        return await self._with_copies(row)

    async def in_state(self, *states: str) -> list[Notice]:
        marks = ", ".join(f"${i}" for i in range(1, len(states) + 1))
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM notice WHERE status IN ({marks}) ORDER BY id", *states)
        return [n for n in [await self._with_copies(r) for r in rows] if n is not None]

    async def due(self, now_ms: int) -> list[Notice]:
        """Sent notices whose reminder or deadline has come (the rest are not read)."""
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM notice WHERE status=$1 AND remind_at<=$2 ORDER BY id",
            SENT, now_ms)
        return [n for n in [await self._with_copies(r) for r in rows] if n is not None]

    async def _with_copies(self, row: Any) -> Notice | None:
        if row is None:
            return None
        values = dict(row)
        values["meeting"] = json.loads(values["meeting"])
        values["attachments"] = json.loads(values["attachments"])
        values["email"] = bool(values["email"])
        notice = Notice(**values)
        rows = await self.db.fetch(
            "SELECT dept_id, room_id FROM notice_copy WHERE notice_id=$1 ORDER BY dept_id", notice.id)
        notice.copies = {r["dept_id"]: r["room_id"] for r in rows}
        return notice

    async def set_status(self, notice_id: int, status: str, reason: str | None = None) -> None:
        await self.db.execute("UPDATE notice SET status=$2, recall_reason=COALESCE($3, recall_reason)"
                              " WHERE id=$1", notice_id, status, reason)

    async def edit(self, notice_id: int, version: int, title: str, body: str) -> bool:
        """Version `version` of the text, once: False if that version was written already."""
        found = await self.db.fetchval(
            "UPDATE notice SET version=$2, title=$3, body=$4 WHERE id=$1 AND version=$2 - 1"
            " RETURNING id", notice_id, version, title, body)
        return found is not None

    async def latest_open_in(self, room_id: str) -> Notice | None:
        """The newest notice still open in an officers' room (what a bare `!回执` is for)."""
        row = await self.db.fetchrow(
            "SELECT n.id FROM notice n JOIN notice_copy c ON c.notice_id=n.id"
            " WHERE c.room_id=$1 AND n.status<>$2 ORDER BY n.id DESC LIMIT 1", room_id, RECALLED)
        return await self.get(int(row["id"])) if row else None

    # Receipts -----------------------------------------------------------------------------
    async def acknowledge(self, notice_id: int, dept_id: str, officer: str, at: int,
                          attendees: list[str], event_id: str) -> bool:
        """True if this changed the receipt (a first one, or new attendees)."""
        current = await self.receipts(notice_id)
        old = current.get(dept_id)
        if old is not None and (not attendees or attendees == old.attendees):
            return False
        await self.db.execute(
            "INSERT INTO notice_receipt (notice_id, dept_id, officer, at, attendees, event_id)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (notice_id, dept_id) DO UPDATE"
            " SET officer=excluded.officer, at=excluded.at, attendees=excluded.attendees,"
            " event_id=excluded.event_id",
            notice_id, dept_id, officer, at, _dump(attendees), event_id)
        return True

    async def receipts(self, notice_id: int) -> dict[str, Receipt]:
        rows = await self.db.fetch(
            "SELECT dept_id, officer, at, attendees, event_id FROM notice_receipt"
            " WHERE notice_id=$1", notice_id)
        return {r["dept_id"]: Receipt(r["dept_id"], r["officer"], int(r["at"]),
                                      json.loads(r["attendees"]), r["event_id"]) for r in rows}

    # Steps, events, DMs, drafts -----------------------------------------------------------
    async def step_done(self, key: str) -> bool:
        return await self.db.fetchval("SELECT 1 FROM notice_step WHERE key=$1", key) is not None

    async def record_step(self, key: str, at: int) -> None:
        await self.db.execute(
            "INSERT INTO notice_step (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, at)

    async def seen(self, event_id: str) -> bool:
        return await self.db.fetchval(
            "SELECT 1 FROM notice_seen WHERE event_id=$1", event_id) is not None

    async def mark_seen(self, event_id: str) -> None:
        await self.db.execute(
            "INSERT INTO notice_seen (event_id) VALUES ($1) ON CONFLICT DO NOTHING", event_id)

    async def dm_owner(self, room_id: str) -> str | None:
        return await self.db.fetchval("SELECT mxid FROM notice_dm WHERE room_id=$1", room_id)

    async def dm_of(self, mxid: str) -> str | None:
        return await self.db.fetchval(
            "SELECT room_id FROM notice_dm WHERE mxid=$1 ORDER BY room_id LIMIT 1", mxid)

    async def add_dm(self, room_id: str, mxid: str) -> None:
        await self.db.execute("INSERT INTO notice_dm (room_id, mxid) VALUES ($1, $2)"
                              " ON CONFLICT (room_id) DO NOTHING", room_id, mxid)

    async def draft(self, room_id: str) -> tuple[str, dict[str, Any]] | None:
        row = await self.db.fetchrow("SELECT step, data FROM notice_draft WHERE room_id=$1", room_id)
        return (row["step"], json.loads(row["data"])) if row else None

    async def save_draft(self, room_id: str, step: str | None, data: dict[str, Any]) -> None:
        if step is None:
            await self.db.execute("DELETE FROM notice_draft WHERE room_id=$1", room_id)
            return
        await self.db.execute(
            "INSERT INTO notice_draft (room_id, step, data) VALUES ($1, $2, $3)"
            " ON CONFLICT (room_id) DO UPDATE SET step=excluded.step, data=excluded.data",
            room_id, step, _dump(data))

    # Requests from the CLI ----------------------------------------------------------------
    async def add_request(self, payload: dict[str, Any]) -> int:
        return int(await self.db.fetchval(
            "INSERT INTO notice_request (payload, state) VALUES ($1, 'pending') RETURNING id",
            _dump(payload)))

    async def pending_requests(self) -> list[tuple[int, dict[str, Any]]]:
        rows = await self.db.fetch(
            "SELECT id, payload FROM notice_request WHERE state='pending' ORDER BY id")
        return [(int(r["id"]), json.loads(r["payload"])) for r in rows]

    async def finish_request(self, request_id: int, state: str, result: str) -> None:
        await self.db.execute("UPDATE notice_request SET state=$2, result=$3 WHERE id=$1",
                              request_id, state, result)

    async def request(self, request_id: int) -> tuple[str, str | None] | None:
        row = await self.db.fetchrow("SELECT state, result FROM notice_request WHERE id=$1",
                                     request_id)
        return (row["state"], row["result"]) if row else None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

