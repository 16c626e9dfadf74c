from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Remember who sent each stored event")
async def upgrade_v3(conn: Connection) -> None:
    await conn.execute("ALTER TABLE inbox_event ADD COLUMN sender TEXT")
