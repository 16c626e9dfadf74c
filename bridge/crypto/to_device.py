"""The bot device's to-device inbox, read back: room keys the homeserver never pushed.

Synapse keeps every to-device message for the bot's device in that device's inbox until the
device syncs, and pushes a copy inside an appservice transaction (MSC2409). The copy is not kept:
a transaction refused or cut off by a crash is retried with its room events only ("to-device
messages ... are not yet populated for catch-up transactions", Synapse's appservice store), and
while the appservice is marked down (after any failed or refused push, until it recovers) no
to-device message is pushed at all. A room key lost that way makes every message of its Megolm
session unreadable: an officer whose client shared a new session while the bridge restarted
would not be heard until the client rotates the session, days later. (Found in the suite: a
SIGKILL during the transaction carrying an officer's key, 0 of 8 answers readable.)

So the bridge also reads the inbox, with /sync for the bot's device: once at start, before an
encrypted event whose key is missing is given up on, and every `INTERVAL` seconds. (Synapse
refuses /sync to an appservice's own user; the bot is therefore a user of the bridge's namespace,
see Config.sender_localpart.) Each message is handled once, whichever way it came first: a digest
of every handled message is kept for a week, because handling one again would fail (an Olm
message decrypts once) and make mautrix start a new Olm session with its sender. Syncing on from
the last token also lets the homeserver delete what was read, which nothing else does for an
appservice's device. The same sync carries one-time-key counts and device-list changes, which a
lost push drops too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.types import ASToDeviceEvent, DeviceLists, DeviceOTKCount

if TYPE_CHECKING:
    from mautrix.util.async_db import Database

    from .machine import BridgeOlmMachine

log = logging.getLogger("dutyroom.crypto.inbox")

INTERVAL = 600.0  # seconds between scheduled reads; the inbox is emptied at the same pace
REPORT_AFTER = 2  # scheduled reads failed in a row before the administrators hear of it
KEEP_MS = 7 * 24 * 3600 * 1000  # digests of handled messages: far longer than INTERVAL
# Nothing but the to-device section: no rooms, presence or account data.
SYNC_FILTER = json.dumps({
    "room": {"rooms": []},
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
}, separators=(",", ":"))


def digest(raw: dict[str, Any]) -> str:
    """The same message pushed and read back: same sender, type and (ciphertext) content."""
    what = {"sender": raw.get("sender"), "type": raw.get("type"), "content": raw.get("content")}
    return hashlib.sha256(
        json.dumps(what, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ToDeviceInbox:
    def __init__(
        self, machine: BridgeOlmMachine, db: Database, user_id: str, readable: bool,
        account: str = "",
    ) -> None:
        self.machine = machine
        self.db = db
        self.user_id = user_id
        self.account = account  # the key of its /sync token: '' for the bot, a ghost's user ID
        # False when the bot is the appservice's own user (a bot outside the namespace, or a
        # registration from before): then only pushes bring to-device messages, as before.
        self.readable = readable
        self.new_device = False  # set when the device was made in this process
        self._handling = asyncio.Lock()  # one message at a time, whichever way it came
        self._reading = asyncio.Lock()  # one read of the inbox at a time
        self._last_read_started = 0.0
        self._task: asyncio.Task[None] | None = None
        # Told of what an administrator must act on: (kind, send key, details).
        self.on_problem: Callable[[str, str, dict[str, str]], Awaitable[None]] | None = None
        self._failures = 0  # scheduled reads failed in a row
        self._failing_since = 0

    # Every to-device message, pushed or read back, is handled here -----------------------------
    async def handle(self, raw: dict[str, Any], how: str = "pushed") -> bool:
        """False if it was handled before (pushed and read back, or pushed twice). One bad
        message is logged, never fatal to the others.

        What handling an Olm message stores (the session's new state, the Megolm key it
        carried) and its digest are stored in one transaction: a crash in between leaves none of
        them, and the message, still in the inbox, decrypts when it is read back
        (bridge/crypto/machine.py)."""
        key = digest(raw)
        # Only an Olm message moves a ratchet. (A plain one, a key request, may wait for
        # mautrix's key-fetching lock, whose holder may wait for SQLite's one connection.)
        olm = raw.get("type") == "m.room.encrypted"
        async with self._handling:
            try:
                async with self.machine.atomically() if olm else nullcontext():
                    if await self.db.fetchval("SELECT 1 FROM to_device_seen WHERE digest=$1", key):
                        return False
                    try:
                        await self.machine.handle_as_to_device_event(
                            ASToDeviceEvent.deserialize(raw))
                    except Exception:
                        # Kept as handled: handling it again would fail the same way.
                        log.exception("To-device event %s from %s (%s) failed",
                                      raw.get("type"), raw.get("sender"), how)
                    await self.db.execute(
                        "INSERT INTO to_device_seen (digest, seen_at) VALUES ($1, $2) "
                        "ON CONFLICT (digest) DO NOTHING", key, int(time.time() * 1000))
            except Exception:  # the database: nothing of it stored, read back later
                log.exception("To-device event %s from %s (%s) could not be stored",
                              raw.get("type"), raw.get("sender"), how)
            return True

    # Reading the inbox ---------------------------------------------------------------------
    def start(self) -> None:
        if not self.readable:
            log.warning(
                "The bot is the appservice's own user, which may not read its device's "
                "to-device inbox: a room key sent while the bridge is down is lost. Regenerate "
                "the registration (-g) so that the appservice has a user of its own.")
            return
        self._task = asyncio.create_task(self._schedule())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _schedule(self) -> None:
        while True:
            await self.scheduled_read()
            await asyncio.sleep(INTERVAL)

    async def scheduled_read(self) -> None:
        """One scheduled round. Failures are logged; REPORT_AFTER of them in a row reach the
        administrators (through `on_problem`), and so does the first success after that."""
        try:
            handled = await self.read(time.time())
            if self.account == "":  # the digests are every device's: the bot's inbox prunes them
                await self.db.execute("DELETE FROM to_device_seen WHERE seen_at < $1",
                                      int(time.time() * 1000) - KEEP_MS)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the next round, or the next missing key, tries again
            log.warning("Reading the bot device's to-device inbox failed: %s", e)
            if not self._failures:
                self._failing_since = int(time.time() * 1000)
            self._failures += 1
            if self._failures == REPORT_AFTER:
                await self._report("inbox_unreadable", {
                    "count": str(self._failures), "minutes": str(round(INTERVAL / 60)),
                    "error": str(e) or type(e).__name__})
            return
        if self._failures >= REPORT_AFTER:
            await self._report("inbox_readable", {"count": str(self._failures),
                                                  "handled": str(handled)})
        self._failures = 0

    async def _report(self, kind: str, details: dict[str, str]) -> None:
        if self.on_problem is None:
            return
        try:
            await self.on_problem(kind, f"{kind}/{self._failing_since}", details)
        except Exception:
            log.exception("Could not tell the administrators (%s)", kind)

    async def read(self, not_before: float) -> int:
        """Read the inbox unless a read that started at or after `not_before` (epoch seconds)
        already did; returns how many messages this call handled."""
        if not self.readable:
            return 0
        async with self._reading:
            if self._last_read_started >= not_before:
                return 0
            previous, self._last_read_started = self._last_read_started, time.time()
            try:
                return await self._read()
            except BaseException:  # a read that failed read nothing: the next caller tries
                self._last_read_started = previous
                raise

    async def _read(self) -> int:
        since = await self.db.fetchval(
            "SELECT since FROM to_device_since WHERE account_id=$1", self.account)
        # The first read after this version: what the inbox holds was pushed before (its
        # digests were not kept), unless the device is new. It is emptied, not handled again.
        # (Departments' devices are younger than the digests: theirs are all handled.)
        replay = since is not None or self.new_device or self.account != ""
        handled = skipped = 0
        while True:
            params: dict[str, Any] = {"filter": SYNC_FILTER, "timeout": "0",
                                      "set_presence": "offline"}
            if since:
                params["since"] = since
            body = await self.machine.client.api.request(
                Method.GET, ApiPath.v3.sync, query_params=params)
            events = (body.get("to_device") or {}).get("events") or []
            for raw in events:
                if not replay:
                    skipped += 1
                    continue
                raw = {**raw, "to_user_id": self.user_id,
                       "to_device_id": self.machine.client.device_id}
                handled += await self.handle(raw, "read back")
            if replay:
                await self._extras(body)
            since = body["next_batch"]
            if replay or not events:  # (a drain cut short starts again: its token is not kept)
                await self.db.execute(
                    "INSERT INTO to_device_since (account_id, since) VALUES ($1, $2) "
                    "ON CONFLICT (account_id) DO UPDATE SET since=excluded.since",
                    self.account, since)
            if not events:
                break
        if handled:
            log.warning("Read %d to-device message(s) the homeserver had not pushed "
                        "(sent while the bridge was down, or in a refused or cut-off push)",
                        handled)
        if skipped:
            log.info("Emptied %d to-device message(s) from before this version", skipped)
        return handled

    async def _extras(self, body: dict[str, Any]) -> None:
        counts = body.get("device_one_time_keys_count")
        if counts:
            await self.machine.handle_otk_count(DeviceOTKCount.deserialize(counts))
        lists = body.get("device_lists")
        if isinstance(lists, dict) and lists.get("changed"):
            await self.machine.handle_device_lists(DeviceLists.deserialize(lists))
