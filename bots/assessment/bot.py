"""The assessment bot (考核): `!考核` in the administrators' room, the weekly bulletin and the
monthly report there (and by mail), topic counts for 热点, and per-department metrics.

Every figure comes from figures.compute. The administrators' rooms are the admin bot's; they are
found by their aliases (bots/admin/routing.py); a jurisdiction's own room sees its figures only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from mautrix.types import EventType, MessageEvent, MessageType

from bots.admin.routing import alias_of, known_room
from bridge.avatars import find_font
from bridge.bot import Bot, command, on
from bridge.context import BotContext
from bridge.crypto.media import encrypt_file
from bridge.mail import OutgoingMail

from . import render, schedule
from .db import AssessTables
from .figures import Report, compute
from .messages import MESSAGES
from .metrics import CaseMetrics
from .periods import FORMS, Period, PeriodError, month_of, parse_period
from .settings import AssessSettings
from .topics import terms
from .upgrade import upgrade_table

CHECK_SECONDS = 60.0
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AssessmentBot(Bot):
    name = "assessment"
    messages = MESSAGES
    upgrade_table = upgrade_table

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = AssessTables(ctx.db)
        self.metrics = CaseMetrics(ctx)
        self._room: str | None = None
        self._cases: bool | None = None
        self._task: asyncio.Task[None] | None = None

    def t(self, key: str, **fields: Any) -> str:
        return self.ctx.messages(key, **fields)

    def settings(self) -> AssessSettings:
        return AssessSettings.from_config(self.ctx.config)

    def now(self) -> datetime:
        return self.ctx.clock.now().astimezone(self.ctx.roster.timezone)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.metrics.unregister()

    async def admin_room(self) -> str | None:
        if self._room is None:
            self._room = await self.ctx.room_by_alias(f"{self.ctx.config.prefix}admins")
        return self._room

    async def admin_rooms(self) -> dict[str, str | None]:
        """Administrators' room → the jurisdiction it sees (None: the province's, everything).
        A jurisdiction with its own `admins:` has its own room (bots/admin/routing.py), which
        gets that jurisdiction's figures and bulletins only."""
        rooms: dict[str, str | None] = {}
        province = await self.admin_room()
        if province is not None:
            rooms[province] = None
        for jid, jurisdiction in self.ctx.roster.jurisdictions.items():
            if jurisdiction.admins:
                room = known_room(self.ctx, jid) or await self.ctx.room_by_alias(alias_of(self.ctx, jid))
                if room is not None:
                    rooms[room] = jid
        return rooms

    def _within(self, scope: str, jurisdiction: str) -> bool:
        """Whether a department or jurisdiction id lies in `jurisdiction` (or below it)."""
        roster = self.ctx.roster
        own = roster.jurisdiction_of(scope)
        return own is not None and jurisdiction in roster.jurisdiction_chain(own)

    async def _loop(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                self.ctx.log.exception("Assessment check failed; trying again next round")
            await asyncio.sleep(CHECK_SECONDS)

    async def check(self) -> None:
        """Post the bulletins that are due and refresh the metrics (the tests call this)."""
        if self.ctx.config["metrics.enabled"]:
            await self.metrics.refresh()
        if not self.ctx.config.get("assessment.bulletins", True):
            return
        c = self.ctx.config
        installed = await self.tables.installed_at(int(self.ctx.clock.now().timestamp() * 1000))
        for kind, period in schedule.due(
                self.now(), self.ctx.roster.is_working_day,
                weekly_weekday=int(c["assessment.weekly_weekday"]), weekly_time=str(c["assessment.weekly_time"]),
                monthly_day=int(c["assessment.monthly_day"]), monthly_time=str(c["assessment.monthly_time"])):
            if period.bounds(self.ctx.roster.timezone)[1].timestamp() * 1000 <= installed:
                continue  # ended before this bridge counted anything: not reported on a new install
            await self.bulletin(kind, period)

    async def bulletin(self, kind: str, period: Period) -> bool:
        """Post one bulletin, once ever (assess_bulletin), with the change from the period
        before; mailed too when `assessment.mail_to` lists addresses. A jurisdiction with its
        own administrators' room gets its own bulletin there, of its departments only."""
        posted = False
        for room, jid in (await self.admin_rooms()).items():
            if jid is not None:
                posted = await self._jurisdiction_bulletin(kind, period, room, jid) or posted
        room = await self.admin_room()
        now_ms = int(self.ctx.clock.now().timestamp() * 1000)
        if room is None or not await self.tables.claim_bulletin(kind, period.label, now_ms):
            return posted
        title = self.t(f"assess.{kind}_title", period=period.label, scope="全省")
        report, text = await self.reading(period, None, title)
        key = f"assessment/{kind}/{period.label}"
        await self.post(key, room, report, title, text)
        if self.ctx.mail is not None:
            for i, address in enumerate(self.ctx.config.get("assessment.mail_to", []) or []):
                await self.ctx.mail.queue(OutgoingMail(
                    key=f"{key}/mail/{i}", to=str(address), to_name=str(address), subject=title,
                    text=text, attachments=[(f"{period.label}.xlsx", XLSX, render.to_xlsx(report, title)),
                                            (f"{period.label}.csv", "text/csv", render.to_csv(report))]))
        await self.tables.bulletin_sent(kind, period.label, now_ms)
        return True

    async def _jurisdiction_bulletin(self, kind: str, period: Period, room: str, jid: str) -> bool:
        now_ms = int(self.ctx.clock.now().timestamp() * 1000)
        if not await self.tables.claim_bulletin(f"{kind}/{jid}", period.label, now_ms):
            return False
        name = self.ctx.roster.jurisdictions[jid].name
        title = self.t(f"assess.{kind}_title", period=period.label, scope=name)
        report, text = await self.reading(period, jid, title)
        await self.post(f"assessment/{kind}/{jid}/{period.label}", room, report, title, text)
        await self.tables.bulletin_sent(f"{kind}/{jid}", period.label, now_ms)
        return True

    async def reading(self, period: Period, scope: str | None, title: str) -> tuple[Report, str]:
        """The period's report and its text: summary, change from the previous period, 热点."""
        roster, settings = self.ctx.roster, self.settings()
        now = self.now()
        start, end = period.bounds(roster.timezone)
        report = await compute(self.ctx.db, roster, settings, start, end, scope, asof=now)
        p_start, p_end = period.previous().bounds(roster.timezone)
        previous = await compute(self.ctx.db, roster, settings, p_start, p_end, scope, asof=now)
        text = render.summary(report, title, self.t, previous)
        c = self.ctx.config
        hot = await self.tables.top_terms(
            [f.dept_id for f in report.departments if f.dept_id], period.first.isoformat(),
            period.end.isoformat(), int(c.get("assessment.hot_topics", 10) or 10),
            int(c.get("assessment.hot_min_cases", 3) or 1))
        stop = set(c.get("assessment.hot_stop_words", []) or [])
        hot = [(w, n) for w, n in hot if w not in stop]
        text += "\n" + (self.t("assess.hot", topics="、".join(f"{w}（{n}）" for w, n in hot))
                        if hot else self.t("assess.no_hot"))
        return report, text

    async def post(self, key: str, room: str, report: Report, title: str, text: str) -> None:
        """The reading, a chart and the full table as xlsx and csv, each sent once per key."""
        await self.ctx.send(key, room, {"msgtype": "m.notice", "body": text + "\n" + self.t("assess.attachments")})
        chart = await asyncio.to_thread(render.chart_png, report, title, find_font(
            str(self.ctx.config.get("avatars.font", "") or "")))
        stem = title.replace(" ", "_")
        for suffix, mime, data, msgtype in (
                ("chart.png", "image/png", chart, MessageType.IMAGE),
                ("xlsx", XLSX, render.to_xlsx(report, title), MessageType.FILE),
                ("csv", "text/csv", render.to_csv(report), MessageType.FILE)):
            name = f"{stem}.{suffix.split('.')[-1]}"
            await self.ctx.send(f"{key}/{suffix}", room, {
                "msgtype": str(msgtype), "body": name, "filename": name,
                **await self._upload(room, data, mime, name),
                "info": {"mimetype": mime, "size": len(data)}})

    async def _upload(self, room: str, data: bytes, mime: str, name: str) -> dict[str, Any]:
        intent = self.ctx.bot_intent
        if self.ctx.encryption is not None and await self.ctx.encryption.is_encrypted(room, intent.mxid):
            ciphertext, file = encrypt_file(data)  # the key travels inside the encrypted event
            url = await intent.upload_media(ciphertext, mime_type="application/octet-stream")
            return {"file": {**file, "url": str(url)}}
        return {"url": str(await intent.upload_media(data, mime_type=mime, filename=name))}

    @command("考核", aliases=("assessment",), help="考核 [时段] [地区或部门]")
    async def report_command(self, event: MessageEvent, args: str) -> None:
        rooms = await self.admin_rooms()
        if event.room_id not in rooms:
            return  # figures are for the administrators' rooms only
        room, own = event.room_id, rooms[event.room_id]
        key = f"assessment/cmd/{event.event_id}"
        period, scope = month_of(self.now().date().replace(day=1) - timedelta(days=1)), own
        for word in args.split():
            try:
                period = parse_period(word)
            except PeriodError as e:
                if any(ch.isdigit() for ch in word[:4]) and word[:4].isdigit():
                    await self.ctx.send(key, room, {"msgtype": "m.notice", "body": self.t(
                        "assess.bad_period", error=str(e).split("（")[0], forms=FORMS)})
                    return
                scope = word
        roster = self.ctx.roster
        if scope is not None and scope not in roster.departments and scope not in roster.jurisdictions:
            await self.ctx.send(key, room, {"msgtype": "m.notice", "body": self.t("assess.bad_scope", scope=scope)})
            return
        if own is not None and scope is not None and not self._within(scope, own):
            # A city's administrators see their city's figures, not another's or the province's.
            await self.ctx.send(key, room, {"msgtype": "m.notice", "body": self.t(
                "assess.not_yours", scope=scope, own=roster.jurisdictions[own].name)})
            return
        name = "全省" if scope is None else (roster.departments[scope].name if scope in roster.departments
                                           else roster.jurisdictions[scope].name)
        title = self.t("assess.title", period=period.label, scope=name)
        try:
            report, text = await self.reading(period, scope, title)
        except Exception as e:  # told, not retried forever: the administrator can ask again
            self.ctx.log.exception("Assessment report for %s failed", args)
            await self.ctx.send(key, room, {"msgtype": "m.notice", "body": self.t("assess.failed", error=type(e).__name__)})
            return
        await self.post(key, room, report, title, text)

    @on(EventType.ROOM_MESSAGE)
    async def count_topics(self, event: MessageEvent) -> None:
        """A citizen's question that opened a case adds its words to the 热点 counts."""
        content = event.content
        if getattr(content, "msgtype", None) != MessageType.TEXT or not content.body:
            return
        if self._cases is None:  # a bridge without the consultation bot has no cases to count
            self._cases = await self.ctx.db.table_exists("consult_case")
        if not self._cases:
            return
        row = await self.ctx.db.fetchrow(
            "SELECT dept_id, opened_at FROM consult_case WHERE opened_by_event=$1", event.event_id)
        if row is None:
            return
        extra = frozenset(self.ctx.config.get("assessment.hot_stop_words", []) or [])
        words = await asyncio.to_thread(terms, content.body, extra)
        day = datetime.fromtimestamp(row["opened_at"] / 1000, self.ctx.roster.timezone).date().isoformat()
        await self.tables.count_terms(event.event_id, row["dept_id"], day, words)
