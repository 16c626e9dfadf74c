"""The tables of a letter bot; the mailbox and complaints bots each get their own copy (prefix)."""

from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme, UpgradeTable


def make_upgrade_table(prefix: str) -> UpgradeTable:
    """One schema, two bots: tables are named `<prefix>_...` so the bots share no rows."""
    table = UpgradeTable(version_table_name=f"{prefix}_version", database_name=prefix)

    @table.register(description="DM rooms, drafts, handled events, letters")
    async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
        await conn.execute(f"""
            CREATE TABLE {prefix}_dm (
                room_id  TEXT PRIMARY KEY,
                citizen  TEXT NOT NULL
            )
        """)
        # The letter being written in a DM room: its step and what the citizen said so far.
        await conn.execute(f"""
            CREATE TABLE {prefix}_draft (
                room_id  TEXT PRIMARY KEY,
                step     TEXT NOT NULL,
                data     TEXT NOT NULL
            )
        """)
        # Events whose effects are committed: a reprocessed event changes nothing again.
        await conn.execute(f"CREATE TABLE {prefix}_seen (event_id TEXT PRIMARY KEY)")
        await conn.execute(f"""
            CREATE TABLE {prefix}_letter (
                number         TEXT PRIMARY KEY,
                created_by     TEXT NOT NULL UNIQUE,
                kind           TEXT NOT NULL,
                citizen        TEXT NOT NULL,
                room_id        TEXT NOT NULL,
                recipient      TEXT NOT NULL,
                to_address     TEXT NOT NULL,
                subject        TEXT NOT NULL,
                status         TEXT NOT NULL,
                created_at     BIGINT NOT NULL,
                deadline       TEXT NOT NULL,
                replied_at     BIGINT,
                reminded_at    BIGINT
            )
        """)
        await conn.execute(f"CREATE INDEX {prefix}_letter_citizen ON {prefix}_letter (citizen)")
        await conn.execute(f"CREATE INDEX {prefix}_letter_status ON {prefix}_letter (status)")

    return table
