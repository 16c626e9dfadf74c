from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="A to-device inbox token per encryption device")
async def upgrade_v8(conn: Connection) -> None:
    # Each department account has an encryption device of its own (bridge/crypto/ghosts.py), and
    # each device an inbox: one /sync token per device's account. '' is the bot's.
    await conn.execute(
        "CREATE TABLE to_device_since (account_id TEXT PRIMARY KEY, since TEXT NOT NULL)")
    await conn.execute(
        "INSERT INTO to_device_since (account_id, since) SELECT '', since FROM to_device_sync")
    await conn.execute("DROP TABLE to_device_sync")
