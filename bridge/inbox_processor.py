"""Processes stored events in order per room, resuming whatever a crash left unprocessed.

Events stored by the endpoint are handed over with their sequence numbers, so a room whose
backlog in the database is known to be empty is processed from memory, without reading back
what was just written. A room is read from the database after a start-up and after any failure,
until a read finds nothing more pending; then it is "clean" again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.appservice import AppService
from mautrix.types import Event, EventType, SerializerError

from .db import InboxEvent, InboxTable
from .event_repair import DROPPED, repaired
from .metrics import DEAD_LETTERS, EVENTS_PROCESSED
from .room_queues import RoomQueues

log = logging.getLogger("dutyroom.inbox")

EventHandler = Callable[[Event], Awaitable[None]]
BATCH = 50
# Sequence numbers lately done. An event is handed over only after its commit, so a read of
# the database may process it first; this keeps that event from being handled twice.
RECENTLY_DONE = 4096


def _readable(payload: dict[str, Any]) -> bool:
    try:
        deserialize(dict(payload))
    except (SerializerError, KeyError, ValueError, TypeError):
        return False
    return True


def deserialize(payload: dict[str, Any]) -> Event:
    AppService._fix_prev_content(payload)
    event = Event.deserialize(payload)
    cls = EventType.Class.STATE if payload.get("state_key") is not None else EventType.Class.MESSAGE
    event.type = event.type.with_class(cls)
    return event


class InboxProcessor:
    # Called when an event becomes a dead letter (the runtime sweeps and alerts at once).
    on_dead_letter: Callable[[], None] | None = None

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
        self._handed: dict[str, list[InboxEvent]] = {}  # room → stored events not yet processed
        self._clean: set[str] = set()  # rooms with nothing pending in the database but those
        self._done: dict[int, None] = {}  # insertion-ordered: RECENTLY_DONE seqs

    def wake(self, room_ids: list[str]) -> None:
        """Something may be pending in these rooms' database backlog: read it from there."""
        self._clean.difference_update(room_ids)
        if not self.hold:
            self.queues.wake(room_ids)

    def take(self, events: list[InboxEvent]) -> None:
        """Events just committed to the inbox: process them (from memory where possible)."""
        if self.hold:
            self._clean.difference_update(e.room_id for e in events)  # left to the database
            return
        rooms: list[str] = []
        for event in events:
            self._handed.setdefault(event.room_id, []).append(event)
            if event.room_id not in rooms:
                rooms.append(event.room_id)
        self.queues.wake(rooms)

    async def resume(self) -> None:
        """After a start-up, pick up everything that was stored but not processed."""
        rooms = await self.table.pending_rooms()
        if rooms:
            log.info("Resuming unprocessed events in %d rooms", len(rooms))
        self.wake(rooms)

    async def _drain(self, room_id: str) -> None:
        while True:
            from_memory = room_id in self._clean
            if from_memory:
                batch = sorted((e for e in self._handed.pop(room_id, []) if e.seq not in self._done),
                               key=lambda e: e.seq)
            else:
                batch = await self.table.next_pending(room_id, BATCH)
                read = {e.seq for e in batch}
                if room_id in self._handed:  # what this read covers need not be kept
                    self._handed[room_id] = [e for e in self._handed[room_id] if e.seq not in read]
            for item in batch:
                if not await self._process(item):
                    self._clean.discard(room_id)  # keep the room's order: retry it first
                    break
                self._remember_done(item.seq)
            else:
                if from_memory:
                    if not self._handed.get(room_id):
                        self._handed.pop(room_id, None)
                        return
                elif len(batch) < BATCH:
                    self._clean.add(room_id)
                    if not self._handed.get(room_id):
                        self._handed.pop(room_id, None)
                        return

    async def _process(self, item: InboxEvent) -> bool:
        """Handle one event; False means it failed and stays pending for a retry (True: done,
        or a dead letter, which `on_dead_letter` reports at once)."""
        try:
            event = deserialize(dict(item.payload))
        except (SerializerError, KeyError, ValueError, TypeError) as e:
            # A message with a broken part (a string m.relates_to, junk info) keeps its text.
            fixed = repaired(item.payload, _readable)
            if fixed is None:
                log.warning("Dead letter %s: cannot deserialize: %s", item.event_id, e)
                await self.table.record_failure(item.seq, f"deserialize: {e}", dead=True)
                DEAD_LETTERS.labels("unreadable").inc()
                self._dead_letter()
                return True
            log.warning("Event %s repaired: dropped %s (%s)", item.event_id,
                        ", ".join(fixed["content"][DROPPED]), e)
            event = deserialize(fixed)
        try:
            await self.handle(event)
        except Exception as e:
            attempts = item.attempts + 1
            dead = attempts >= self.max_attempts
            log.exception("Handling %s failed (attempt %d)", item.event_id, attempts)
            await self.table.record_failure(item.seq, repr(e)[:2000], dead=dead)
            if dead:
                DEAD_LETTERS.labels("handler_failed").inc()
                self._dead_letter()
            else:
                await asyncio.sleep(self.retry_base_delay * 2 ** (attempts - 1))
            return dead
        await self.table.mark_done(item.seq)
        EVENTS_PROCESSED.inc()
        return True

    def _dead_letter(self) -> None:
        if self.on_dead_letter is not None:
            self.on_dead_letter()

    def _remember_done(self, seq: int) -> None:
        self._done[seq] = None
        if len(self._done) > RECENTLY_DONE:
            del self._done[next(iter(self._done))]
