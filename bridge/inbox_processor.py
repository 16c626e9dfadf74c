"""Processes stored events in order per room, resuming whatever a crash left unprocessed.

Events stored by the endpoint are handed over with their sequence numbers, so a room whose
backlog in the database is known to be empty is processed from memory, without reading back
what was just written. A room is read from the database after a start-up and after any failure,
until a read finds nothing more pending; then it is "clean" again.

Order is the room's timeline order, not the order of arrival: a "suspect" room (see `suspect`
and `trouble`) is first reconciled with the homeserver (bridge/gap_filler.py), which stores what
the homeserver never pushed and gives the pending events their timeline positions; the database
read then returns them in that order. Rooms not suspect are processed as pushed, at no extra cost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
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
# Reads a room back from the homeserver (deep: the whole window); raises if it cannot.
Reconcile = Callable[[str, bool], Awaitable[int]]
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
        reconcile: Reconcile | None = None,
        after_trouble: float = 10.0,
        reconcile_timeout: float = 30.0,
        is_own_user: Callable[[str], bool] = lambda _: False,
    ) -> None:
        """`after_trouble`: seconds during which rooms with new events from people (not only
        our own users) stay suspect after a sign of trouble; `reconcile_timeout`: how long a
        suspect room's events wait for a homeserver that cannot be read before they are
        processed in the order they arrived."""
        self.table = table
        self.handle = handle
        self.max_attempts = max_attempts
        self.retry_base_delay = retry_base_delay
        self.hold = hold
        self.queues = RoomQueues("inbox", self._drain)
        self._handed: dict[str, list[InboxEvent]] = {}  # room → stored events not yet processed
        self._clean: set[str] = set()  # rooms with nothing pending in the database but those
        self._done: dict[int, None] = {}  # insertion-ordered: RECENTLY_DONE seqs
        self.reconcile = reconcile
        self.after_trouble = after_trouble
        self.reconcile_timeout = reconcile_timeout
        self.is_own_user = is_own_user
        self._suspect: dict[str, bool] = {}  # room → read back deep: reconcile before processing
        self._trouble_until = 0.0  # time.monotonic(); inf while trouble is ongoing

    def suspect(self, room_ids: list[str], deep: bool = False) -> None:
        """Reconcile these rooms with the homeserver before processing anything more in them."""
        if self.reconcile is None:
            return
        for room_id in room_ids:
            self._suspect[room_id] = self._suspect.get(room_id, False) or deep
        self.wake(room_ids)

    def trouble(self, ongoing: bool) -> None:
        """A sign that pushes may be missing or out of order (the homeserver down or back, a
        transaction-ID anomaly): rooms with new events are suspect while `ongoing`, and for
        `after_trouble` seconds after a call with False."""
        self._trouble_until = math.inf if ongoing else max(
            time.monotonic() + self.after_trouble,
            self._trouble_until if self._trouble_until < math.inf else 0.0,
        )

    def wake(self, room_ids: list[str]) -> None:
        """Something may be pending in these rooms' database backlog: read it from there."""
        self._clean.difference_update(room_ids)
        if not self.hold:
            self.queues.wake(room_ids)

    def take(self, events: list[InboxEvent]) -> None:
        """Events just committed to the inbox: process them (from memory where possible)."""
        if self.reconcile is not None and time.monotonic() < self._trouble_until:
            # The same rule as the gap filler's sweeps (InboxTable.rooms_with_others): a room
            # where only the bridge itself acted has nothing of anyone else's to recover (rooms
            # being provisioned inside a trouble window push back only our own state events).
            for event in events:
                if not self.is_own_user(str(event.payload.get("sender", ""))):
                    self._suspect.setdefault(event.room_id, False)
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
        if self.reconcile is not None and rooms:
            # Some may have arrived out of order before the crash; but a room where only our own
            # users acted (every room a cold start provisions: their state events come back
            # while the bots start) has nothing of anyone else's to recover or to order.
            senders = await self.table.pending_senders()
            self.suspect([room for room in rooms if any(
                not self.is_own_user(sender) for sender in senders.get(room, ()))], deep=True)
        self.wake(rooms)

    async def _drain(self, room_id: str) -> None:
        while True:
            if room_id in self._suspect:
                await self._reconcile(room_id, self._suspect.pop(room_id))
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

    async def _reconcile(self, room_id: str, deep: bool) -> None:
        """Positions the room's pending events in timeline order (read from the database next).
        A homeserver that cannot be read holds the room at most `reconcile_timeout` seconds."""
        self._clean.discard(room_id)
        assert self.reconcile is not None
        deadline = time.monotonic() + self.reconcile_timeout
        delay = 0.5
        while True:
            try:
                await self.reconcile(room_id, deep)
                return
            except Exception as e:
                if time.monotonic() + delay > deadline:
                    log.warning("Could not read %s back from the homeserver (%s); its pending"
                                " events are processed in the order they arrived", room_id, e)
                    return
                log.info("Reading %s back failed (%s); trying again in %.1fs", room_id, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

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
