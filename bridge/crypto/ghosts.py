"""An encryption device for every department account (ghost), and for the service accounts.

Ghosts had no devices, and the bot's device encrypted for them. Element, seen from a citizen's
side, showed it: it decides whether a new DM is encrypted by asking for the invitee's devices, so
a DM with a department began unencrypted, marked in red with a link to turn encryption on; once
encrypted, every department message carried the red "sender does not match the device owner"
warning (a message of the department's, from the bot's device); and the bot had to join the DM
for the citizen's client to share its keys, so Element named it "<department> and 网上值班室".

So each ghost has an Olm device of its own: made by the appservice (MSC4190) with its keys
uploaded and signed by the ghost's own cross-signing identity (bridge/crypto/cross_signing.py)
as soon as the ghost exists, kept in the same crypto tables as the bot's (mautrix's
PgCryptoStore, one account per ghost, keyed by its user ID), with its to-device messages and
one-time-key counts routed to it from the appservice transactions, and its inbox read back like
the bot's (bridge/crypto/to_device.py). A ghost's messages in a room it is in are encrypted by its
own device, and what members send there is decrypted with the keys they shared with it. The
service accounts citizens and officers write to (letters, complaints, notices) get one the same
way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from mautrix.api import HTTPAPI, Method
from mautrix.api import Path as ApiPath
from mautrix.crypto import PgCryptoStore
from mautrix.errors import MatrixRequestError
from mautrix.types import TrustState

from ..parallel import DEFAULT_CONCURRENCY
from .cross_signing import sign_device, signed_accounts
from .machine import BridgeOlmMachine, CryptoClient
from .to_device import INTERVAL, ToDeviceInbox

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from mautrix.appservice import AppService
    from mautrix.appservice.state_store.asyncpg import PgASStateStore
    from mautrix.util.async_db import Database

log = logging.getLogger("dutyroom.crypto.ghosts")

DEVICE_NAME = "网上值班室"


class GhostDevice:
    def __init__(self, mxid: str, machine: BridgeOlmMachine, inbox: ToDeviceInbox) -> None:
        self.mxid = mxid
        self.machine = machine
        self.inbox = inbox

    @property
    def device_id(self) -> str:
        return str(self.machine.client.device_id)


class GhostDevices:
    def __init__(
        self, db: Database, az: AppService, state_store: PgASStateStore, base_url: str,
        pickle_key: str, share_min_trust: TrustState, session: ClientSession,
    ) -> None:
        self.db = db
        self.az = az
        self.state_store = state_store
        self.base_url = base_url
        self.pickle_key = pickle_key
        self.share_min_trust = share_min_trust
        self.session = session
        self.readable = True  # as the bot's inbox (Runtime._register_bot)
        self._devices: dict[str, GhostDevice] = {}
        self._unsigned: set[str] = set()  # devices their account's identity has not signed
        self._making: dict[str, asyncio.Lock] = {}
        self.failed: dict[str, str] = {}  # account → why its device could not be made, last try
        self._task: asyncio.Task[None] | None = None

    def get(self, mxid: str) -> GhostDevice | None:
        return self._devices.get(mxid)

    def __len__(self) -> int:
        return len(self._devices)

    async def load(self, bot_mxid: str) -> None:
        """The devices made before: opened from the database, without a request."""
        rows = await self.db.fetch(
            "SELECT account_id, device_id FROM crypto_account "
            "WHERE account_id<>$1 AND device_id<>''", bot_mxid)
        signed = await signed_accounts(self.db)
        for row in rows:
            self._devices[row["account_id"]] = await self._open(
                row["account_id"], row["device_id"])
            if row["account_id"] not in signed:  # made before devices were cross-signed
                self._unsigned.add(row["account_id"])
        if rows:
            log.info("Loaded %d department encryption devices", len(rows))

    async def check_on_server(self, client: CryptoClient, only: list[str] | None = None) -> int:
        """One keys query (per 500 accounts) for the devices loaded (or those of `only`): a
        device the homeserver no longer has (deleted by an administrator, a homeserver restored
        from a backup) is forgotten here and made again by ensure_all, and one its identity's
        signature is missing from is signed again. Returns how many were gone."""
        mxids, gone = [m for m in (only or self._devices) if m in self._devices], 0
        for start in range(0, len(mxids), 500):
            chunk = mxids[start:start + 500]
            answer = await client.api.request(Method.POST, ApiPath.v3.keys.query,
                                              {"device_keys": {m: [] for m in chunk}})
            for mxid in chunk:
                device = self._devices[mxid]
                served = (answer.get("device_keys") or {}).get(mxid) or {}
                if device.device_id not in served:
                    log.warning("The homeserver no longer has %s's encryption device %s: "
                                "making a new one", mxid, device.device_id)
                    await device.machine.crypto_store.delete()
                    del self._devices[mxid]
                    gone += 1
                    continue
                ssk = list(((answer.get("self_signing_keys") or {}).get(mxid) or {})
                           .get("keys", {}).values())
                signatures = served[device.device_id].get("signatures", {}).get(mxid, {})
                if not ssk or f"ed25519:{ssk[0]}" not in signatures:
                    self._unsigned.add(mxid)
        return gone

    async def ensure_all(self, mxids: list[str]) -> int:
        """A device for each of these accounts that has none yet (or its signature, for one
        that lacks it); returns how many were made or signed."""
        missing = [m for m in mxids if m not in self._devices or m in self._unsigned]
        if not missing:
            return 0
        started, made = time.monotonic(), 0
        queue: asyncio.Queue[str] = asyncio.Queue()
        for mxid in missing:
            queue.put_nowait(mxid)

        async def worker() -> None:
            nonlocal made
            while not queue.empty():
                mxid = queue.get_nowait()
                try:
                    await self.ensure(mxid)
                    made += 1
                except Exception as e:  # tried again at the next start or roster change
                    log.warning("No encryption device for %s: %s", mxid, e)
                    self.failed[mxid] = " ".join(f"{type(e).__name__}: {e}".split())[:200]

        await asyncio.gather(*(worker() for _ in range(min(DEFAULT_CONCURRENCY, len(missing)))))
        log.info("Made or signed %d department encryption devices in %.1f s", made,
                 time.monotonic() - started)
        return made

    async def ensure(self, mxid: str) -> GhostDevice:
        lock = self._making.setdefault(mxid, asyncio.Lock())
        async with lock:
            device = self._devices.get(mxid)
            if device is not None:
                if mxid in self._unsigned and await sign_device(self.db, device.machine):
                    self._unsigned.discard(mxid)
                return device
            await self.az.intent.user(mxid).ensure_registered()
            device = await self._open(mxid, "")
            client = device.machine.client
            await client.create_device_msc4190("", DEVICE_NAME)
            await forget_other_devices(client)
            await device.machine.share_keys(0)  # a new device has no one-time keys yet
            await device.machine.crypto_store.put_device_id(client.device_id)
            device.inbox.new_device = True
            self._devices[mxid] = device
            self.failed.pop(mxid, None)
            if not await sign_device(self.db, device.machine):
                self._unsigned.add(mxid)  # tried again at the next start or roster change
            return device

    async def _open(self, mxid: str, device_id: str) -> GhostDevice:
        store = PgCryptoStore(mxid, self.pickle_key, self.db)
        await store.open()
        api = HTTPAPI(self.base_url, self.az.as_token, client_session=self.session,
                      as_user_id=mxid, as_device_id=device_id or None,
                      log=logging.getLogger("dutyroom.crypto.client"))
        client = CryptoClient(mxid=mxid, device_id=device_id, api=api,
                              state_store=self.state_store)
        machine = BridgeOlmMachine(client, store, self.state_store,
                                   log=logging.getLogger("dutyroom.crypto.olm"))
        machine.share_keys_min_trust = self.share_min_trust
        machine.send_keys_min_trust = TrustState.UNVERIFIED
        machine.allow_key_share = no_key_share
        await machine.load()
        inbox = ToDeviceInbox(machine, self.db, mxid, readable=self.readable, account=mxid)
        return GhostDevice(mxid, machine, inbox)

    # Their inboxes: read one after another across the interval -------------------------------
    def start(self) -> None:
        if self.readable:
            self._task = asyncio.create_task(self._schedule())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _schedule(self) -> None:
        while True:
            devices = list(self._devices.values())
            pause = INTERVAL / max(len(devices), 1)
            for device in devices:
                await device.inbox.scheduled_read()
                await asyncio.sleep(pause)
            if not devices:
                await asyncio.sleep(INTERVAL)


async def forget_other_devices(client: CryptoClient) -> None:
    """An account's devices other than the one it just made are stale (their keys went with a
    lost database, or the homeserver dropped the device): delete them, so that members' clients
    stop encrypting for a device nobody has."""
    answer = await client.api.request(Method.GET, ApiPath.v3.devices)
    for device in answer.get("devices", []):
        other = device.get("device_id")
        if other and other != client.device_id:
            try:
                await client.api.request(Method.DELETE, ApiPath.v3.devices[other])
                log.info("Deleted %s's stale device %s", client.mxid, other)
            except MatrixRequestError as e:
                log.warning("Could not delete %s's stale device %s: %s", client.mxid, other, e)


async def no_key_share(device: Any, request: Any) -> bool:
    """Key requests are not answered, by the bot's device or the departments': keys are shared
    before the first message instead (and a room's members get every new session as it is
    made)."""
    return False
