"""The knowledge bot: keeps the entries in force (hot reload, errors to the administrators),
answers searches for the consultation bot, counts usage, and sends the weekly review list.

The consultation bot reaches it through `knowledge_of(ctx)` (one per runtime, found by the
runtime's roster watcher), so neither bot imports the other's internals and the consultation
bot works unchanged when this one is disabled.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import weakref
from datetime import datetime
from pathlib import Path

from bots.officers.rooms import alias_localpart
from bridge.bot import Bot
from bridge.context import BotContext

from .db import CLOSED_WELL, KnowledgeTables
from .entries import Entry, Knowledge, KnowledgeError
from .messages import MESSAGES
from .search import Hit
from .upgrade import upgrade_table
from .watcher import KnowledgeWatcher

_RUNNING: weakref.WeakKeyDictionary[object, KnowledgeBot] = weakref.WeakKeyDictionary()


def knowledge_of(ctx: BotContext) -> KnowledgeBot | None:
    """The knowledge bot of the runtime `ctx` belongs to, if it runs and has a folder."""
    bot = _RUNNING.get(ctx.rosters)
    return bot if bot is not None and bot.watcher is not None else None


class KnowledgeBot(Bot):
    name = "knowledge"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = KnowledgeTables(ctx.db)
        path = str(ctx.config.get("knowledge.path", "") or "")
        self.watcher: KnowledgeWatcher | None = None
        if path:
            folder = Path(path) if Path(path).is_absolute() else ctx.rosters.base / path
            self.watcher = KnowledgeWatcher(folder, lambda: self.ctx.roster)
            self.watcher.on_error.append(self.refused)
            self.watcher.on_change.append(self.applied)
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        _RUNNING[ctx.rosters] = self

    def now_ms(self) -> int:
        return int(self.ctx.clock.now().timestamp() * 1000)

    @property
    def limit(self) -> int:
        return int(self.ctx.config.get("knowledge.suggestions", 3) or 3)

    async def start(self) -> None:
        if self.watcher is None:
            return
        self._tasks = [asyncio.create_task(self._poll()), asyncio.create_task(self._review_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def roster_changed(self) -> None:
        if self.watcher is not None:  # entries are checked against the departments
            await self.watcher.check_now(force=True)

    async def _poll(self) -> None:
        assert self.watcher is not None
        interval = float(self.ctx.config.get("knowledge.poll_interval", 5) or 5)
        while True:
            try:
                await self.watcher.check_now()
                self._started = True
            except Exception:
                self.ctx.log.exception("Knowledge check failed")
            await asyncio.sleep(interval)

    # Search -----------------------------------------------------------------------------------
    def entry(self, entry_id: str) -> Entry | None:
        return self.watcher.knowledge.entries.get(entry_id) if self.watcher else None

    def belongs(self, entry: Entry, dept_id: str) -> bool:
        """Whether a department may answer with the entry: its own, or its jurisdiction's."""
        dept = self.ctx.roster.departments.get(dept_id)
        place = dept.jurisdiction if dept else None
        return entry.dept_id == dept_id or (entry.dept_id is None and entry.jurisdiction == place)

    async def search(self, dept_id: str, text: str, *, limit: int | None = None,
                     min_score: float | None = None) -> list[Hit]:
        """The department's own and its jurisdiction's shared entries that best match `text`,
        live today (valid_from reached)."""
        if self.watcher is None or not text.strip():
            return []
        index = await self.watcher.ready()
        today = self.ctx.clock.now().astimezone(self.ctx.roster.timezone).date()
        floor = float(self.ctx.config.get("knowledge.min_score", 4.0)) if min_score is None else min_score

        def allow(entry: Entry) -> bool:
            return self.belongs(entry, dept_id) and entry.live(today)

        return index.search(text, limit or self.limit, allow=allow, min_score=floor)

    async def offer(self, scope: str, hits: list[Hit], *, dept_id: str, case_id: int | None,
                    kind: str, key: str) -> None:
        """Number the hits in `scope` and count each as suggested (once per `key`)."""
        now = self.now_ms()
        await self.tables.offer(scope, [h.entry.id for h in hits], now)
        for hit in hits:
            await self.tables.use(f"{key}/{hit.entry.id}", hit.entry.id, dept_id, case_id, kind, now)

    async def offered(self, scope: str, number: int, within_ms: int | None = None) -> Entry | None | bool:
        """The entry numbered `number` in `scope`'s last offer: the Entry, None if the number is
        not offered (or the offer is too old), False if that entry has since been removed."""
        if self.watcher is None:
            return None
        await self.watcher.ready()  # just after a start, the entries are still being loaded
        ids, at = await self.tables.offered(scope)
        if not 1 <= number <= len(ids) or at is None:
            return None
        if within_ms is not None and self.now_ms() - at > within_ms:
            return None
        return self.entry(ids[number - 1]) or False

    async def used(self, key: str, entry: Entry, dept_id: str, case_id: int | None, kind: str) -> None:
        await self.tables.use(key, entry.id, dept_id, case_id, kind, self.now_ms())

    async def case_rated(self, case_id: int, rating: int, key: str) -> None:
        """A case rated 4 or 5 counts as closed well for every entry sent or opened in it."""
        if rating < 4:
            return
        for entry_id, dept_id in await self.tables.answered_with(case_id):
            await self.tables.use(f"{key}/{entry_id}", entry_id, dept_id, case_id, CLOSED_WELL,
                                  self.now_ms())

    # Administrators and supervisors -------------------------------------------------------------
    async def _admin_room(self) -> str | None:
        return await self.ctx.room_by_alias(f"{self.ctx.config.prefix}admins")

    async def refused(self, error: KnowledgeError) -> None:
        room = await self._admin_room()
        if room is None:
            return
        lines = [str(p) for p in error.problems]
        # At start nothing older is in force: the good files went live, the broken ones wait.
        key = "kb.refused" if self._started else "kb.refused_start"
        intro = self.ctx.messages(key, count=len(lines))
        text = intro + "\n" + "\n".join(lines)
        body = f"<p>{html.escape(intro)}</p><pre><code>{html.escape(chr(10).join(lines))}</code></pre>"
        key = "kb/refused/" + hashlib.sha256(text.encode()).hexdigest()[:24]
        await self.ctx.send(key, room, {"msgtype": "m.notice", "body": text,
                                        "format": "org.matrix.custom.html", "formatted_body": body})

    async def applied(self, knowledge: Knowledge) -> None:
        if not self._started:
            return  # the first load at start is no news
        room = await self._admin_room()
        if room is not None:
            await self.ctx.send(f"kb/applied/{knowledge.digest[:24]}", room, {
                "msgtype": "m.notice", "body": self.ctx.messages("kb.applied", count=len(knowledge.entries))})

    async def _review_loop(self) -> None:
        interval = float(self.ctx.config.get("knowledge.review_check_interval", 3600) or 3600)
        while True:
            try:
                if self.watcher is not None:
                    await self.watcher.ready()
                    await self.remind_reviews()
            except Exception:
                self.ctx.log.exception("Knowledge review reminders failed; retrying next round")
            await asyncio.sleep(interval)

    async def remind_reviews(self) -> int:
        """Once a week (ISO week in the roster's time zone, across restarts), each department
        with entries past their review date gets the list in its officers' room, mentioning
        its supervisors. Returns how many departments were told."""
        if self.watcher is None:
            return 0
        roster, now = self.ctx.roster, self.ctx.clock.now()
        local: datetime = now.astimezone(roster.timezone)
        year, week, _ = local.isocalendar()
        week_key = f"{year}-W{week:02d}"
        told = 0
        for dept_id, entries in self.watcher.knowledge.overdue(local.date()).items():
            dept = roster.departments.get(dept_id)
            if dept is None or await self.tables.review_sent(dept_id, week_key):
                continue
            room = await self.ctx.room_by_alias(alias_localpart(self.ctx, dept_id)) or await self._admin_room()
            if room is None:
                continue
            lines = "\n".join(f"· {e.title}（{e.file}，复核日期 {e.review_by}）" for e in entries)
            text = self.ctx.messages("kb.review_due", count=len(entries), lines=lines)
            supervisors = list(dept.supervisors)
            content = {"msgtype": "m.text" if supervisors else "m.notice", "body": text,
                       "m.mentions": {"user_ids": supervisors}}
            await self.ctx.send(f"kb/review/{dept_id}/{week_key}", room, content)
            await self.tables.mark_review_sent(dept_id, week_key, self.now_ms())
            told += 1
        return told
