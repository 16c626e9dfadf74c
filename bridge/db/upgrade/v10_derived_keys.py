import json

from mautrix.util.async_db import Connection, Scheme

from . import upgrade_table

# An outbox reference (bridge/outbox_sender.py REFERENCE), as written when this ran.
REFERENCE = "$$outbox:"


@upgrade_table.register(description="Edits and a case's records keyed under what they belong to")
async def upgrade_v10(conn: Connection, scheme: Scheme) -> None:
    # Keyed before after their own event alone, these could not be found by erasing, purging or
    # withdrawing what they belong to, and their words (or a citizen's Matrix ID) stayed:
    # - a relayed edit (relay-in/<edit>) -> <edited message's key>/edit/<edit>
    #   (bots/consultation/relay.py key_edit);
    # - a status edit of a case's root (<event>/root-status) -> <root key>/edit/<its key>;
    # - a `!历史` record or a return's notice in a case's thread (<event>/history, <event>/back),
    #   which repeat the citizen's words -> case/<id>/history/<event>, case/<id>/back/<event>.
    rows = await conn.fetch(
        "SELECT key, content FROM outbox WHERE event_type='m.room.message' AND ("
        " ((key LIKE 'relay-in/%' OR key LIKE 'relay-out/%') AND content LIKE '%m.replace%')"
        " OR key LIKE '%/root-status' OR key LIKE '%/history' OR key LIKE '%/back')")
    for row in rows:
        new = _new_key(row["key"], row["content"])
        if new is not None:
            await conn.execute("UPDATE outbox SET key=$1 WHERE key=$2", new, row["key"])
    if scheme != Scheme.SQLITE:
        # What is keyed under a key is found by a byte-order range (bridge/db/outbox.py
        # OutboxTable.keys_under); the primary key's index follows the database's collation.
        await conn.execute('CREATE INDEX IF NOT EXISTS outbox_key_bytes ON outbox (key COLLATE "C")')


def _new_key(key: str, raw: str) -> str | None:
    try:
        rel = json.loads(raw).get("m.relates_to") or {}
    except (ValueError, AttributeError):
        return None
    target = rel.get("event_id")
    if not isinstance(target, str) or not target.startswith(REFERENCE):
        return None
    target = target.removeprefix(REFERENCE)
    kind, _, rest = key.partition("/")
    if kind in ("relay-in", "relay-out"):
        if "/" in rest or rel.get("rel_type") != "m.replace" or not target.startswith(f"{kind}/"):
            return None  # a part, or already keyed so
        return f"{target}/edit/{rest}"
    event, _, suffix = key.rpartition("/")
    if suffix == "root-status" and rel.get("rel_type") == "m.replace" and target.startswith("case/"):
        return f"{target}/edit/{key}"
    if suffix in ("history", "back") and rel.get("rel_type") == "m.thread" and target.startswith("case/"):
        return f"case/{target.split('/')[1]}/{suffix}/{event}"
    return None
