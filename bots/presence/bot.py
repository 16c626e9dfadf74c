"""Keeps each department's account online while someone is on duty, unavailable otherwise.

The original contact list showed each department online or offline; in Matrix that is presence.
A homeserver with default settings takes a user that does not sync back to offline soon after
its last presence update (Synapse: at its next presence timer, 30 s `sync_online_timeout`
checked at the 60 s `last_active_granularity`), so the state is sent again every
`presence.refresh_seconds` (20). To keep that cheap only departments somebody can see are kept up:
presence is visible to users who share a room with the account, and a citizen sees a department
in a DM. `presence.departments: all` keeps every department up (see docs/benchmark.md for what
each costs the homeserver). Duty changes show within one refresh interval.
"""

from __future__ import annotations

import asyncio
import time

from mautrix.errors import MatrixRequestError
from mautrix.types import PresenceState

from bridge.bot import Bot
from bridge.context import BotContext
from bridge.parallel import bounded, provision_concurrency

from .db import CASE_TABLE, DM_TABLE, TopicTable
from .duty import presence_of
from .messages import MESSAGES
from .upgrade import upgrade_table

DAY_MS = 86_400_000
# How long to wait before asking again whether a homeserver that ignored presence takes it now.
RECHECK_SECONDS = 3600.0


class PresenceBot(Bot):
    name = "presence"
    messages = MESSAGES
    upgrade_table = upgrade_table

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0  # presence updates sent since start (tests, the benchmark)
        # False once the homeserver was seen to ignore presence (disabled, or "untracked").
        self.homeserver_keeps_presence: bool | None = None
        self._checked_at = 0.0  # monotonic time of the last presence check
        self.topics = TopicTable(ctx.db)
        self._no_topic: set[str] = set()  # DMs where the department may not set the topic
        # One refresh at a time: two (the loop's and a roster change's) would both find a DM's
        # topic out of date and both set it, a second topic-change line in the citizen's chat.
        self._refreshing = asyncio.Lock()

    async def start(self) -> None:
        if self.ctx.config["presence.enabled"]:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def roster_changed(self) -> None:
        if self.ctx.config["presence.enabled"]:
            await self.refresh()

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                self.ctx.log.exception("Presence refresh failed; retrying next round")
            await asyncio.sleep(float(self.ctx.config["presence.refresh_seconds"]))

    async def watched(self) -> list[str]:
        """The departments whose presence someone can see (all, if configured so)."""
        roster = self.ctx.roster
        if self.ctx.config["presence.departments"] == "all":
            return list(roster.departments)
        if not await self.ctx.db.table_exists(DM_TABLE):
            return []
        rows = await self.ctx.db.fetch(f"SELECT DISTINCT dept_id FROM {DM_TABLE}")
        return sorted(r["dept_id"] for r in rows if r["dept_id"] in roster.departments)

    async def refresh(self) -> int:
        """Send every watched department's presence now, and set the topic of its recent DMs
        where it is out of date (_dm_topics); returns how many presences were sent (0 while the
        homeserver keeps none: asked again hourly)."""
        async with self._refreshing:
            return await self._refresh()

    async def _refresh(self) -> int:
        roster, t, now = self.ctx.roster, self.ctx.messages, self.ctx.clock.now()
        depts = await self.watched()
        states = {d: presence_of(d, roster, t, now) for d in depts}
        limit = provision_concurrency(self.ctx)
        if self.ctx.config["presence.dm_topics"] and depts:
            await bounded(limit, (self._dm_topics(d, states[d][1]) for d in depts))
        recheck = time.monotonic() - self._checked_at >= RECHECK_SECONDS
        if self.homeserver_keeps_presence is False and not recheck:
            return 0
        await bounded(limit, (self._send(d, *states[d]) for d in depts))
        if depts and self.homeserver_keeps_presence is not True:
            self._checked_at = time.monotonic()
            await self._check_homeserver(depts[0], states[depts[0]][0])
        return len(depts)

    async def _dm_topics(self, dept_id: str, status: str) -> None:
        """A DM has no room list entry of its own to show the department's state, and older
        clients show no presence: its topic says the department's hours (DMs with a case in
        the last `presence.dm_topic_days` days; a restart sends only what changed). Live
        (`presence.dm_topic_live`), it says the presence's line instead; but every change of a
        topic is a line in the citizen's conversation (in Element: up to four a day)."""
        if not await self.ctx.db.table_exists(CASE_TABLE):
            return
        dept = self.ctx.roster.departments.get(dept_id)
        if dept is None:
            return
        t = self.ctx.messages
        topic = t("presence.dm_topic", name=dept.name, status=status) \
            if self.ctx.config["presence.dm_topic_live"] else \
            t("presence.dm_topic_hours", name=dept.name, hours=self.ctx.roster.hours_text(dept_id, t.language))
        days = float(self.ctx.config["presence.dm_topic_days"])
        since = int(self.ctx.clock.now().timestamp() * 1000 - days * DAY_MS)
        ghost = self.ctx.ghost(dept_id)
        for room_id, last in (await self.topics.recent_dms(dept_id, since)).items():
            if last == topic or room_id in self._no_topic:
                continue
            try:
                await ghost.set_room_topic(room_id, topic)
            except MatrixRequestError as e:  # e.g. a DM whose creator kept the power to itself
                self.ctx.log.info("Department %s may not set the topic of %s: %s", dept_id,
                                  room_id, e)
                self._no_topic.add(room_id)
                continue
            await self.topics.save(room_id, topic)

    async def _send(self, dept_id: str, state: PresenceState, status: str) -> None:
        # ignore_cache: the point is to repeat it before the homeserver times it out.
        await self.ctx.ghost(dept_id).set_presence(state, status, ignore_cache=True)
        self.sent += 1

    async def _check_homeserver(self, dept_id: str, expected: PresenceState) -> None:
        """Say so, once, when the homeserver does not keep what was set (presence disabled or
        `untracked`), and send less until it does."""
        ghost = self.ctx.ghost(dept_id)
        found = await ghost.get_presence(ghost.mxid)
        keeps = found.presence == expected
        if not keeps and self.homeserver_keeps_presence is not False:
            self.ctx.log.warning(
                "The homeserver does not keep presence set by the bridge (it reports %s for %s "
                "after %s was set): enable presence in its config (Synapse: presence.enabled: "
                "true). Asking again every %d s.",
                found.presence, ghost.mxid, expected, RECHECK_SECONDS,
            )
        self.homeserver_keeps_presence = keeps
