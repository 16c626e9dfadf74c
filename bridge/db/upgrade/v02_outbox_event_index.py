from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Find an outbox item by the event it became")
async def upgrade_v2(conn: Connection) -> None:
    await conn.execute("CREATE INDEX outbox_event_id ON outbox (event_id)")
