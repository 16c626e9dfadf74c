"""Keeps each department's account online while someone is on duty, unavailable otherwise.

The original contact list showed each department online or offline; in Matrix that is presence.
A homeserver with default settings takes a user that does not sync back to offline about 30 s
after its last presence update (Synapse: `sync_online_timeout`), so the state is sent again every
`presence.refresh_seconds`. To keep that cheap only departments somebody can see are kept up:
presence is visible to users who share a room with the account, and a citizen sees a department
in a DM. `presence.departments: all` keeps every department up (see docs/benchmark.md for what
each costs the homeserver). Duty changes show within one refresh interval.
"""

from __future__ import annotations

import asyncio

from mautrix.types import PresenceState

from bridge.bot import Bot
from bridge.context import BotContext
from bridge.parallel import bounded, provision_concurrency

from .duty import presence_of
from .messages import MESSAGES

DM_TABLE = "consult_dm"  # the consultation bot's record of citizens' DMs with departments
# How long to wait before asking again whether a homeserver that ignored presence takes it now.
RECHECK_SECONDS = 3600.0


class PresenceBot(Bot):
    name = "presence"
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0  # presence updates sent since start (tests, the benchmark)
        # False once the homeserver was seen to ignore presence (disabled, or "untracked").
        self.homeserver_keeps_presence: bool | None = None

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
            wait = float(self.ctx.config["presence.refresh_seconds"])
            if self.homeserver_keeps_presence is False:
                wait = RECHECK_SECONDS
            await asyncio.sleep(wait)

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
        """Send every watched department's presence now; returns how many were sent."""
        roster, t, now = self.ctx.roster, self.ctx.messages, self.ctx.clock.now()
        depts = await self.watched()
        states = {d: presence_of(d, roster, t, now) for d in depts}
        await bounded(provision_concurrency(self.ctx),
                      (self._send(d, *states[d]) for d in depts))
        if depts and self.homeserver_keeps_presence is not True:
            await self._check_homeserver(depts[0], states[depts[0]][0])
        return len(depts)

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
