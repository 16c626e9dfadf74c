"""End-to-end encryption for the bridge: Olm devices for the bot and every department account,
in appservice mode.

The equivalent of mautrix's bridge EncryptionManager (mautrix/bridge/e2ee.py) on this runtime,
in the mode mautrix calls "appservice": the device is created with MSC4190 (PUT /devices as the
appservice, no login), and its to-device messages, device-list changes and one-time-key counts
arrive inside the appservice transactions (MSC2409 and MSC3202), handled before the 200. The
homeserver does not keep a pushed to-device message for a retry, nor push any while it counts the
bridge as down, so the bot device's inbox is also read with /sync (bridge/crypto/to_device.py):
a room key sent during a restart or in a push cut off by a crash is found there.

Each department account (ghost) has a device of its own (bridge/crypto/ghosts.py): its messages
are encrypted with its own Megolm session, and the keys members share with it decrypt what they
send in its rooms. The bot's device reads the officers' rooms and notices it is in, and stands in
for a department without a device (encryption.department_devices: false, or its device could not
be made), as in mautrix's bridges: it then joins every encrypted room that department sends into
(before the first encrypted message), so that the room's members also share their keys with it.

The crypto store (mautrix's PgCryptoStore: account, Olm and Megolm sessions, devices) lives in the
bridge's own database, SQLite or PostgreSQL, beside the runtime tables; keys never leave it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mautrix.crypto import PgCryptoStore
from mautrix.errors import (
    DecryptionError,
    EncryptionError,
    MatrixRequestError,
    MForbidden,
    MNotFound,
)
from mautrix.types import (
    DeviceLists,
    DeviceOTKCount,
    EncryptedEvent,
    Event,
    EventType,
    Membership,
    RoomEncryptionStateEventContent,
    StateEvent,
    TrustState,
)

from .cross_signing import sign_device, signed_accounts
from .ghosts import GhostDevice, GhostDevices, forget_other_devices, no_key_share
from .machine import BridgeOlmMachine, CryptoClient
from .to_device import ToDeviceInbox

if TYPE_CHECKING:
    from mautrix.appservice import AppService
    from mautrix.appservice.state_store.asyncpg import PgASStateStore
    from mautrix.util.async_db import Database

    from ..config import Config

log = logging.getLogger("dutyroom.crypto")

# mautrix still writes the deprecated sender_key and device_id into Megolm events, and warns
# about it on every message. Clients such as nio reject Megolm events without them: keep them.
warnings.filterwarnings("ignore", message="The sender_key field in Megolm events",
                        category=DeprecationWarning)

# Olm pickles in the database are encrypted with this key. Like mautrix's bridges, a fixed key:
# the database itself is what must be protected (and backed up); see the README.
PICKLE_KEY = "dutyroom.bridge.e2ee"
DEVICE_NAME = "dutyroom bridge"


class Encryption:
    """The bot's Olm machine, and what the endpoint, the inbox and the outbox ask of it."""

    def __init__(
        self, config: Config, db: Database, az: AppService, state_store: PgASStateStore
    ) -> None:
        self.config = config
        self.db = db
        self.az = az
        self.state_store = state_store
        self.bot_mxid = config.bot_mxid
        self.key_wait = float(config["encryption.key_wait_seconds"])
        self.store = PgCryptoStore(self.bot_mxid, PICKLE_KEY, db)
        self.client = CryptoClient(
            mxid=self.bot_mxid, base_url=config["homeserver.address"], token=az.as_token,
            state_store=state_store, log=logging.getLogger("dutyroom.crypto.client"),
        )
        self.machine = BridgeOlmMachine(self.client, self.store, state_store,
                                  log=logging.getLogger("dutyroom.crypto.olm"))
        # Citizens' and officers' clients are rarely verified; encrypting only to verified devices
        # would leave them unable to read anything. `encryption.require_verification` says so.
        level = TrustState.CROSS_SIGNED_TOFU if config["encryption.require_verification"] \
            else TrustState.UNVERIFIED
        self.machine.share_keys_min_trust = level
        self.machine.send_keys_min_trust = TrustState.UNVERIFIED
        self.machine.allow_key_share = no_key_share
        # Readable unless the bot is the appservice's own user (Runtime._register_bot says).
        self.inbox = ToDeviceInbox(self.machine, db, self.bot_mxid, readable=True)
        self.bot_device = GhostDevice(self.bot_mxid, self.machine, self.inbox)
        # The departments' own devices (bridge/crypto/ghosts.py), unless configured off.
        self.ghosts: GhostDevices | None = GhostDevices(
            db, az, state_store, config["homeserver.address"], PICKLE_KEY, level,
            self.client.api.session,
        ) if config.get("encryption.department_devices", True) else None
        self._sharing: dict[str, asyncio.Lock] = {}
        self._plain: set[str] = set()  # rooms seen unencrypted (until an m.room.encryption event)
        self._encrypted: set[str] = set()
        self._bot_in: set[str] = set()  # encrypted rooms the bot is known to have joined
        self._joined_at: dict[str, int] = {}  # rooms the bot joined in this process: ts
        self._checks: set[asyncio.Task[None]] = set()  # devices being looked at
        self._bot_check = asyncio.Lock()

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    async def start(self) -> None:
        await PgCryptoStore.upgrade_table.upgrade(self.db)
        await self.store.open()
        device_id = await self.store.get_device_id()
        self.client.api.token = self.az.as_token
        if device_id:
            # The device exists: act as it, without a PUT.
            self.client.api.as_user_id = self.bot_mxid
            self.client.api.as_device_id = device_id
            self.client.device_id = device_id
            if not await self._keys_on_server():
                # The homeserver forgot the device or its keys: start over with a new identity
                # rather than crash-loop. Members' clients share keys with the new device from
                # their next message; what they sent to the old one cannot be read.
                log.warning("Device %s is gone from the homeserver; making a new one", device_id)
                await self.store.delete()
                device_id = None
        if not device_id:
            await self._new_device()
        else:
            await self.machine.load()
            await self.machine.share_keys()
            if self.bot_mxid not in await signed_accounts(self.db):
                await sign_device(self.db, self.machine)  # (a refusal is logged: it works unsigned)
        self.inbox.start()  # its first read: what was sent while the bridge was down
        if self.ghosts is not None:
            self.ghosts.readable = self.inbox.readable
            await self.ghosts.load(self.bot_mxid)
            try:
                await self.ghosts.check_on_server(self.client)
            except MatrixRequestError as e:  # they are used as they are; checked next start
                log.warning("Could not check the departments' devices on the homeserver: %s", e)
            self.ghosts.start()
        log.info("End-to-end encryption on: device %s of %s", self.client.device_id, self.bot_mxid)

    async def _new_device(self) -> None:
        """A new device and identity for the bot (none yet, or the homeserver's is gone),
        published and cross-signed."""
        self.client.api.as_device_id = None
        await self._create_device()
        await self.machine.load()
        await self.store.put_device_id(self.client.device_id)
        self.inbox.new_device = True
        log.info("Created the bridge's encryption device %s", self.client.device_id)
        await self.machine.share_keys()
        await sign_device(self.db, self.machine)  # (a refusal is logged: it works unsigned)

    async def _create_device(self) -> None:
        try:
            await self.client.create_device_msc4190("", DEVICE_NAME)
        except MatrixRequestError as e:
            raise RuntimeError(
                f"The homeserver refused the bridge's encryption device ({e}). End-to-end "
                "encryption needs the registration's `io.element.msc4190: true`, "
                "`org.matrix.msc3202: true` and `receive_ephemeral: true` (regenerate it with -g), "
                "and, on Synapse, experimental_features msc2409_to_device_messages_enabled and "
                "msc3202_transaction_extensions. Or set encryption.enabled: false."
            ) from e
        await forget_other_devices(self.client)

    async def _keys_on_server(self) -> bool:
        try:
            resp = await self.client.query_keys([self.bot_mxid])
        except MatrixRequestError as e:  # M_UNKNOWN_DEVICE: acting as a deleted device
            log.warning("Querying the bridge's own keys failed: %s", e)
            return False
        device = resp.device_keys.get(self.bot_mxid, {}).get(self.client.device_id)
        return device is not None and len(device.keys) > 0

    async def ensure_department_devices(self, mxids: list[str]) -> int:
        """A device for every department account that has none (at start, after a roster
        change); returns how many were made."""
        return await self.ghosts.ensure_all(mxids) if self.ghosts is not None else 0

    def devices_missing(self, mxids: list[str]) -> dict[str, str]:
        """Which of these accounts have no device of their own after the last try, and why:
        the bot's device stands in for them (it joins their encrypted DMs) until a try works."""
        failed = self.ghosts.failed if self.ghosts is not None else {}
        return {m: failed[m] for m in mxids if m in failed}

    def _device_of(self, mxid: str) -> GhostDevice | None:
        if mxid == self.bot_mxid:
            return self.bot_device
        return self.ghosts.get(mxid) if self.ghosts is not None else None

    async def stop(self) -> None:
        for task in list(self._checks):
            task.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)
        await self.inbox.stop()
        if self.ghosts is not None:
            await self.ghosts.stop()
        await self.store.close()
        await self.client.api.session.close()

    # The endpoint: what a transaction carries besides room events ------------------------------
    async def handle_transaction(self, body: dict[str, Any]) -> None:
        """To-device messages, device-list changes and one-time-key counts (MSC2409/MSC3202),
        handled before the transaction is acknowledged. One bad item is logged, never fatal."""
        for raw in _field(body, "to_device", "de.sorunome.msc2409") or []:
            device = self._device_of(str(raw.get("to_user_id")))
            await (device or self.bot_device).inbox.handle(raw)
        lists = _field(body, "device_lists", "org.matrix.msc3202")
        if isinstance(lists, dict) and lists.get("changed"):
            try:
                # The device table is shared: one machine fetches, every account's sessions in
                # the rooms of those users rotate.
                await self.machine.handle_as_device_lists(DeviceLists.deserialize(lists))
                await self._devices_changed(lists["changed"])
            except Exception:
                log.exception("Device list changes failed")
        counts = _field(body, "device_one_time_keys_count", "org.matrix.msc3202") or {}
        for user, devices in counts.items():
            device = self._device_of(user)
            if device is None:
                continue
            # Only our device's count: Synapse also reports the account's cross-signing keys
            # (hidden devices), for which mautrix logged a warning each transaction, 99% of an
            # hour's log (seen in the demo with Element).
            own = {dev: c for dev, c in devices.items() if dev == device.machine.client.device_id}
            if not own:
                continue
            try:
                await device.machine.handle_as_otk_counts({user: {
                    dev: DeviceOTKCount.deserialize(c) for dev, c in own.items()}})
            except Exception:
                log.exception("One-time key upload of %s failed", user)

    async def _devices_changed(self, users: list[str]) -> None:
        if self.bot_mxid in users:  # the bot's own device deleted while we run: made again
            self._in_background(self._check_bot())
        if self.ghosts is None or not len(self.ghosts):
            return
        for user in users:
            for room_id in await self.state_store.find_shared_rooms(user):
                await self._forget_outbound(room_id)
        own = [u for u in users if self.ghosts.get(u) is not None]
        if own:  # a department's device deleted on the homeserver while we run: made again
            self._in_background(self._check_own(own))

    def _in_background(self, check: Coroutine[Any, Any, None]) -> None:
        """A device check started from a transaction, which is not held for it."""
        task = asyncio.create_task(check)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check_bot(self) -> None:
        """The bot's device gone from the homeserver (an administrator deleted it): a new one
        now, as at a start. Without it the bot cannot read the encrypted officers' rooms, and
        the homeserver refuses what is sent as the old device."""
        old = self.device_id
        try:
            async with self._bot_check:  # (making the device is itself a device-list change)
                if await self._keys_on_server():
                    return
                log.warning("The bridge's device %s was deleted on the homeserver; making a new "
                            "one", old)
                await self.store.delete()
                # A store of its own for the new account: the old one's caches hold the old
                # account and its Olm sessions.
                self.store = self.machine.crypto_store = PgCryptoStore(self.bot_mxid, PICKLE_KEY, self.db)
                await self.store.open()
                await self._new_device()
        except Exception as e:
            log.exception("Making the bridge's device again failed")
            await self._tell("bot_device_failed", {"old": old, "error": str(e) or type(e).__name__})
            return
        await self._tell("bot_device_made", {"old": old, "new": self.device_id})

    async def _tell(self, kind: str, details: dict[str, str]) -> None:
        """The administrators hear (the runtime's problem reports, as the inbox's)."""
        if self.inbox.on_problem is None:
            return
        try:
            await self.inbox.on_problem(kind, f"{kind}/{time.time_ns()}", details)
        except Exception:
            log.exception("Could not tell the administrators (%s)", kind)

    async def _check_own(self, mxids: list[str]) -> None:
        assert self.ghosts is not None
        try:
            if await self.ghosts.check_on_server(self.client, mxids):
                await self.ghosts.ensure_all(mxids)
        except Exception:
            log.exception("Checking the departments' devices %s failed", mxids)

    async def _forget_outbound(self, room_id: str) -> None:
        """Every account's outbound session in the room (the bot's and the departments'): a new
        one at the next send, shared with the members and devices of that moment."""
        await self.db.execute("DELETE FROM crypto_megolm_outbound_session WHERE room_id=$1",
                              room_id)

    # The inbox: decrypt before the bots see an event ---------------------------------------
    async def observe(self, event: Event) -> None:
        """State that matters to encryption: a room turning encryption on, members changing
        (a leave rotates the Megolm session, so a departed officer cannot read what follows)."""
        if event.type == EventType.ROOM_ENCRYPTION:
            self._plain.discard(event.room_id)
            await self._join_turned_encrypted(event.room_id)
        elif event.type == EventType.ROOM_MEMBER and isinstance(event, StateEvent):
            if event.state_key == self.bot_mxid:
                if event.content.membership == Membership.JOIN:
                    self._bot_in.add(event.room_id)
                else:
                    self._bot_in.discard(event.room_id)
            prev = event.unsigned.get("prev_content") if event.unsigned else None
            # The same membership again is a new name or avatar: no new session for that.
            unchanged = getattr(prev, "membership", None) == event.content.membership
            if not unchanged and not self.config.is_own_user(event.state_key) and \
                    await self.state_store.get_encryption_info(event.room_id) is not None:
                # Any membership change of a person starts a new Megolm session at the next send,
                # shared with the members of that moment: someone who left cannot read on, and
                # someone invited or joined (e.g. an officer added by a roster edit) can.
                # (mautrix's handle_member_event needs each event's previous membership, which
                # the pushed events do not always carry.)
                log.debug("Membership of %s in %s changed: new session at the next send",
                          event.state_key, event.room_id)
                await self._forget_outbound(event.room_id)
                if event.content.membership == Membership.JOIN:
                    # A device added while only invited was never reported (see
                    # _refresh_devices): look again now that the member shares the room.
                    try:
                        await self.machine._fetch_keys([event.state_key], include_untracked=True)
                    except Exception as e:
                        log.warning("Could not refresh the devices of %s: %s", event.state_key, e)

    async def decrypt(self, event: EncryptedEvent) -> Event:
        """The decrypted event, or the encrypted one if its key will never come.

        The key is with the device it was shared with: a department's own, for the rooms the
        department is in, or the bot's (see _candidates). A key still on its way (to-device
        messages may arrive after the room event) is waited for, up to
        `encryption.key_wait_seconds` after the event was sent; a crash meanwhile leaves the
        event in the inbox, to be tried again. After that the bots get the encrypted event, and
        tell the sender it could not be read.
        """
        session_id = str(event.content.session_id)
        candidates = await self._candidates(event.room_id)
        try:
            holder = await self._holder(candidates, event.room_id, session_id) or \
                await self._key_arrives(event, session_id, candidates)
            if holder is None:
                log.warning("No key for %s in %s (session %s): passed on undecrypted",
                            event.event_id, event.room_id, session_id)
                return event
            return await holder.machine.decrypt_megolm_event(event)
        except DecryptionError as e:  # a replayed index, a forged sender, a withheld key
            log.warning("Cannot decrypt %s in %s: %s", event.event_id, event.room_id, e)
            return event

    async def _candidates(self, room_id: str) -> list[GhostDevice]:
        """The devices of ours a member of the room may have shared a key with: the departments'
        in it, then the bot's (every room made before the departments had devices)."""
        found = []
        if self.ghosts is not None and len(self.ghosts):
            for mxid in await self.state_store.get_members(room_id, (Membership.JOIN,)):
                device = self.ghosts.get(mxid)
                if device is not None:
                    found.append(device)
        return [*found, self.bot_device]

    @staticmethod
    async def _holder(candidates: list[GhostDevice], room_id: str,
                      session_id: str) -> GhostDevice | None:
        for device in candidates:
            if await device.machine.crypto_store.has_group_session(room_id, session_id):
                return device
        return None

    async def _key_arrives(self, event: EncryptedEvent, session_id: str,
                           candidates: list[GhostDevice]) -> GhostDevice | None:
        """Wait for a missing Megolm key: on its way in a push, or already in a device's inbox
        on the homeserver, never pushed (sent while the bridge was down, or in a push cut off by
        a crash: bridge/crypto/to_device.py)."""
        sent = event.timestamp / 1000

        async def have() -> GhostDevice | None:  # (the key may have come since the first try)
            return await self._holder(candidates, event.room_id, session_id)

        joined = self._joined_at.get(event.room_id)
        if candidates == [self.bot_device] and joined is not None and event.timestamp < joined:
            # Sent before the bot joined: the sender's client never shared the key with
            # the bot's device, and never will. No point waiting for it.
            return await have()

        async def look(not_before: float) -> GhostDevice | None:
            for device in candidates:
                try:
                    await device.inbox.read(not_before)
                except Exception as e:
                    log.warning("Reading the to-device inbox of %s failed: %s", device.mxid, e)
            return await have()

        # Any read of the inbox that began a little after the event was sent had its key.
        found = await have() or await look(not_before=sent + 2)
        if found is not None:
            return found
        wait = self.key_wait - (time.time() - sent)
        if wait > 0:
            waits = [asyncio.create_task(d.machine.wait_for_session(
                event.room_id, session_id, timeout=wait)) for d in candidates]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
            found = await have()
            if found is not None:
                return found
        return await look(not_before=time.time())  # a last look: pushed to nobody meanwhile

    # The outbox: encrypt what goes into encrypted rooms ---------------------------------------
    async def is_encrypted(self, room_id: str, sender: str) -> bool:
        if room_id in self._encrypted:  # (encryption cannot be turned off again)
            return True
        if room_id in self._plain:
            return False
        if await self.state_store.get_encryption_info(room_id) is not None:
            self._encrypted.add(room_id)
            return True
        try:
            content = await self.az.intent.user(sender).get_state_event(
                room_id, EventType.ROOM_ENCRYPTION, ensure_joined=False
            )
        except MNotFound:
            self._plain.add(room_id)
            return False
        except MForbidden:
            # The sender cannot read the room (not in it): nothing can be sent there as it, so
            # the send goes ahead unencrypted and the homeserver refuses it for good (a dead
            # letter the administrators are told of) instead of being retried for a day.
            return False
        if not isinstance(content, RoomEncryptionStateEventContent):
            content = RoomEncryptionStateEventContent.deserialize(content.serialize())
        await self.state_store.set_encryption_info(room_id, content)
        self._encrypted.add(room_id)
        return True

    async def encrypt(
        self, room_id: str, sender: str, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """(m.room.encrypted, ciphertext content) for an encrypted room, None for another."""
        if not await self.is_encrypted(room_id, sender):
            return None
        device = await self._sending_device(room_id, sender)
        machine = device.machine
        etype = EventType.find(event_type, EventType.Class.MESSAGE)
        try:
            encrypted = await machine.encrypt_megolm_event(room_id, etype, content)
        except EncryptionError:
            # No session yet, or it was rotated (a member left, a limit reached): share a new one
            # with every member's devices before the first message encrypted with it.
            await self._share(device, room_id)
            encrypted = await machine.encrypt_megolm_event(room_id, etype, content)
        return EventType.ROOM_ENCRYPTED.t, encrypted.serialize()

    async def _sending_device(self, room_id: str, sender: str) -> GhostDevice:
        """A department's (or service account's) message is encrypted by its own device, made
        now if the background has not made it yet; the bot's by the bot's, which then joins."""
        if self.ghosts is not None and sender != self.bot_mxid and \
                self.config.is_own_user(sender):
            try:
                return await self.ghosts.ensure(sender)
            except Exception as e:  # the bot's device stands in, as before
                log.warning("No encryption device for %s (%s): the bot's encrypts", sender, e)
        await self._bot_joins(room_id, sender)
        return self.bot_device

    async def _share(self, device: GhostDevice, room_id: str) -> None:
        lock = self._sharing.setdefault(f"{device.mxid} {room_id}", asyncio.Lock())
        async with lock:
            session = await device.machine.crypto_store.get_outbound_group_session(room_id)
            if session is not None and session.shared and not session.expired:
                return  # another lane shared it while this one waited
            users = await self._members(room_id, device.mxid)
            await self._refresh_devices(room_id, users)
            await device.machine.share_group_session(room_id, users)

    async def _refresh_devices(self, room_id: str, users: list[str]) -> None:
        """Ask the homeserver again for the devices of members we know no device of.

        The homeserver reports a user's new device only to those who share a joined room with
        them: an officer invited to an officers' room, who first signs in to Element while still
        invited, is stored with no device and would be skipped by every new session (mautrix
        fetches only users it has never looked up), reading nothing of the cases. One query per
        session shared, for those users only; an officer who never signed in costs that query.
        """
        empty = [u for u in users if await self.store.get_devices(u) == {}]
        if not empty:
            return
        try:
            await self.machine._fetch_keys(empty, include_untracked=True)
        except Exception as e:  # the share goes on with what is known
            log.warning("Could not refresh the devices of %d member(s) of %s: %s", len(empty),
                        room_id, e)

    async def _members(self, room_id: str, reader: str) -> list[str]:
        """Joined and invited members, read from the homeserver: the state store only knows
        what was pushed since the bridge joined (a citizen's DM began before that). Reading them
        also records them there, so that a member's new device (a device-list change) rotates the
        session in this room too (mautrix's OlmMachine finds the rooms through the store)."""
        events = await self.az.intent.user(reader).get_members(room_id)
        return sorted({
            e.state_key for e in events
            if e.content.membership in (Membership.JOIN, Membership.INVITE)
            and not self.config.is_own_user(e.state_key)
        })

    async def _join_turned_encrypted(self, room_id: str) -> None:
        """A citizen turned encryption on in a DM (Element offers it on every unencrypted DM):
        the bot's device joins at once, so that the citizen's next message is shared with it.
        Before, the first message after the switch was shared with nobody on our side and the
        citizen was asked to send it again."""
        if room_id in self._bot_in or await self.state_store.is_joined(room_id, self.bot_mxid):
            return
        ours = [m for m in await self.state_store.get_members(room_id, (Membership.JOIN,))
                if self.config.is_own_user(m) and m != self.bot_mxid]
        if not ours:
            return  # none of our accounts is in the room: nothing of ours to read there
        if any(self._device_of(m) is not None for m in ours):
            return  # a department's own device is in it: members share their keys with it
        try:
            await self._bot_joins(room_id, ours[0])
        except Exception as e:  # the first encrypted message then asks for a resend, as before
            log.warning("The bot could not join %s after encryption was turned on: %s", room_id, e)

    async def _bot_joins(self, room_id: str, sender: str) -> None:
        """The bot's device must be in the room for members to share their keys with it."""
        if room_id in self._bot_in:
            return
        if await self.state_store.is_joined(room_id, self.bot_mxid):
            self._bot_in.add(room_id)
            return
        if sender != self.bot_mxid:
            try:
                await self.az.intent.user(sender).invite_user(room_id, self.bot_mxid)
            except Exception as e:  # already invited or joined: the join below tells
                log.debug("Inviting the bot into %s: %s", room_id, e)
        await self.az.intent.join_room_by_id(room_id)
        self._bot_in.add(room_id)
        if sender != self.bot_mxid:
            await self._keep_name(room_id, sender)
        try:  # the join's own timestamp: the homeserver's clock, like the messages'
            join = await self.az.intent.get_state_event(
                room_id, EventType.ROOM_MEMBER, self.bot_mxid, format="event")
            self._joined_at[room_id] = int(join.timestamp)
        except Exception as e:
            log.debug("Could not read the bot's join in %s: %s", room_id, e)

    async def _keep_name(self, room_id: str, ghost: str) -> None:
        """Element names a room without a name of its own after its other members: once the bot
        is in it, a citizen's DM with a department reads "<department> and 网上值班室", and loses
        the department's picture. So the account that brought the bot in names the room after
        itself, with its avatar (Element's DMs give both members the power to). Best effort: a
        room it may not name keeps the name Element makes up."""
        intent = self.az.intent.user(ghost)
        try:
            try:
                await intent.get_state_event(room_id, EventType.ROOM_NAME)
                return  # named by someone: not ours to change
            except MNotFound:
                pass
            profile = await intent.get_profile(ghost)
            if profile.displayname:
                await intent.set_room_name(room_id, profile.displayname)
            if profile.avatar_url:
                await intent.send_state_event(room_id, EventType.ROOM_AVATAR,
                                              {"url": profile.avatar_url})
        except MatrixRequestError as e:
            log.info("Could not name %s after %s: %s", room_id, ghost, e)


def _field(body: dict[str, Any], name: str, unstable_prefix: str) -> Any:
    return body.get(name, body.get(f"{unstable_prefix}.{name}"))
