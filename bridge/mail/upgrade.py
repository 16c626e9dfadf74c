"""The mail transport's tables, with their own version table so the runtime's stay untouched."""

from __future__ import annotations

from mautrix.util.async_db import Connection, Scheme, UpgradeTable

from ..db.schema import serial_primary_key

mail_upgrade_table = UpgradeTable(version_table_name="mail_version", database_name="dutyroom mail")


def _blob(scheme: Scheme) -> str:
    return "BLOB" if scheme == Scheme.SQLITE else "BYTEA"


@mail_upgrade_table.register(description="Mail outbox, reply recipients and inbox")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    # Times are milliseconds of the injectable clock, so tests can move through a retry period.
    await conn.execute(f"""
        CREATE TABLE mail_outbox (
            seq          {serial_primary_key(scheme)},
            key          TEXT NOT NULL UNIQUE,
            message_id   TEXT NOT NULL,
            recipient    TEXT NOT NULL,
            reply_ref    TEXT,
            raw          TEXT NOT NULL,
            state        TEXT NOT NULL DEFAULT 'pending',
            attempts     INTEGER NOT NULL DEFAULT 0,
            not_before   BIGINT NOT NULL DEFAULT 0,
            error        TEXT,
            notified     INTEGER NOT NULL DEFAULT 0,
            created_at   BIGINT NOT NULL,
            sent_at      BIGINT
        )
    """)
    await conn.execute("CREATE INDEX mail_outbox_due ON mail_outbox (state, not_before)")
    # Who may answer a reference: every office a mail with that reply_ref was sent to.
    await conn.execute("""
        CREATE TABLE mail_reply_sender (
            reply_ref    TEXT NOT NULL,
            address      TEXT NOT NULL,
            created_at   BIGINT NOT NULL,
            PRIMARY KEY (reply_ref, address)
        )
    """)
    await conn.execute(f"""
        CREATE TABLE mail_inbox (
            seq            {serial_primary_key(scheme)},
            message_id     TEXT NOT NULL,
            reply_ref      TEXT NOT NULL,
            sender         TEXT NOT NULL,
            auto_submitted INTEGER NOT NULL,
            raw            {_blob(scheme)} NOT NULL,
            state          TEXT NOT NULL DEFAULT 'pending',
            attempts       INTEGER NOT NULL DEFAULT 0,
            error          TEXT,
            received_at    BIGINT NOT NULL,
            UNIQUE (message_id, reply_ref)
        )
    """)
    await conn.execute("CREATE INDEX mail_inbox_pending ON mail_inbox (state, seq)")
