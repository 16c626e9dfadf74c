import json

from mautrix.util.async_db import Connection

from . import upgrade_table

# An outbox reference (bridge/outbox_sender.py REFERENCE), as written when this ran.
REFERENCE = "$$outbox:"


@upgrade_table.register(description="Relayed edits keyed under the message they edit")
async def upgrade_v10(conn: Connection) -> None:
    # Edits relayed before were keyed after the edit event alone (relay-in/<edit>), so erasing,
    # purging or withdrawing the edited message could not find them and their words stayed. Now
    # they are <edited message's key>/edit/<edit> (bots/consultation/relay.py key_edit).
    rows = await conn.fetch(
        "SELECT key, content FROM outbox WHERE (key LIKE 'relay-in/%' OR key LIKE 'relay-out/%')"
        " AND event_type='m.room.message' AND content LIKE '%m.replace%'")
    for row in rows:
        kind, _, edit_event = row["key"].partition("/")
        if "/" in edit_event:
            continue  # a part or already keyed so
        try:
            rel = json.loads(row["content"]).get("m.relates_to") or {}
        except ValueError:
            continue
        target = rel.get("event_id") if rel.get("rel_type") == "m.replace" else None
        if not isinstance(target, str) or not target.startswith(f"{REFERENCE}{kind}/"):
            continue
        await conn.execute("UPDATE outbox SET key=$1 WHERE key=$2",
                           f"{target.removeprefix(REFERENCE)}/edit/{edit_event}", row["key"])
