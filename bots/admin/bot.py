"""Posts roster errors, roster changes and calendar warnings to the administrators' room."""

from __future__ import annotations

import asyncio
import hashlib
import html
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import RoomCreatePreset

from bridge.bot import Bot
from bridge.context import BotContext
from bridge.roster import RosterError

from .messages import MESSAGES

CHECK_CALENDAR_EVERY = 6 * 3600.0


def notice(text: str, html_body: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.notice", "body": text}
    if html_body is not None:
        content.update(format="org.matrix.custom.html", formatted_body=html_body)
    return content


class AdminBot(Bot):
    name = "admin"
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.room_id: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.room_id = await self._ensure_room()
        self.ctx.rosters.on_error.append(self.roster_refused)
        self._task = asyncio.create_task(self._calendar_loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _ensure_room(self) -> str:
        bot, t = self.ctx.bot_intent, self.ctx.messages
        alias = f"{self.ctx.config.prefix}admins"
        room_id = await self.ctx.room_by_alias(alias)
        if room_id is None:
            room_id = await bot.create_room(
                alias_localpart=alias, preset=RoomCreatePreset.PRIVATE, room_version=self.ctx.rooms.version,
                name=t("admin.room_name"), topic=t("admin.room_topic"),
            )
        admins = list(self.ctx.config["admins"] or [])
        joined = await bot.get_joined_members(room_id) if admins else {}
        for mxid in admins:
            if mxid not in joined:
                try:
                    await bot.invite_user(room_id, mxid)
                except MatrixRequestError as e:
                    self.ctx.log.info("Admin %s not invited: %s", mxid, e)
        return room_id

    async def roster_refused(self, error: RosterError) -> None:
        if self.room_id is None:
            return
        lines = [str(p) for p in error.problems]
        intro = self.ctx.messages("admin.roster_refused", count=len(lines))
        text = intro + "\n" + "\n".join(lines)
        body_html = f"<p>{html.escape(intro)}</p><pre><code>{html.escape(chr(10).join(lines))}</code></pre>"
        key = "admin/roster-refused/" + hashlib.sha256(text.encode()).hexdigest()[:24]
        await self.ctx.send(key, self.room_id, notice(text, body_html))

    async def roster_changed(self) -> None:
        if self.room_id is None:
            return
        roster = self.ctx.roster
        officers = {o.mxid for d in roster.departments.values() for o in d.officers}
        text = self.ctx.messages(
            "admin.roster_applied", departments=len(roster.departments), officers=len(officers)
        )
        await self.ctx.send(f"admin/roster-applied/{roster.fingerprint()}", self.room_id, notice(text))

    async def _calendar_loop(self) -> None:
        while True:
            try:
                await self.check_calendar()
            except Exception:
                self.ctx.log.exception("Calendar check failed")
            await asyncio.sleep(CHECK_CALENDAR_EVERY)

    async def check_calendar(self) -> None:
        """Warn (once per warning per day) when next year's holidays are still unknown."""
        if self.room_id is None:
            return
        roster = self.ctx.roster
        today = self.ctx.clock.now().astimezone(roster.timezone).date()
        for warning in roster.calendar_warnings(today):
            digest = hashlib.sha256(warning.encode()).hexdigest()[:16]
            text = self.ctx.messages("admin.calendar_warning", warning=warning)
            await self.ctx.send(f"admin/calendar/{today.isoformat()}/{digest}", self.room_id, notice(text))
