from mautrix.util.async_db import Connection, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="presence_version", database_name="presence bot")


@upgrade_table.register(description="The on-duty line last set as each DM's topic")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("""
        CREATE TABLE presence_dm_topic (
            room_id  TEXT PRIMARY KEY,
            topic    TEXT NOT NULL
        )
    """)
