from mautrix.util.async_db import Connection, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="knowledge_version", database_name="knowledge bot")


@upgrade_table.register(description="Numbered suggestions, per-entry usage, weekly review reminders")
async def upgrade_v1(conn: Connection) -> None:
    # The numbered list last shown in a scope ("case/<id>" for a case thread, "dm/<room>" for a
    # citizen's chat, "root/<id>" for a thread root), so "!答 2" or a citizen's "2" finds it
    # after a restart too.
    await conn.execute("""
        CREATE TABLE kb_offer (
            scope       TEXT NOT NULL,
            number      INTEGER NOT NULL,
            entry_id    TEXT NOT NULL,
            offered_at  BIGINT NOT NULL,
            PRIMARY KEY (scope, number)
        )
    """)
    # One row per use of an entry, keyed by what caused it, so a handler run twice counts once.
    await conn.execute("""
        CREATE TABLE kb_usage (
            key       TEXT PRIMARY KEY,
            entry_id  TEXT NOT NULL,
            dept_id   TEXT NOT NULL,
            case_id   BIGINT,
            kind      TEXT NOT NULL,
            at        BIGINT NOT NULL
        )
    """)
    await conn.execute("CREATE INDEX kb_usage_entry ON kb_usage (entry_id, kind)")
    await conn.execute("CREATE INDEX kb_usage_case ON kb_usage (case_id)")
    await conn.execute("""
        CREATE TABLE kb_review_sent (
            dept_id  TEXT NOT NULL,
            week     TEXT NOT NULL,
            sent_at  BIGINT NOT NULL,
            PRIMARY KEY (dept_id, week)
        )
    """)
