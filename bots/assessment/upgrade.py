from mautrix.util.async_db import Connection, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="assessment_version", database_name="assessment bot")


@upgrade_table.register(description="Bulletins sent, and the topic counts of citizens' questions")
async def upgrade_v1(conn: Connection) -> None:
    # One row per bulletin (kind weekly|monthly, period label): claimed before it is queued,
    # marked sent after, so a restart neither repeats nor skips one.
    await conn.execute("""
        CREATE TABLE assess_bulletin (
            kind        TEXT NOT NULL,
            period      TEXT NOT NULL,
            claimed_at  BIGINT NOT NULL,
            sent_at     BIGINT,
            PRIMARY KEY (kind, period)
        )
    """)
    # 热点: how many case-opening questions of a department on a day contained a word. Counts
    # only: no text, no case, no citizen.
    await conn.execute("""
        CREATE TABLE assess_topic (
            dept_id  TEXT NOT NULL,
            day      TEXT NOT NULL,
            term     TEXT NOT NULL,
            n        INTEGER NOT NULL,
            PRIMARY KEY (dept_id, day, term)
        )
    """)
    await conn.execute("CREATE TABLE assess_topic_seen (event_id TEXT PRIMARY KEY)")
