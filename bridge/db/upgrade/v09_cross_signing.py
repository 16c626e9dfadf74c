from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Cross-signing keys of the bridge's accounts")
async def upgrade_v9(conn: Connection) -> None:
    # The private cross-signing keys (master, self-signing, user-signing; 32-byte seeds, base64)
    # of the bot and of each department account, so that a device made again later (its keys
    # gone from the homeserver) is signed by the same identity (bridge/crypto/cross_signing.py).
    await conn.execute(
        "CREATE TABLE cross_signing_seeds (account_id TEXT PRIMARY KEY, seeds TEXT NOT NULL)")
