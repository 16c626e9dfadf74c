"""A bot for runtime tests: counts how often each probe event is processed, echoes it, and takes
one command (`!probe-cmd ARGS`, alias `!pc`) through the bot API's `@command`."""

from __future__ import annotations

from mautrix.types import EventType, MessageEvent
from mautrix.util.async_db import Connection, UpgradeTable

from bridge.bot import Bot, command, on

upgrade_table = UpgradeTable(version_table_name="recorder_version", database_name="recorder")


@upgrade_table.register(description="Processed probes")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("CREATE TABLE recorder_seen (event_id TEXT NOT NULL, body TEXT NOT NULL)")


class RecorderBot(Bot):
    name = "recorder"
    upgrade_table = upgrade_table

    @on(EventType.ROOM_MESSAGE)
    async def record(self, event: MessageEvent) -> None:
        body = event.content.body or ""
        if not body.startswith("probe"):
            return
        if body.startswith("probe-crash"):
            raise RuntimeError("a handler bug")
        await self.ctx.db.execute(
            "INSERT INTO recorder_seen (event_id, body) VALUES ($1, $2)", event.event_id, body
        )
        if body.startswith("probe-echo"):
            content = {"msgtype": "m.notice", "body": f"echo {body}"}
            # The tests DM the fgw ghost; the bridge bot itself is not in those rooms.
            sender = self.ctx.config.ghost_mxid("fgw")
            await self.ctx.send(
                f"{event.event_id}/echo", event.room_id, content, sender=sender
            )

    @command("probe-cmd", aliases=("pc",), help="record the arguments")
    async def probe_command(self, event: MessageEvent, args: str) -> None:
        await self.ctx.db.execute(
            "INSERT INTO recorder_seen (event_id, body) VALUES ($1, $2)", event.event_id,
            f"command:{args}",
        )


async def processed(db_bridge_runtime: object) -> dict[str, int]:
    db = db_bridge_runtime.db  # type: ignore[attr-defined]
    rows = await db.fetch("SELECT event_id, COUNT(*) AS n FROM recorder_seen GROUP BY event_id")
    return {r["event_id"]: r["n"] for r in rows}
