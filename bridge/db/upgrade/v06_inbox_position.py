from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Timeline position of pending events; find recent rooms fast")
async def upgrade_v6(conn: Connection) -> None:
    # Set when a room is reconciled with the homeserver's timeline (bridge/gap_filler.py):
    # pending events are then processed in the room's order, not in the order they arrived.
    await conn.execute("ALTER TABLE inbox_event ADD COLUMN position BIGINT")
    # The scheduled reconciliation asks for rooms active since its last pass.
    await conn.execute("CREATE INDEX inbox_event_received ON inbox_event (received_at)")
