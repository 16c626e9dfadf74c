"""Processes stored events in order per room, resuming whatever a crash left unprocessed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.appservice import AppService
from mautrix.types import Event, EventType, SerializerError

from .db import InboxEvent, InboxTable
from .metrics import DEAD_LETTERS, EVENTS_PROCESSED
from .room_queues import RoomQueues

log = logging.getLogger("dutyroom.inbox")

EventHandler = Callable[[Event], Awaitable[None]]
BATCH = 50


def deserialize(payload: dict[str, Any]) -> Event:
    AppService._fix_prev_content(payload)
    event = Event.deserialize(payload)
    cls = EventType.Class.STATE if payload.get("state_key") is not None else EventType.Class.MESSAGE
    event.type = event.type.with_class(cls)
    return event


class InboxProcessor:
    def __init__(
        self,
        table: InboxTable,
        handle: EventHandler,
        *,
        max_attempts: int = 5,
        retry_base_delay: float = 0.5,
        hold: bool = False,
    ) -> None:
        self.table = table
        self.handle = handle
        self.max_attempts = max_attempts
        self.retry_base_delay = retry_base_delay
        self.hold = hold
        self.queues = RoomQueues("inbox", self._drain)

    def wake(self, room_ids: list[str]) -> None:
        if not self.hold:
            self.queues.wake(room_ids)

    async def resume(self) -> None:
        """After a start-up, pick up everything that was stored but not processed."""
        rooms = await self.table.pending_rooms()
        if rooms:
            log.info("Resuming unprocessed events in %d rooms", len(rooms))
        self.wake(rooms)

    async def _drain(self, room_id: str) -> None:
        while True:
            batch = await self.table.next_pending(room_id, BATCH)
            for item in batch:
                if not await self._process(item):
                    break  # keep the room's order: retry this item before any later one
            else:
                if len(batch) < BATCH:
                    return  # a short batch was everything; RoomQueues re-drains on new events

    async def _process(self, item: InboxEvent) -> bool:
        """Handle one event; False means it failed and stays pending for a retry."""
        try:
            event = deserialize(dict(item.payload))
        except (SerializerError, KeyError, ValueError, TypeError) as e:
            log.warning("Dead letter %s: cannot deserialize: %s", item.event_id, e)
            await self.table.record_failure(item.seq, f"deserialize: {e}", dead=True)
            DEAD_LETTERS.labels("unreadable").inc()
            return True
        try:
            await self.handle(event)
        except Exception as e:
            attempts = item.attempts + 1
            dead = attempts >= self.max_attempts
            log.exception("Handling %s failed (attempt %d)", item.event_id, attempts)
            await self.table.record_failure(item.seq, repr(e)[:2000], dead=dead)
            if dead:
                DEAD_LETTERS.labels("handler_failed").inc()
            else:
                await asyncio.sleep(self.retry_base_delay * 2 ** (attempts - 1))
            return dead
        await self.table.mark_done(item.seq)
        EVENTS_PROCESSED.inc()
        return True
