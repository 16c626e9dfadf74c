"""Where a relayed message's time goes, hop by hop, read back from Synapse's and the bridge's
databases after a run: when Synapse stamped and stored the source event, when the bridge stored it
from the appservice push, when it queued the relay, and when Synapse stamped and stored the copy.

All are wall-clock milliseconds from one machine, so differences between them are comparable.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from mautrix.util.async_db import Database

from bench.stats import percentile

HOPS = (
    ("source_stored", "the sender's event stored by Synapse (after its origin_server_ts)"),
    ("push_to_bridge", "…until the bridge stored it from the appservice push"),
    ("bridge_processing", "…until the bridge queued the relay"),
    ("send_started", "…until Synapse stamped the relayed copy (HTTP and queueing included)"),
    ("copy_stored", "…until Synapse stored the copy"),
)


def _synapse_events(path: Path, marker_prefix: str) -> dict[str, tuple[int, int]]:
    """event_id → (origin_server_ts, received_ts) of the messages whose body has the prefix."""
    found: dict[str, tuple[int, int]] = {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT e.event_id, e.origin_server_ts, e.received_ts, j.json FROM events e"
            " JOIN event_json j USING (event_id) WHERE e.type='m.room.message'")
        for event_id, origin, received, raw in rows:
            body = json.loads(raw).get("content", {}).get("body", "")
            if isinstance(body, str) and marker_prefix in body:
                found[event_id] = (int(origin), int(received))
    return found


async def relay_breakdown(synapse_db: Path, bridge_db_url: str, kind: str,
                          marker_prefix: str) -> dict[str, Any]:
    """`kind` is "relay-in" (citizen → officers) or "relay-out" (officer → citizen)."""
    events = _synapse_events(synapse_db, marker_prefix)
    db = Database.create(bridge_db_url)
    await db.start()
    try:
        stored = {r["event_id"]: int(r["received_at"]) for r in await db.fetch(
            "SELECT event_id, received_at FROM inbox_event")}
        relays = await db.fetch(
            "SELECT key, created_at, event_id FROM outbox WHERE key LIKE $1 AND event_id IS NOT NULL",
            kind + "/%")
    finally:
        await db.stop()
    hops: dict[str, list[float]] = {name: [] for name, _ in HOPS}
    for row in relays:
        source, copy = row["key"].split("/", 1)[1], row["event_id"]
        if source not in events or copy not in events or source not in stored:
            continue
        (origin, received), (copy_origin, copy_received) = events[source], events[copy]
        queued = int(row["created_at"])
        for name, value in zip((name for name, _ in HOPS), (
                received - origin, stored[source] - received, queued - stored[source],
                copy_origin - queued, copy_received - copy_origin), strict=True):
            hops[name].append(value)
    return {"messages": len(hops["source_stored"]),
            **{name: {"p50_ms": percentile(v, 50), "p90_ms": percentile(v, 90)}
               for name, v in hops.items()}}
