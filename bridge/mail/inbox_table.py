"""mail_inbox: every accepted reply, stored before the MTA hears 250, delivered once."""

from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database


@dataclass(frozen=True)
class InboxRow:
    seq: int
    message_id: str
    reply_ref: str
    sender: str
    auto_submitted: bool
    raw: bytes
    attempts: int


class MailInboxTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(
        self, message_id: str, refs: list[str], sender: str, auto_submitted: bool, raw: bytes,
        now: int,
    ) -> int:
        """Store one row per reference; returns how many were new (0 for a replay)."""
        new = 0
        async with self.db.acquire() as conn, conn.transaction():
            for ref in refs:
                seq = await conn.fetchval(
                    "INSERT INTO mail_inbox"
                    " (message_id, reply_ref, sender, auto_submitted, raw, received_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)"
                    " ON CONFLICT (message_id, reply_ref) DO NOTHING RETURNING seq",
                    message_id, ref, sender, int(auto_submitted), raw, now,
                )
                new += seq is not None
        return new

    async def pending(self, limit: int = 20) -> list[InboxRow]:
        rows = await self.db.fetch(
            "SELECT seq, message_id, reply_ref, sender, auto_submitted, raw, attempts"
            " FROM mail_inbox WHERE state='pending' ORDER BY seq LIMIT $1",
            limit,
        )
        return [
            InboxRow(r["seq"], r["message_id"], r["reply_ref"], r["sender"],
                     bool(r["auto_submitted"]), bytes(r["raw"]), r["attempts"])
            for r in rows
        ]

    async def mark_delivered(self, seq: int) -> None:
        await self.db.execute("UPDATE mail_inbox SET state='delivered', error=NULL WHERE seq=$1", seq)

    async def record_failure(self, seq: int, error: str, dead: bool) -> None:
        await self.db.execute(
            "UPDATE mail_inbox SET attempts=attempts+1, error=$2, state=$3 WHERE seq=$1",
            seq, error, "dead" if dead else "pending",
        )

    async def count(self, state: str | None = None) -> int:
        if state is None:
            return await self.db.fetchval("SELECT COUNT(*) FROM mail_inbox")
        return await self.db.fetchval("SELECT COUNT(*) FROM mail_inbox WHERE state=$1", state)
