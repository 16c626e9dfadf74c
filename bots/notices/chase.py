"""Chasing: departments that have not acknowledged are reminded `notices.remind_before_hours`
working hours before the deadline; once it has passed, each one's supervisors are told in its
room, the sender gets the list and so do the administrators' rooms (a city's of its own
departments). Each step happens once per notice: its sends are queued under
keys of their own first and the step recorded after, so a restart in between repeats nothing
(the outbox keeps one row per key) and skips nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.admin.routing import post_grouped_to_admins

from .db import CLOSED, Notice

if TYPE_CHECKING:
    from .bot import NoticesBot


class Chaser:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables
        self.reminded = 0  # notices whose reminder step ran since start (tests)
        self.overdue = 0

    async def check(self) -> None:
        now = self.bot.now_ms()
        for notice in await self.tables.due(now):
            if now >= notice.deadline:
                if not await self.tables.step_done(f"notice/{notice.id}/overdue"):
                    await self._overdue(notice, now)
                else:  # reported before a crash that came before it was closed
                    await self.tables.set_status(notice.id, CLOSED)
            elif now >= notice.remind_at:
                if not await self.tables.step_done(f"notice/{notice.id}/remind"):
                    await self._remind(notice, now)

    async def _missing(self, notice: Notice) -> list[str]:
        """Departments that owe a receipt: not those the roster has dropped since (nobody is
        left to give it; the tally lists them apart)."""
        receipts, roster = await self.tables.receipts(notice.id), self.ctx.roster
        return [d for d in notice.copies if d not in receipts and d in roster.departments]

    def _mention(self, text: str, people: list[str]) -> dict[str, Any]:
        return {"msgtype": "m.text", "body": text, "m.mentions": {"user_ids": sorted(set(people))}}

    async def _remind(self, notice: Notice, now: int) -> None:
        t, deadline = self.ctx.messages, self.bot.delivery.when(notice.deadline)
        for dept_id in await self._missing(notice):
            dept = self.ctx.roster.departments.get(dept_id)
            people = [o.mxid for o in dept.officers] if dept else []
            text = t("notices.remind", ref=notice.ref, title=notice.title, deadline=deadline)
            await self.ctx.send(f"notice/{notice.id}/remind/{dept_id}", notice.copies[dept_id],
                                self._mention(text, people), sender=self.ctx.config.bot_mxid)
        await self.tables.record_step(f"notice/{notice.id}/remind", now)
        self.reminded += 1

    async def _overdue(self, notice: Notice, now: int) -> None:
        t, names = self.ctx.messages, self.bot.delivery.dept_name
        missing = await self._missing(notice)
        for dept_id in missing:
            dept = self.ctx.roster.departments.get(dept_id)
            supervisors = list(dept.supervisors) if dept else []
            text = t("notices.overdue_room", ref=notice.ref, title=notice.title,
                     deadline=self.bot.delivery.when(notice.deadline))
            await self.ctx.send(f"notice/{notice.id}/overdue/{dept_id}", notice.copies[dept_id],
                                self._mention(text, supervisors), sender=self.ctx.config.bot_mxid)
        if missing:
            text = t("notices.overdue_sender", ref=notice.ref, title=notice.title,
                     count=len(missing), names="、".join(names(d) for d in missing))
            await self.ctx.send(f"notice/{notice.id}/overdue-sender", notice.sender_room,
                                {"msgtype": "m.text", "body": text}, sender=self.bot.mxid)

            def report(depts: list[str | None]) -> dict[str, Any]:
                return {"msgtype": "m.notice", "body": t(
                    "notices.overdue_admins", ref=notice.ref, title=notice.title,
                    deadline=self.bot.delivery.when(notice.deadline), count=len(depts),
                    names="、".join(names(d) for d in depts if d))}
            # The administrators hear of it too: the province's of all, a city's of its own.
            await post_grouped_to_admins(self.ctx, f"notice/{notice.id}/overdue-admins",
                                         list(missing), report)
        await self.tables.record_step(f"notice/{notice.id}/overdue", now)
        await self.tables.set_status(notice.id, CLOSED)
        self.overdue += 1
