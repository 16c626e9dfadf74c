"""Out of hours: one honest auto-reply per off-period, leave-messages held, and the backlog
delivered to the officers' room when duty starts, oldest first."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bridge.roster.text import moment_text

from .db import Case

if TYPE_CHECKING:
    from .bot import ConsultationBot


class OffHours:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    def is_open(self, dept_id: str, at: datetime | None = None) -> bool:
        return self.ctx.roster.is_open(dept_id, at or self.bot.now())

    def opening_text(self, dept_id: str) -> str:
        """When the department next opens, as the citizen and the officers read it ("今天 14:00")."""
        roster = self.ctx.roster
        return self.when(roster.next_opening(dept_id, self.bot.now().astimezone(roster.timezone)))

    def when(self, opening: datetime | None) -> str:
        """An opening the caller already looked up, read the same way (None: "the next shift")."""
        roster, t = self.ctx.roster, self.ctx.messages
        if opening is None:
            return t("officer.next_shift")
        local = self.bot.now().astimezone(roster.timezone)
        return moment_text(opening.astimezone(roster.timezone), local, t.language)

    async def auto_reply(self, case: Case, content: dict[str, Any]) -> None:
        """Answer once per off-period: the key names the period by its next opening."""
        if content.get("msgtype") == "m.notice":
            return  # notices come from bots; answering them is how reply loops start
        roster, t, now = self.ctx.roster, self.ctx.messages, self.bot.now()
        dept = roster.departments.get(case.dept_id)
        if dept is None:
            return
        local = now.astimezone(roster.timezone)
        opening = roster.next_opening(case.dept_id, local)
        hours = roster.hours_text(case.dept_id, t.language)
        if roster.is_working_time(case.dept_id, local):
            text = t("consult.unstaffed", dept=dept.name, ref=case.ref)
        elif opening is None:
            text = t("consult.off_hours_no_opening", dept=dept.name, hours=hours, ref=case.ref)
        else:
            text = t("consult.off_hours", dept=dept.name, hours=hours, ref=case.ref,
                     next=self.when(opening))
        period = opening.isoformat() if opening else "none"
        key = f"{case.dm_room}/off-hours/{period}"
        if not await self.ctx.outbox.table.target_of(key):  # answered once per off-period
            text += await self.bot.kb.citizen_suggestions(case, str(content.get("body", "")), key)
        await self.ctx.send(key, case.dm_room,
                            self.bot.say(text), sender=self.ctx.config.ghost_mxid(case.dept_id))

    async def keep(self, event_id: str, case: Case, relayed: dict[str, Any]) -> None:
        """A message of a waiting case is kept, ready to go into its thread at opening."""
        await self.tables.add_pending(event_id, case.id, json.dumps(relayed, ensure_ascii=False))

    async def deliver_backlog(self) -> None:
        """At the start of duty, every waiting case goes to its officers' room, oldest first."""
        by_dept: dict[str, list[Case]] = {}
        for case in await self.tables.waiting_cases():
            by_dept.setdefault(case.dept_id, []).append(case)
        now = self.bot.now()
        for dept_id, cases in by_dept.items():
            if not self.is_open(dept_id, now):
                continue
            await self._deliver(dept_id, cases, now)

    async def _deliver(self, dept_id: str, cases: list[Case], now: datetime) -> None:
        roster, t = self.ctx.roster, self.ctx.messages
        room = await self.bot.officers_room(dept_id)
        if room is None:
            return
        oldest = datetime.fromtimestamp(cases[0].opened_at / 1000, roster.timezone)
        summary = t("officer.backlog", count=len(cases), since=oldest.strftime("%Y-%m-%d %H:%M"))
        content = self.bot.notice(summary)
        on_duty = [o.mxid for o in roster.on_duty(dept_id, now)]
        if on_duty:
            content.update(msgtype="m.text", **{"m.mentions": {"user_ids": on_duty}})
        await self.ctx.send(f"backlog/{dept_id}/{cases[0].id}", room, content)
        now_ms = self.bot.now_ms()
        for case in cases:
            pending = await self.tables.pending(case.id)
            first = json.loads(pending[0][1]).get("body", "") if pending else ""
            await self.bot.officers.post_root(case, str(first).split("：", 1)[-1])
            for event_id, stored in pending:
                relayed = json.loads(stored)
                await self.ctx.send(f"relay-in/{event_id}", case.officers_room, relayed)
            if not pending and not await self.ctx.db.fetchval(
                    "SELECT COUNT(*) FROM consult_held WHERE case_id=$1", case.id):
                # Everything the citizen left was retracted: said, so the case is not a puzzle.
                await self.bot.officers.thread_notice(case, f"backlog/{case.id}/all-retracted",
                                                      t("officer.all_retracted", ref=case.ref))
            await self.tables.released(case.id, now_ms)
            # A message kept while this ran (the citizen's handler saw the case still waiting):
            # passed on now (keyed: the ones above are not sent twice).
            for event_id, stored in await self.tables.pending(case.id):
                await self.ctx.send(f"relay-in/{event_id}", case.officers_room, json.loads(stored))
