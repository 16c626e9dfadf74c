"""Reconciles rooms with the homeserver's timeline: finds events it never pushed, and the order.

Synapse's appservice pushes can miss or reorder events (read synapse/appservice/scheduler.py and
handlers/appservice.py):
- it advances its appservice stream position once events are queued *in memory*, so events
  queued when it is killed are never pushed at all;
- a transaction that fails marks the appservice DOWN and a "recoverer" resends stored
  transactions oldest first; a transaction created while the recoverer finishes (after its last
  look, before it marks the appservice UP) is stored but sent by nobody until a later failure
  starts another recoverer: it arrives minutes later, after newer ones, or never;
- transaction IDs come from one sequence (on SQLite they restart after a homeserver restart), so
  a gap or a step back in them is the visible sign of the above.

Reconciling a room reads it back with /messages (as one of our users joined to it) until an event
already processed, stores whatever is missing in the inbox like a pushed event, and gives every
pending event of the room its timeline position, so the inbox processor handles them in the
room's order whatever order they arrived in. The processor asks for this before it processes a
"suspect" room (see InboxProcessor.suspect): at the bridge's start, while the homeserver is down
and for a while after it comes back, after a transaction-ID anomaly, and for every room with
activity on a schedule (`appservice.reconcile_interval`), so nothing stays stranded without a
sign of trouble. Rooms not suspect are processed as pushed, with no read added.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from mautrix.util.async_db import Database

from .db import InboxTable

log = logging.getLogger("dutyroom.gapfill")

# Events older than this are left alone: they were processed, or pruned from the inbox and must
# not be handled again. It also bounds how far back a stranded event can be recovered.
WINDOW_MS = 3600 * 1000
PAGE = 100
MAX_PAGES = 5
# Rooms read back at once (a start marks every recently active room).
PARALLEL_READS = 8
# Recovered events younger than this were probably just on their way as a push.
LATE_MS = 5000

Suspect = Callable[[list[str], bool], None]


class GapFiller:
    def __init__(
        self,
        db: Database,
        inbox: InboxTable,
        *,
        homeserver: str,
        as_token: str,
        user_prefix: str,
        session: Callable[[], aiohttp.ClientSession],
        suspect: Suspect,
        trouble: Callable[[bool], None] = lambda _: None,
        is_own_user: Callable[[str], bool] = lambda _: False,
        check_interval: float = 1.0,
        reconcile_interval: float = 30.0,
        sweep_every: int = 10,
    ) -> None:
        """`suspect(rooms, deep)` asks the processor to reconcile rooms before processing them;
        `trouble(ongoing)` makes every room with new events suspect until it is called with
        False, and for the processor's after-trouble period after that."""
        self.db = db
        self.inbox = inbox
        self.homeserver = homeserver.rstrip("/")
        self.as_token = as_token
        self.user_prefix = user_prefix
        self._session = session
        self.suspect = suspect
        self.trouble = trouble
        self.is_own_user = is_own_user
        self.check_interval = check_interval
        self.reconcile_interval = reconcile_interval
        self.sweep_every = sweep_every
        self._tasks: list[asyncio.Task[None]] = []
        self._reads = asyncio.Semaphore(PARALLEL_READS)
        self.filled = 0  # events recovered since start, for tests and metrics
        self.reconciled = 0  # rooms read back since start

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._watch()))
        if self.reconcile_interval > 0:
            self._tasks.append(asyncio.create_task(self._schedule()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _reachable(self) -> bool:
        try:
            async with self._session().get(
                f"{self.homeserver}/_matrix/client/versions", timeout=aiohttp.ClientTimeout(total=3)
            ) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def _watch(self) -> None:
        """While the homeserver is down every room with new events is suspect (what arrives
        first after its restart may be newer than what it lost); when it is back, every
        recently active room is read back over the whole window."""
        was_up = True
        while True:
            await asyncio.sleep(self.check_interval)
            up = await self._reachable()
            if not up and was_up:
                log.warning("Homeserver unreachable; rooms will be reconciled when it is back")
                self.trouble(True)
            elif up and not was_up:
                log.info("Homeserver is back; reading rooms back for events it did not push")
                self.trouble(False)
                try:
                    await self.suspect_recent(deep=True)
                    # What it lost from memory may be the first event in a long while there.
                    self.suspect(await self._joined_rooms(), False)
                except Exception:
                    log.exception("Could not list the rooms to read back; the schedule will")
            was_up = up

    async def _schedule(self) -> None:
        """Every interval, the rooms with activity in the last two intervals: an event lost with
        no sign of trouble within an interval of its room's previous activity is found within
        one. Every `sweep_every` passes, every room active within the window (an hour)."""
        passes = 0
        while True:
            await asyncio.sleep(self.reconcile_interval)
            passes += 1
            try:
                sweep = self.sweep_every > 0 and passes % self.sweep_every == 0
                ago_ms = WINDOW_MS if sweep else 2 * self.reconcile_interval * 1000
                since = int(time.time() * 1000 - ago_ms)
                self.suspect(await self.inbox.rooms_with_others(since, self.is_own_user), False)
            except Exception:
                log.exception("Scheduled reconciliation failed; trying again next interval")

    async def suspect_recent(self, deep: bool) -> None:
        """Rooms where people (not only the bridge itself) were active within the window."""
        since = int(time.time() * 1000) - WINDOW_MS
        self.suspect(await self.inbox.rooms_with_others(since, self.is_own_user), deep)

    async def _joined_rooms(self) -> list[str]:
        """Every room one of our users is joined to (after a homeserver restart: one page each,
        eight at a time; the rooms active within the hour were marked for a deep read first)."""
        rows = await self.db.fetch(
            "SELECT DISTINCT room_id FROM mx_user_profile WHERE membership='join'"
            " AND user_id LIKE $1", f"@{self.user_prefix}%",
        )
        return [r["room_id"] for r in rows]

    async def _reader(self, room_id: str) -> str | None:
        """One of our users joined to the room, to read it as."""
        return await self.db.fetchval(
            "SELECT user_id FROM mx_user_profile WHERE room_id=$1 AND membership='join'"
            " AND user_id LIKE $2 ORDER BY user_id LIMIT 1",
            room_id, f"@{self.user_prefix}%",
        )

    async def reconcile(self, room_id: str, deep: bool) -> int:
        """Read the room back and store what is missing; set pending events' timeline positions.
        Returns how many events were recovered. `deep` reads the whole window (after a restart);
        otherwise it stops at the first page that holds an event already processed.
        Raises if the homeserver cannot be read (the caller decides how long to wait)."""
        reader = await self._reader(room_id)
        if reader is None:
            return 0
        async with self._reads:
            return await self._reconcile(room_id, reader, deep)

    async def _reconcile(self, room_id: str, reader: str, deep: bool) -> int:
        self.reconciled += 1
        timeline: list[dict[str, Any]] = []  # newest first, as /messages pages backwards
        token: str | None = None
        oldest = int(time.time() * 1000) - WINDOW_MS
        states: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            chunk, token = await self._page(room_id, reader, token)
            recent = [e for e in chunk
                      if isinstance(e, dict) and isinstance(e.get("event_id"), str)
                      and int(e.get("origin_server_ts", 0) or 0) >= oldest]
            timeline.extend(recent)
            page_states = await self.inbox.states([e["event_id"] for e in recent])
            states.update(page_states)
            reached_processed = any(s != "pending" for s in page_states.values())
            if len(recent) < len(chunk) or not token or not chunk or (reached_processed and not deep):
                break
        timeline.reverse()
        missing = [
            e for e in timeline
            if e["event_id"] not in states
            and not (self.is_own_user(str(e.get("sender"))) and "state_key" not in e)
        ]
        if missing:
            for event in missing:
                event.setdefault("room_id", room_id)
            stored = await self.inbox.store("gapfill", missing)
            now = int(time.time() * 1000)
            late = [e for e in stored if now - int(e.payload.get("origin_server_ts", now)) > LATE_MS]
            self.filled += len(stored)
            if late:
                log.warning("Recovered %d event(s) in %s that the homeserver had not pushed",
                            len(late), room_id)
        # Every event read that was not already processed: one missing when the page was
        # checked may have been pushed since (the store skipped it), and is pending all the same.
        await self.inbox.set_positions({e["event_id"]: i for i, e in enumerate(timeline)
                                        if states.get(e["event_id"], "pending") == "pending"})
        return len(stored) if missing else 0

    async def _page(self, room_id: str, reader: str, token: str | None) -> tuple[list[Any], str | None]:
        params = {"dir": "b", "limit": str(PAGE), "user_id": reader}
        if token:
            params["from"] = token
        url = f"{self.homeserver}/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages"
        async with self._session().get(
            url, params=params, headers={"Authorization": f"Bearer {self.as_token}"},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"/messages {resp.status}: {body}")
        return list(body.get("chunk", [])), body.get("end")
