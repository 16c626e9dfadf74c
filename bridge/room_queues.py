"""One ordered worker per room: a room's items are handled strictly in order, rooms in parallel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("dutyroom.queues")


class RoomQueues:
    """Runs `drain(room_id)` for each room that has work, at most one task per room at a time.

    `drain` must process everything pending for the room and return; a wake-up arriving while a
    room is draining makes it drain once more, so nothing that arrives late is missed.
    """

    def __init__(self, name: str, drain: Callable[[str], Awaitable[None]]) -> None:
        self.name = name
        self._drain = drain
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._stopping = False

    def wake(self, room_ids: list[str]) -> None:
        if self._stopping:
            return
        for room_id in room_ids:
            if room_id in self._tasks:
                self._again.add(room_id)
            else:
                self._tasks[room_id] = asyncio.create_task(self._run(room_id))

    async def _run(self, room_id: str) -> None:
        try:
            while True:
                self._again.discard(room_id)
                try:
                    await self._drain(room_id)
                except Exception:
                    log.exception("%s: draining %s failed; will retry", self.name, room_id)
                    await asyncio.sleep(1)
                    self._again.add(room_id)
                if room_id not in self._again or self._stopping:
                    break
        finally:
            self._tasks.pop(room_id, None)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def idle(self) -> None:
        """Wait until no room has work in progress (used by tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
