"""The audit trail: who was shown what about a citizen, and who ran which data command.

Every bot writes here through `AuditLog` when a person is shown a citizen's Matrix ID (a
department whose roster sets `show_citizen_id`), a supervisor blocks or unblocks a citizen, the
supervision office is sent a complaint, or an administrator reads data (this trail included).
Entries are append-only: the database itself refuses an UPDATE (a trigger, on SQLite and
PostgreSQL alike), so neither a bot's bug nor a hand-typed statement can rewrite what happened.
Deleting is left to the retention job, which removes whole entries past their period.

The table lives in the runtime's own migrations (like the outbox), not in a bot's: the
consultation, complaints and admin bots all write to it, and any of them may be disabled.
"""

from __future__ import annotations

from dataclasses import dataclass

from mautrix.util.async_db import Connection, Database, Scheme, UpgradeTable

from .db.schema import serial_primary_key

audit_upgrade_table = UpgradeTable(version_table_name="audit_version", database_name="audit")

# What an entry says happened (the `action` column). Documented in docs/security.md.
CITIZEN_ID_SHOWN = "citizen_id_shown"      # a case root named the citizen's Matrix ID
CITIZEN_BLOCKED = "citizen_blocked"        # a supervisor blocked a citizen from a department
BLOCK_LIFTED = "block_lifted"              # by a supervisor, or by the bridge at the block's end
COMPLAINT_SENT = "complaint_sent"          # a complaint (with its complainant) went to supervision
LETTER_SENT = "letter_sent"                # a letter with the writer's contact details went to an office
DEAD_LETTER_READ = "dead_letter_read"      # an administrator showed, replayed or discarded one
AUDIT_READ = "audit_read"                  # someone read this trail
CITIZEN_DATA_EXPORTED = "citizen_data_exported"  # !我的数据: a citizen's copy of their data
CITIZEN_DATA_ERASED = "citizen_data_erased"      # !删除我的数据 confirmed
RETENTION_RUN = "retention_run"            # the daily purge, or `python -m bridge retention`
ACTIONS = (CITIZEN_ID_SHOWN, CITIZEN_BLOCKED, BLOCK_LIFTED, COMPLAINT_SENT, LETTER_SENT,
           DEAD_LETTER_READ, AUDIT_READ,
           CITIZEN_DATA_EXPORTED, CITIZEN_DATA_ERASED, RETENTION_RUN)


@audit_upgrade_table.register(description="The append-only audit trail")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    await conn.execute(f"""
        CREATE TABLE audit_log (
            id      {serial_primary_key(scheme)},
            at      BIGINT NOT NULL,
            actor   TEXT NOT NULL,
            action  TEXT NOT NULL,
            record  TEXT NOT NULL,
            detail  TEXT NOT NULL DEFAULT '',
            key     TEXT UNIQUE
        )
    """)
    await conn.execute("CREATE INDEX audit_log_at ON audit_log (at)")
    if scheme == Scheme.SQLITE:
        await conn.execute("""
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
        """)
    else:
        await conn.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql
        """)
        await conn.execute("""
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
        """)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: int
    actor: str
    action: str
    record: str
    detail: str


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, actor: str, action: str, record: str, *, at_ms: int,
                     detail: str = "", key: str | None = None) -> bool:
        """Write one entry. `key` (e.g. the Matrix event that caused it) makes the write happen
        once when the same event is handled again after a crash; without a key every call
        writes. Returns whether an entry was written."""
        written = await self.db.fetchval(
            "INSERT INTO audit_log (at, actor, action, record, detail, key)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING RETURNING id",
            at_ms, actor, action, record, detail, key,
        )
        return written is not None

    async def entries(self, *, since_ms: int | None = None, until_ms: int | None = None,
                      actor: str | None = None, action: str | None = None,
                      record: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Entries oldest first, each filter optional (record matches a prefix: `case/` …)."""
        conditions, args = [], []
        for sql, value in (("at >= $", since_ms), ("at < $", until_ms), ("actor = $", actor),
                           ("action = $", action), ("record LIKE $", record)):
            if value is not None:
                args.append(f"{value}%" if sql.startswith("record") else value)
                conditions.append(f"{sql}{len(args)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        args.append(limit)
        rows = await self.db.fetch(
            f"SELECT id, at, actor, action, record, detail FROM audit_log{where}"
            f" ORDER BY at, id LIMIT ${len(args)}", *args)
        return [AuditEntry(*(r[i] for i in range(6))) for r in rows]
