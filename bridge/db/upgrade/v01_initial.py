from mautrix.util.async_db import Connection, Scheme

from ..schema import serial_primary_key
from . import upgrade_table


@upgrade_table.register(description="Durable inbox, dead letters and outbox")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    await conn.execute(f"""
        CREATE TABLE inbox_event (
            seq          {serial_primary_key(scheme)},
            event_id     TEXT NOT NULL UNIQUE,
            room_id      TEXT NOT NULL,
            txn_id       TEXT NOT NULL,
            payload      TEXT NOT NULL,
            received_at  BIGINT NOT NULL,
            state        TEXT NOT NULL DEFAULT 'pending',
            attempts     INTEGER NOT NULL DEFAULT 0,
            error        TEXT
        )
    """)
    await conn.execute("CREATE INDEX inbox_event_pending ON inbox_event (state, room_id, seq)")
    await conn.execute(f"""
        CREATE TABLE dead_letter (
            seq          {serial_primary_key(scheme)},
            txn_id       TEXT NOT NULL,
            event_id     TEXT,
            payload      TEXT NOT NULL,
            error        TEXT NOT NULL,
            received_at  BIGINT NOT NULL
        )
    """)
    await conn.execute(f"""
        CREATE TABLE outbox (
            seq          {serial_primary_key(scheme)},
            key          TEXT NOT NULL UNIQUE,
            room_id      TEXT NOT NULL,
            sender       TEXT NOT NULL,
            event_type   TEXT NOT NULL,
            content      TEXT NOT NULL,
            state        TEXT NOT NULL DEFAULT 'pending',
            attempts     INTEGER NOT NULL DEFAULT 0,
            not_before   BIGINT NOT NULL DEFAULT 0,
            event_id     TEXT,
            error        TEXT,
            created_at   BIGINT NOT NULL
        )
    """)
    await conn.execute("CREATE INDEX outbox_pending ON outbox (state, room_id, seq)")
