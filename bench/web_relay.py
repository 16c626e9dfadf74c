"""The web site's load beside the relay itself (issue #19): citizens' messages going through the
bridge into an officers' room while 50 clients load a page.

One department of the synthetic roster is staffed by one officer (so it alone gets an officers'
room); `CITIZENS` citizens each open a DM with its account and a case, then send numbered
messages in turn, each `SPACING_S` after the last send returned, for as long as the web load
runs. The officer's long-poll sees each copy arrive in the case's thread: the relay's latency
with and without the site under load, and every message counted (lost / doubled) in the room's
whole server-side history.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.relay import Watcher, tally, watcher
from bench.stack import Stack
from bench.stats import summary_ms

CITIZENS = 3
SPACING_S = 0.25  # per citizen: about 12 relayed messages a second in all


@dataclass
class RelayBeside:
    officer: Watcher
    room: str
    citizens: list[tuple[Watcher, str]]  # (citizen, DM)
    tag: str
    rounds: int = 0

    async def run(self, seconds: float, timeout: float = 60) -> dict[str, Any]:
        """Every citizen sends for `seconds`; then waits until the officer saw every copy."""
        self.rounds += 1
        sent_at: dict[str, float] = {}
        stop_at = time.perf_counter() + seconds

        async def citizen(n: int, client: Watcher, dm: str) -> None:
            i = 0
            while time.perf_counter() < stop_at:
                marker = f"bmw-{self.tag}-{self.rounds}{n}-{i}"
                sent_at[marker] = time.perf_counter()
                await client.send_text(dm, marker)
                i += 1
                await asyncio.sleep(SPACING_S)

        polling = asyncio.create_task(self._poll(sent_at, stop_at, timeout))
        await asyncio.gather(*(citizen(n, c, dm) for n, (c, dm) in enumerate(self.citizens)))
        await polling
        wanted = list(sent_at)
        history = await self.officer.history_counts(self.room, f"bmw-{self.tag}-{self.rounds}")
        result: dict[str, Any] = summary_ms(
            [self.officer.seen[m] - t for m, t in sent_at.items() if m in self.officer.seen])
        result.update(sent=len(wanted), per_s=round(len(wanted) / seconds, 1),
                      sync=tally(wanted, self.officer.counts), history=tally(wanted, history))
        return result

    async def _poll(self, sent_at: dict[str, float], stop_at: float, timeout: float) -> None:
        deadline = time.monotonic() + (stop_at - time.perf_counter()) + timeout
        while time.perf_counter() < stop_at or not set(sent_at) <= self.officer.seen.keys():
            if time.monotonic() > deadline:
                return
            await self.officer.sync_once(1000)


async def officer_for(stack: Stack, session: aiohttp.ClientSession, bot: str) -> Watcher:
    return await watcher(stack, session, f"bw_off_{uuid.uuid4().hex[:6]}", {bot})


async def set_up(stack: Stack, session: aiohttp.ClientSession, officer: Watcher, prefix: str,
                 dept: str, ghost: str, timeout: float = 120) -> RelayBeside:
    """The officer in the department's officers' room; citizens with a DM and an open case."""
    deadline = time.monotonic() + timeout
    alias = quote(f"#{prefix}officers_{dept}:{stack.domain}")
    room = ""
    while not room:
        try:
            room = str((await officer.call("POST", f"/_matrix/client/v3/join/{alias}", {}))["room_id"])
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    tag = uuid.uuid4().hex[:6]

    async def citizen(n: int) -> tuple[Watcher, str]:
        client = await watcher(stack, session, f"bw_cit{n}_{tag}", {ghost})
        answer = await client.call("POST", "/_matrix/client/v3/createRoom", {
            "preset": "trusted_private_chat", "invite": [ghost], "is_direct": True})
        dm = str(answer["room_id"])
        await _within(deadline, client.sync_for(
            lambda: any(e.get("sender") == ghost for e in client.events.get(dm, [])
                        if e.get("type") == "m.room.message"), deadline))
        await client.send_text(dm, f"bmw-{tag}-{900 + n}")
        return client, dm

    citizens = list(await asyncio.gather(*(citizen(n) for n in range(CITIZENS))))
    openers = {f"bmw-{tag}-{900 + n}" for n in range(CITIZENS)}
    await _within(deadline, officer.sync_for(lambda: openers <= officer.seen.keys(), deadline))
    return RelayBeside(officer, room, citizens, tag)


async def _within(deadline: float, check: Awaitable[bool]) -> None:
    if not await check:
        raise TimeoutError(f"the relay beside the web site was not ready in time ({deadline})")
