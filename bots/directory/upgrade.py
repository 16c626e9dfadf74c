from mautrix.util.async_db import Connection, UpgradeTable

upgrade_table = UpgradeTable(version_table_name="directory_version", database_name="directory bot")


@upgrade_table.register(description="Spaces, department rooms and ghosts as last applied")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("""
        CREATE TABLE directory_space (
            jurisdiction TEXT PRIMARY KEY,
            room_id      TEXT NOT NULL,
            applied      TEXT NOT NULL DEFAULT '{}'
        )
    """)
    await conn.execute("""
        CREATE TABLE directory_room (
            dept_id      TEXT PRIMARY KEY,
            room_id      TEXT NOT NULL,
            applied      TEXT NOT NULL DEFAULT '{}'
        )
    """)
    await conn.execute("""
        CREATE TABLE directory_ghost (
            dept_id      TEXT PRIMARY KEY,
            displayname  TEXT NOT NULL
        )
    """)
