from mautrix.util.async_db import Connection, Scheme, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="privacy_version", database_name="privacy")


@upgrade_table.register(description="The retention job's runs")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    """One row per day the retention job finished, so it runs once a day across restarts and
    catches up at start after a day the bridge was down."""
    await conn.execute("""
        CREATE TABLE privacy_run (
            day       TEXT PRIMARY KEY,
            at        BIGINT NOT NULL,
            summary   TEXT NOT NULL
        )
    """)


@upgrade_table.register(description="Erasures in progress, finished after a crash")
async def upgrade_v2(conn: Connection, scheme: Scheme) -> None:
    """An erasure deletes the citizen's rows first, its own command's inbox event among them,
    and then withdraws the copies in the officers' rooms and leaves the DMs: a crash in between
    left the citizen's words there for good. Each erasure is written down first and finished at
    the next start (bots/privacy/erasures.py); the citizen's ID is cleared when it is done."""
    await conn.execute("""
        CREATE TABLE privacy_erasure (
            event_id  TEXT PRIMARY KEY,
            citizen   TEXT NOT NULL,
            room_id   TEXT NOT NULL,
            speaker   TEXT NOT NULL,
            case_ids  TEXT NOT NULL,
            rooms     TEXT,
            said      TEXT,
            done_at   BIGINT
        )
    """)
