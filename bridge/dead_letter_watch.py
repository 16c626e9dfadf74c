"""No silent dead letter: each one is reported once, the gauge follows them, retries are picked up.

A sweep runs at once whenever a dead letter is made (`poke`) and every `interval` seconds:
1. every dead letter not yet alerted is handed to the hooks (the bots' `dead_letter`: the admin
   bot tells the administrators' room, the consultation bot tells the citizen), then marked
   alerted. A hook that fails is logged and the letter still counts as alerted, so a failure
   never loops. A crash before the mark alerts again after the restart; the hooks send through
   the outbox under keys named after the letter, so nothing is posted twice.
2. the gauge dutyroom_dead_letters_unresolved{kind} is set from the database (the CLI changes
   rows from another process; the next sweep shows it);
3. rooms where an administrator retried an event or a send (`python -m bridge dead-letters
   retry`) are woken, so the running bridge replays it within `interval` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .db.dead_letter import KINDS, DeadLetter, DeadLetterTable
from .metrics import DEAD_LETTERS_UNRESOLVED

log = logging.getLogger("dutyroom.dead_letters")

DeadLetterHook = Callable[[DeadLetter], Awaitable[None]]


class DeadLetterWatch:
    def __init__(
        self,
        table: DeadLetterTable,
        *,
        interval: float,
        wake_inbox: Callable[[list[str]], None],
        wake_outbox: Callable[[list[str]], None],
    ) -> None:
        self.table = table
        self.interval = interval
        self.wake_inbox = wake_inbox
        self.wake_outbox = wake_outbox
        self.hooks: list[DeadLetterHook] = []
        self._poked = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._counted = False

    def poke(self) -> None:
        """A dead letter was just made: sweep now rather than at the next interval."""
        self._poked.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="dead-letter-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            self._poked.clear()
            try:
                await self.sweep()
            except Exception:
                log.exception("Dead letter sweep failed; trying again in %.0fs", self.interval)
            try:
                await asyncio.wait_for(self._poked.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    async def sweep(self) -> None:
        while letters := await self.table.unalerted():
            for letter in letters:
                await self.report(letter)
        counts = await self.table.unresolved_counts()
        for kind in KINDS:
            DEAD_LETTERS_UNRESOLVED.labels(kind).set(counts[kind])
        if not self._counted and any(counts.values()):
            log.warning("Unresolved dead letters at start: %s. See `python -m bridge dead-letters"
                        " list`.", ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
        self._counted = True
        inbox_rooms, outbox_rooms = await self.table.replayed_rooms()
        if inbox_rooms:
            self.wake_inbox(inbox_rooms)
        if outbox_rooms:
            self.wake_outbox(outbox_rooms)

    async def report(self, letter: DeadLetter) -> None:
        log.error(
            "Dead letter %s%s: event %s, room %s, sender %s, key %s: %s",
            letter.id, " (after a retry)" if letter.retried else "", letter.event_id,
            letter.room_id, letter.sender, letter.key, letter.error,
        )
        for hook in list(self.hooks):
            try:
                await hook(letter)
            except Exception:
                log.exception("Dead letter hook %r failed for %s", hook, letter.id)
        await self.table.mark_alerted(letter)
