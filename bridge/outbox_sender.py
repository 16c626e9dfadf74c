"""Sends queued messages in order, retrying transient failures and honouring 429.

Order is kept per lane: the messages in a thread (a case in an officers' room) form a lane, so
many citizens' messages into one department's room go out in parallel while each thread stays
in order. A message without a lane (a thread root, a room notice) waits for everything queued
before it in its room, and everything queued after it waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from .db import OutboxItem, OutboxTable
from .metrics import MESSAGES_SENT, SEND_RETRIES, SENDS_FAILED
from .room_queues import RoomQueues

log = logging.getLogger("dutyroom.outbox")

FailureHook = Callable[[OutboxItem, str], Awaitable[None]]
SentHook = Callable[[OutboxItem, str], Awaitable[None]]
# (room, sender, event type, content) → (m.room.encrypted, ciphertext) in an encrypted room,
# None in another (bridge/crypto).
EncryptHook = Callable[[str, str, str, dict[str, Any]], Awaitable[tuple[str, dict[str, Any]] | None]]


# A string "$$outbox:<key>" anywhere in queued content is replaced, at send time, by the event ID
# that the message queued under <key> became. Sends are ordered per room, so a relation to an
# earlier message in the same room (a thread root, an edited message) is always resolvable.
REFERENCE = "$$outbox:"
REDACTION = "m.room.redaction"
# Each sent message carries its transaction ID. Homeservers forget transaction IDs when they
# restart, so after a failure that may have happened after the event was stored, the retry
# first looks for the message in the room instead of sending a second copy.
TXN_MARKER = "org.dutyroom.txn"
LOOKBACK = 50
BATCH = 20
# Synapse creates at most 5 events per room at once; a few more in flight keep it busy.
PARALLEL_LANES = 8
# Recent sends, so a thread reply finds its root, and a reply its source, without a query.
SENT_CACHE = 4096


class PermanentSendError(Exception):
    pass


class TransientSendError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutboxSender:
    """The only path by which bots send room messages."""

    def __init__(
        self,
        table: OutboxTable,
        *,
        homeserver: str,
        as_token: str,
        session: Callable[[], aiohttp.ClientSession],
        # Transient failures (homeserver down, 5xx, 429) are retried for about a day at most one
        # minute apart: a homeserver restart or outage must not lose a citizen's message.
        max_attempts: int = 1440,
        max_backoff: float = 60.0,
    ) -> None:
        self.table = table
        self.homeserver = homeserver.rstrip("/")
        self.as_token = as_token
        self._session = session
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.on_failure: list[FailureHook] = []
        # Called with each item and the event it became, once it is stored by the homeserver
        # (e.g. to show an officer their reply reached the citizen). Advisory: a crash between
        # the send and the hook skips it.
        self.on_sent: list[SentHook] = []
        self.encrypt: EncryptHook | None = None
        self.queues = RoomQueues("outbox", self._drain)
        self._sent: dict[str, str] = {}  # key → event ID
        self._keys: dict[str, str] = {}  # event ID → key

    async def queue(
        self, key: str, room_id: str, sender: str, content: dict[str, Any],
        event_type: str = "m.room.message",
    ) -> None:
        """Queue one message. The key names its source, e.g. f"{source_event_id}/relay"."""
        lane = await self._lane_from_relation(content, event_type)
        await self.table.add(key, room_id, sender, event_type, content, lane)
        self.queues.wake([room_id])

    async def _lane_from_relation(self, content: dict[str, Any], event_type: str) -> str | None:
        """A message in a thread whose root was queued here goes in the lane named by the root's
        key; an edit or redaction goes in the lane of what it changes; anything else in none."""
        rel = content.get("m.relates_to")
        rel = rel if isinstance(rel, dict) else {}
        target = content.get("redacts") if event_type == REDACTION else rel.get("event_id")
        if not isinstance(target, str) or not target.startswith(REFERENCE):
            return None
        target_key = target.removeprefix(REFERENCE)
        if rel.get("rel_type") == "m.thread":
            return target_key
        return await self.table.lane_of(target_key)

    async def redact(self, key: str, *, blank: dict[str, Any] | None = None) -> bool:
        """Redact the message queued under `key` (and, sent in parts, each part; and its
        edits, whose words would otherwise stay in the room's history), in its room and as
        its sender. With `blank`, the kept copies become that content: a retracted message's
        words are not read back later (`!历史`, an export), as the homeserver's are not.

        False if nothing was queued under that key.
        """
        target = await self.table.target_of(key)
        if target is None:
            return False
        room_id, sender = target
        for one in [key, *await self.table.derived_of(key)]:
            await self.queue(f"{one}/redact", room_id, sender, {"redacts": REFERENCE + one}, REDACTION)
            if blank is not None:
                await self.table.set_content(one, blank)
        return True

    async def key_of_event(self, event_id: str) -> str | None:
        """Which queued message became this event (to map replies and edits back)."""
        return self._keys.get(event_id) or await self.table.key_of_event(event_id)

    async def resume(self) -> None:
        self.queues.wake(await self.table.pending_rooms())

    async def _drain(self, room_id: str) -> None:
        while True:
            batch = await self.table.next_pending(room_id, BATCH)
            if await self._deliver_in_order(batch) and len(batch) < BATCH:
                return

    async def _deliver_in_order(self, batch: list[OutboxItem]) -> bool:
        """Deliver a room's pending items in seq order; False if one waits for a retry (what
        comes after it in its lane, and every later message without a lane, wait too)."""
        laned: list[OutboxItem] = []
        for item in batch:
            if item.lane is not None:
                laned.append(item)
                continue
            if laned and not await self._deliver_lanes(laned):
                return False
            laned = []
            if not await self._deliver(item):
                return False
        return not laned or await self._deliver_lanes(laned)

    async def _deliver_lanes(self, items: list[OutboxItem]) -> bool:
        lanes: dict[str | None, list[OutboxItem]] = {}
        for item in items:
            lanes.setdefault(item.lane, []).append(item)
        if len(lanes) == 1:
            return await self._deliver_lane(items, contextlib.nullcontext())
        limit = asyncio.Semaphore(PARALLEL_LANES)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._deliver_lane(lane, limit)) for lane in lanes.values()]
        return all(task.result() for task in tasks)

    async def _deliver_lane(
        self, items: list[OutboxItem], limit: contextlib.AbstractAsyncContextManager[Any]
    ) -> bool:
        async with limit:
            for item in items:
                if not await self._deliver(item):
                    return False
            return True

    async def _deliver(self, item: OutboxItem) -> bool:
        """Send one item; False if it must be retried later."""
        wait = item.not_before / 1000 - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            event_id = await self._send(item)
        except TransientSendError as e:
            if item.attempts + 1 >= self.max_attempts:
                await self._fail(item, str(e))
                return True
            delay = e.retry_after or min(self.max_backoff, 0.5 * 2**item.attempts)
            log.info("Send %s deferred %.1fs: %s", item.key, delay, e)
            SEND_RETRIES.inc()
            await self.table.retry_later(item.seq, str(e), int((time.time() + delay) * 1000))
            return False
        except PermanentSendError as e:
            await self._fail(item, str(e))
            return True
        await self.table.mark_sent(item.seq, event_id)
        if len(self._sent) >= SENT_CACHE:
            self._sent.clear()
            self._keys.clear()
        self._sent[item.key] = event_id
        self._keys[event_id] = item.key
        MESSAGES_SENT.inc()
        for hook in self.on_sent:
            try:
                await hook(item, event_id)
            except Exception:
                log.exception("Outbox sent hook failed")
        return True

    async def _fail(self, item: OutboxItem, error: str) -> None:
        log.error("Giving up on %s in %s: %s", item.key, item.room_id, error)
        await self.table.mark_failed(item.seq, error)
        SENDS_FAILED.inc()
        for hook in self.on_failure:
            try:
                await hook(item, error)
            except Exception:
                log.exception("Outbox failure hook failed")

    async def _resolve(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(REFERENCE):
            key = value.removeprefix(REFERENCE)
            if key in self._sent:
                return self._sent[key]
            found = await self.table.state_of(key)
            if found is not None and found[0] == "pending":
                # Queued in another lane and not sent yet: this one waits for it, as long as a
                # send would wait for the homeserver.
                raise TransientSendError(f"refers to {value}, not sent yet")
            if found is None or found[1] is None:
                raise PermanentSendError(f"refers to {value}, which was never sent")
            return found[1]
        if isinstance(value, dict):
            return {k: await self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await self._resolve(v) for v in value]
        return value

    async def _already_sent(self, item: OutboxItem) -> str | None:
        url = f"{self.homeserver}/_matrix/client/v3/rooms/{quote(item.room_id, safe='')}/messages"
        params = {"dir": "b", "limit": str(LOOKBACK), "user_id": item.sender}
        headers = {"Authorization": f"Bearer {self.as_token}"}
        try:
            async with self._session().get(url, params=params, headers=headers) as resp:
                if resp.status != 200:
                    return None
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            raise TransientSendError(f"{type(e).__name__}: {e}") from e
        for event in body.get("chunk", []):
            content = event.get("content")
            if isinstance(content, dict) and content.get(TXN_MARKER) == item.txn_id:
                return event.get("event_id")
        return None

    async def _send(self, item: OutboxItem) -> str:
        if item.attempts > 0 and item.event_type != REDACTION:
            found = await self._already_sent(item)
            if found:
                log.info("Send %s had gone through before a failure; not sending again", item.key)
                return found
        content = await self._resolve(item.content)
        room = quote(item.room_id, safe="")
        if item.event_type == REDACTION:
            # Redactions have their own endpoint; content["redacts"] names the target.
            target = quote(content.pop("redacts"), safe="")
            path = f"/rooms/{room}/redact/{target}/{item.txn_id}"
        else:
            content[TXN_MARKER] = item.txn_id
            event_type = item.event_type
            if self.encrypt is not None:
                # Encrypted when it goes out, so a resend after a crash is encrypted afresh; the
                # marker is repeated outside the ciphertext for _already_sent to find.
                try:
                    encrypted = await self.encrypt(item.room_id, item.sender, event_type, content)
                except Exception as e:
                    log.exception("Encrypting %s failed", item.key)
                    raise TransientSendError(f"encryption: {type(e).__name__}: {e}") from e
                if encrypted is not None:
                    event_type, content = encrypted
                    content[TXN_MARKER] = item.txn_id
            path = f"/rooms/{room}/send/{quote(event_type, safe='')}/{item.txn_id}"
        url = f"{self.homeserver}/_matrix/client/v3{path}"
        headers = {"Authorization": f"Bearer {self.as_token}"}
        try:
            async with self._session().put(
                url, json=content, params={"user_id": item.sender}, headers=headers
            ) as resp:
                body: dict[str, Any] = await resp.json(content_type=None) or {}
                if resp.status == 200 and isinstance(body.get("event_id"), str):
                    return body["event_id"]
                error = f"{resp.status} {body.get('errcode')}: {body.get('error')}"
                if resp.status == 429:
                    retry_ms = body.get("retry_after_ms") or 1000
                    raise TransientSendError(error, retry_after=float(retry_ms) / 1000)
                if resp.status >= 500 or resp.status == 408:
                    raise TransientSendError(error)
                raise PermanentSendError(error)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            raise TransientSendError(f"{type(e).__name__}: {e}") from e
