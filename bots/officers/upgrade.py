from mautrix.util.async_db import Connection, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="officers_version", database_name="officers bot")


@upgrade_table.register(description="Officers' rooms and their last applied membership")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("""
        CREATE TABLE officers_room (
            dept_id  TEXT PRIMARY KEY,
            room_id  TEXT NOT NULL,
            applied  TEXT NOT NULL DEFAULT '{}'
        )
    """)
