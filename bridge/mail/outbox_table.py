"""mail_outbox and mail_reply_sender: every outgoing mail is stored, with its Message-ID, first."""

from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Database


@dataclass(frozen=True)
class OutgoingRow:
    seq: int
    key: str
    message_id: str
    recipient: str
    reply_ref: str | None
    raw: str
    state: str
    attempts: int
    not_before: int
    error: str | None
    created_at: int


_COLUMNS = ("seq, key, message_id, recipient, reply_ref, raw, state, attempts, not_before, error,"
            " created_at")


def _row(r: object) -> OutgoingRow:
    return OutgoingRow(*(r[c.strip()] for c in _COLUMNS.split(",")))  # type: ignore[index]


class MailOutboxTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, key: str, message_id: str, recipient: str, reply_ref: str | None, raw: str, now: int
    ) -> str:
        """Store a mail; returns the Message-ID of whichever mail holds the key (maybe older)."""
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO mail_outbox (key, message_id, recipient, reply_ref, raw, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                key, message_id, recipient, reply_ref, raw, now,
            )
            stored = await conn.fetchval("SELECT message_id FROM mail_outbox WHERE key=$1", key)
            if stored == message_id and reply_ref is not None:
                # In the same transaction: a reply can never arrive for a mail whose office
                # was not recorded.
                await conn.execute(
                    "INSERT INTO mail_reply_sender (reply_ref, address, created_at)"
                    " VALUES ($1, $2, $3) ON CONFLICT (reply_ref, address) DO NOTHING",
                    reply_ref, recipient.lower(), now,
                )
        return stored

    async def senders(self, reply_ref: str) -> set[str]:
        rows = await self.db.fetch(
            "SELECT address FROM mail_reply_sender WHERE reply_ref=$1", reply_ref
        )
        return {row["address"] for row in rows}

    async def next_due(self, now: int) -> OutgoingRow | None:
        row = await self.db.fetchrow(
            f"SELECT {_COLUMNS} FROM mail_outbox WHERE state='pending' AND not_before <= $1"
            " ORDER BY not_before, seq LIMIT 1",
            now,
        )
        return None if row is None else _row(row)

    async def next_wakeup(self) -> int | None:
        return await self.db.fetchval(
            "SELECT MIN(not_before) FROM mail_outbox WHERE state='pending'"
        )

    async def get(self, key: str) -> OutgoingRow | None:
        row = await self.db.fetchrow(f"SELECT {_COLUMNS} FROM mail_outbox WHERE key=$1", key)
        return None if row is None else _row(row)

    async def latest(self, key: str) -> OutgoingRow | None:
        """The newest of the mail queued under `key` and those sent again under `key/again/…`."""
        row = await self.db.fetchrow(
            f"SELECT {_COLUMNS} FROM mail_outbox WHERE key=$1 OR key LIKE $2 ESCAPE '\\'"
            " ORDER BY seq DESC LIMIT 1",
            key, key.replace("%", r"\%").replace("_", r"\_") + "/again/%")
        return None if row is None else _row(row)

    async def by_seq(self, seq: int) -> OutgoingRow | None:
        row = await self.db.fetchrow(f"SELECT {_COLUMNS} FROM mail_outbox WHERE seq=$1", seq)
        return None if row is None else _row(row)

    async def mark_sent(self, seq: int, now: int) -> None:
        await self.db.execute(
            # raw is kept: the record of exactly what the office received.
            "UPDATE mail_outbox SET state='sent', attempts=attempts+1, error=NULL, sent_at=$2"
            " WHERE seq=$1",
            seq, now,
        )

    async def retry_later(self, seq: int, error: str, not_before: int) -> None:
        await self.db.execute(
            "UPDATE mail_outbox SET attempts=attempts+1, error=$2, not_before=$3 WHERE seq=$1",
            seq, error, not_before,
        )

    async def mark_failed(self, seq: int, error: str) -> None:
        await self.db.execute(
            "UPDATE mail_outbox SET state='failed', attempts=attempts+1, error=$2 WHERE seq=$1",
            seq, error,
        )

    async def withdraw(self, seq: int) -> None:
        """Never to be sent: its words were erased at the citizen's request."""
        await self.db.execute("UPDATE mail_outbox SET state='withdrawn' WHERE seq=$1 AND state='pending'", seq)

    async def unnotified_failures(self) -> list[OutgoingRow]:
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM mail_outbox WHERE state='failed' AND notified=0 ORDER BY seq"
        )
        return [_row(r) for r in rows]

    async def mark_notified(self, seq: int) -> None:
        await self.db.execute("UPDATE mail_outbox SET notified=1 WHERE seq=$1", seq)

    async def count(self, state: str) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM mail_outbox WHERE state=$1", state)
