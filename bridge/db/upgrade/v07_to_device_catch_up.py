from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="To-device messages read back from the bot device's inbox")
async def upgrade_v7(conn: Connection) -> None:
    # Digests of the to-device messages already handled (pushed or read back), so that one read
    # back is not handled twice (bridge/crypto/to_device.py); kept a week.
    await conn.execute(
        "CREATE TABLE to_device_seen (digest TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)"
    )
    # The /sync token of the bot device's inbox: what the homeserver may delete.
    await conn.execute("CREATE TABLE to_device_sync (id INTEGER PRIMARY KEY, since TEXT NOT NULL)")
