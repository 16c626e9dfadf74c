from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Outbox lanes: messages of different threads send in parallel")
async def upgrade_v4(conn: Connection) -> None:
    await conn.execute("ALTER TABLE outbox ADD COLUMN lane TEXT")
