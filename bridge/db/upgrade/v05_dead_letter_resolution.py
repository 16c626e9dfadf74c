from mautrix.util.async_db import Connection

from . import upgrade_table


@upgrade_table.register(description="Dead letters: alerted, retried once, resolved")
async def upgrade_v5(conn: Connection) -> None:
    # alerted_at: the administrators were told (a crash before that tells them after the restart).
    # retried_at: an administrator replayed it; a second replay is refused (exactly once).
    # resolved_at/resolution: a malformed event replayed or discarded by an administrator.
    for table in ("inbox_event", "outbox", "dead_letter"):
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN alerted_at BIGINT")
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN retried_at BIGINT")
    await conn.execute("ALTER TABLE dead_letter ADD COLUMN resolved_at BIGINT")
    await conn.execute("ALTER TABLE dead_letter ADD COLUMN resolution TEXT")
    # Dead letters from before this version are not announced one by one after the upgrade
    # (citizens would hear about messages of days ago); the gauge and `dead-letters list` show them.
    await conn.execute("UPDATE inbox_event SET alerted_at=received_at WHERE state='dead'")
    await conn.execute("UPDATE outbox SET alerted_at=created_at WHERE state='failed'")
    await conn.execute("UPDATE dead_letter SET alerted_at=received_at")
