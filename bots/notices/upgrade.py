from mautrix.util.async_db import Connection, Scheme, UpgradeTable

from bridge.db.schema import serial_primary_key

upgrade_table = UpgradeTable(version_table_name="notices_version", database_name="notices bot")


@upgrade_table.register(description="Notices, their copies and receipts, chasing steps, drafts")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    serial = serial_primary_key(scheme)
    # A notice is written with all its copies in one transaction (recipients fixed at creation);
    # `source` names what created it (a DM event, a CLI request), so creating twice is harmless.
    await conn.execute(f"""
        CREATE TABLE notice (
            id            {serial},
            source        TEXT NOT NULL UNIQUE,
            kind          TEXT NOT NULL,
            title         TEXT NOT NULL,
            body          TEXT NOT NULL,
            meeting       TEXT NOT NULL,
            attachments   TEXT NOT NULL,
            sender        TEXT NOT NULL,
            sender_room   TEXT NOT NULL,
            created_at    BIGINT NOT NULL,
            deadline      BIGINT NOT NULL,
            remind_at     BIGINT NOT NULL,
            email         BOOLEAN NOT NULL DEFAULT false,
            status        TEXT NOT NULL,
            version       INTEGER NOT NULL DEFAULT 0,
            recall_reason TEXT
        )
    """)
    await conn.execute("""
        CREATE TABLE notice_copy (
            notice_id  BIGINT NOT NULL,
            dept_id    TEXT NOT NULL,
            room_id    TEXT NOT NULL,
            PRIMARY KEY (notice_id, dept_id)
        )
    """)
    await conn.execute("""
        CREATE TABLE notice_receipt (
            notice_id  BIGINT NOT NULL,
            dept_id    TEXT NOT NULL,
            officer    TEXT NOT NULL,
            at         BIGINT NOT NULL,
            attendees  TEXT NOT NULL,
            event_id   TEXT NOT NULL,
            PRIMARY KEY (notice_id, dept_id)
        )
    """)
    # Chasing steps taken (reminded, overdue reported): written after their sends are queued
    # under keys of their own, so a restart in between queues nothing twice.
    await conn.execute("CREATE TABLE notice_step (key TEXT PRIMARY KEY, at BIGINT NOT NULL)")
    await conn.execute("""
        CREATE TABLE notice_dm (
            room_id  TEXT PRIMARY KEY,
            mxid     TEXT NOT NULL
        )
    """)
    await conn.execute("CREATE INDEX notice_dm_mxid ON notice_dm (mxid)")
    await conn.execute("""
        CREATE TABLE notice_draft (
            room_id  TEXT PRIMARY KEY,
            step     TEXT NOT NULL,
            data     TEXT NOT NULL
        )
    """)
    await conn.execute("CREATE TABLE notice_seen (event_id TEXT PRIMARY KEY)")
    # Notices handed in by `python -m bridge notice send FILE` for the running bridge.
    await conn.execute(f"""
        CREATE TABLE notice_request (
            id       {serial},
            payload  TEXT NOT NULL,
            state    TEXT NOT NULL,
            result   TEXT
        )
    """)
    await conn.execute("""
        CREATE TABLE notice_space (
            jurisdiction  TEXT PRIMARY KEY,
            space_id      TEXT NOT NULL,
            lobby_id      TEXT NOT NULL,
            applied       TEXT NOT NULL
        )
    """)
