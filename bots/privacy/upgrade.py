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
