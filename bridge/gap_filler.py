"""Fetches events the homeserver never pushed.

Synapse queues appservice pushes in memory before it stores them as transactions, so events sent
just before a homeserver restart can be lost to the bridge (seen in this project's
tests/test_consultation.py homeserver-restart test). After a homeserver comes back, and at the
bridge's own start, recently active rooms are read back with /messages until a known event, and
whatever is missing goes into the durable inbox like any pushed event (dedup by event_id).
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

from .db import InboxEvent, InboxTable

log = logging.getLogger("dutyroom.gapfill")

# A lost event may sit behind newer ones that did arrive, so each room is read back over a time
# window, not just to the first known event. Older events are left alone: they were processed
# (or pruned from the inbox, and must not be handled again).
WINDOW_MS = 3600 * 1000
PAGE = 100
MAX_PAGES = 5


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
        on_new_events: Callable[[list[InboxEvent]], None],
        is_own_user: Callable[[str], bool] = lambda _: False,
        check_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.inbox = inbox
        self.homeserver = homeserver.rstrip("/")
        self.as_token = as_token
        self.user_prefix = user_prefix
        self._session = session
        self.on_new_events = on_new_events
        self.is_own_user = is_own_user
        self.check_interval = check_interval
        self._task: asyncio.Task[None] | None = None
        self.filled = 0  # events recovered since start, for tests and metrics

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _reachable(self) -> bool:
        try:
            async with self._session().get(
                f"{self.homeserver}/_matrix/client/versions", timeout=aiohttp.ClientTimeout(total=3)
            ) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def _watch(self) -> None:
        """Fill gaps whenever the homeserver comes back after being unreachable."""
        was_up = True
        while True:
            await asyncio.sleep(self.check_interval)
            up = await self._reachable()
            if up and not was_up:
                log.info("Homeserver is back; reading recent rooms for events it did not push")
                await asyncio.sleep(1)  # let it flush the transactions it did store first
                await self.fill_recent()
            was_up = up

    async def fill_recent(self) -> int:
        """Rooms where people (not only the bridge itself) were active within the window."""
        since = int(time.time() * 1000) - WINDOW_MS
        found = 0
        for room_id in await self.inbox.rooms_with_others(since, self.is_own_user):
            try:
                found += await self.fill_room(room_id)
            except Exception:
                log.exception("Gap fill of %s failed", room_id)
        return found

    async def _reader(self, room_id: str) -> str | None:
        """One of our users joined to the room, to read it as."""
        return await self.db.fetchval(
            "SELECT user_id FROM mx_user_profile WHERE room_id=$1 AND membership='join'"
            " AND user_id LIKE $2 ORDER BY user_id LIMIT 1",
            room_id, f"@{self.user_prefix}%",
        )

    async def fill_room(self, room_id: str) -> int:
        reader = await self._reader(room_id)
        if reader is None:
            return 0
        missing: list[dict[str, Any]] = []
        token: str | None = None
        oldest = int(time.time() * 1000) - WINDOW_MS
        for _ in range(MAX_PAGES):
            chunk, token = await self._page(room_id, reader, token)
            recent = [e for e in chunk if int(e.get("origin_server_ts", 0)) >= oldest]
            known = await self._known([e.get("event_id") for e in recent])
            missing.extend(
                e for e in recent
                if e.get("event_id") not in known
                and not (self.is_own_user(str(e.get("sender"))) and "state_key" not in e)
            )
            if len(recent) < len(chunk) or not token or not chunk:
                break
        if not missing:
            return 0
        missing.reverse()  # /messages pages backwards; the inbox wants oldest first
        for event in missing:
            event.setdefault("room_id", room_id)
        new = await self.inbox.store("gapfill", missing)
        stored = len(missing)
        self.filled += stored
        log.warning("Recovered %d event(s) in %s that the homeserver never pushed", stored, room_id)
        if new:
            self.on_new_events(new)
        return stored

    async def _page(self, room_id: str, reader: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        params = {"dir": "b", "limit": str(PAGE), "user_id": reader}
        if token:
            params["from"] = token
        url = f"{self.homeserver}/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages"
        async with self._session().get(
            url, params=params, headers={"Authorization": f"Bearer {self.as_token}"}
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"/messages {resp.status}: {body}")
        return list(body.get("chunk", [])), body.get("end")

    async def _known(self, event_ids: list[Any]) -> set[str]:
        ids = [e for e in event_ids if isinstance(e, str)]
        if not ids:
            return set()
        placeholders = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
        rows = await self.db.fetch(
            f"SELECT event_id FROM inbox_event WHERE event_id IN ({placeholders})", *ids
        )
        return {row["event_id"] for row in rows}
