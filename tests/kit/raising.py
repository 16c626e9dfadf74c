"""A bot with a bug, for dead-letter tests: a message containing "boom" makes its handler raise
until the bug is "fixed" (FIXED is set, as a deployment of a fix would). Fixed, it answers each
such message once, in the DM, under a key named after the event, and records that it did."""

from __future__ import annotations

from typing import ClassVar

from mautrix.types import EventType, MessageEvent
from mautrix.util.async_db import Connection, UpgradeTable

from bridge.bot import Bot, on

upgrade_table = UpgradeTable(version_table_name="raising_version", database_name="raising")


@upgrade_table.register(description="Messages handled once fixed")
async def upgrade_v1(conn: Connection) -> None:
    await conn.execute("CREATE TABLE raising_handled (event_id TEXT NOT NULL)")


class RaisingBot(Bot):
    name = "raising"
    upgrade_table = upgrade_table
    FIXED: ClassVar[bool] = False

    @on(EventType.ROOM_MESSAGE)
    async def handle(self, event: MessageEvent) -> None:
        if "boom" not in (event.content.body or ""):
            return
        if not RaisingBot.FIXED:
            raise RuntimeError("a handler bug (tests.kit.raising)")
        await self.ctx.db.execute("INSERT INTO raising_handled (event_id) VALUES ($1)", event.event_id)
        dm = await self.ctx.db.fetchrow("SELECT dept_id FROM consult_dm WHERE room_id=$1",
                                        event.room_id)
        sender = self.ctx.config.ghost_mxid(dm["dept_id"]) if dm else None
        await self.ctx.send(f"{event.event_id}/raising", event.room_id,
                            {"msgtype": "m.notice", "body": f"fixed: {event.content.body}"},
                            sender=sender)
