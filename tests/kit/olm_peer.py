"""The bridge's Olm machine on a real database, and an Olm peer writing to it, with no homeserver:
for tests that kill a process while it handles a to-device message.

Run as `python -m tests.kit.olm_peer DATABASE_URL MESSAGE.json` it handles the message as the
bridge does and is SIGKILLed the moment mautrix stores the Megolm key it carried (after the Olm
session's new state): the crash the inbox's transaction is for.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import olm
from mautrix.crypto import PgCryptoStore
from mautrix.types import EncryptionAlgorithm, RoomEncryptionStateEventContent
from mautrix.util.async_db import Database

from bridge.crypto.machine import BridgeOlmMachine, CryptoClient
from bridge.crypto.manager import PICKLE_KEY
from bridge.crypto.to_device import ToDeviceInbox
from bridge.db import upgrade_table

BOT, DEVICE = "@dutyroom_bot:localhost", "BOTDEVICE"
PEER, PEER_DEVICE = "@officer:localhost", "OFFICERDEVICE"
ROOM = "!officers:localhost"


class RoomsAllEncrypted:
    """The one question handling a room key asks of the state store."""

    async def get_encryption_info(self, room_id: str) -> RoomEncryptionStateEventContent:
        return RoomEncryptionStateEventContent(algorithm=EncryptionAlgorithm.MEGOLM_V1)


async def open_bot(url: str) -> tuple[Database, BridgeOlmMachine, ToDeviceInbox]:
    """As the runtime opens it (one SQLite connection), with the bot's account made or loaded."""
    opts = {"min_size": 1} if url.startswith("sqlite") else {}
    db = Database.create(url, upgrade_table=upgrade_table, db_args=opts)
    await db.start()
    await PgCryptoStore.upgrade_table.upgrade(db)
    store = PgCryptoStore(BOT, PICKLE_KEY, db)
    await store.open()
    client = CryptoClient(mxid=BOT, base_url="http://127.0.0.1:9", token="unused")
    client.device_id = DEVICE
    machine = BridgeOlmMachine(client, store, RoomsAllEncrypted())  # type: ignore[arg-type]
    await machine.load()
    return db, machine, ToDeviceInbox(machine, db, BOT, readable=False)


def olm_message(machine: BridgeOlmMachine, sender_key: str, body: str, kind: int) -> dict[str, Any]:
    return {"type": "m.room.encrypted", "sender": PEER, "to_user_id": BOT, "to_device_id": DEVICE,
            "content": {"algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": sender_key,
                        "ciphertext": {machine.account.identity_key: {"type": kind,
                                                                      "body": body}}}}


async def room_key_message(machine: BridgeOlmMachine) -> tuple[dict[str, Any], olm.OutboundGroupSession]:
    """An officer's device sharing a new Megolm session with the bot's, as Element does: a
    one-time key of the bot's claimed, an Olm session started with it, m.room_key inside."""
    machine.account.generate_one_time_keys(1)
    one_time_key = next(iter(machine.account.one_time_keys["curve25519"].values()))
    machine.account.mark_keys_as_published()
    await machine.crypto_store.put_account(machine.account)
    peer = olm.Account()
    session = olm.OutboundSession(peer, machine.account.identity_key, one_time_key)
    group = olm.OutboundGroupSession()
    payload = {
        "type": "m.room_key", "sender": PEER, "sender_device": PEER_DEVICE,
        "keys": {"ed25519": peer.identity_keys["ed25519"]},
        "recipient": BOT, "recipient_keys": {"ed25519": machine.account.signing_key},
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "room_id": ROOM,
                    "session_id": group.id, "session_key": group.session_key},
    }
    sealed = session.encrypt(json.dumps(payload))
    message = olm_message(machine, peer.identity_keys["curve25519"], sealed.ciphertext,
                          sealed.message_type)
    return message, group


async def _killed_while_storing_the_key(url: str, message: dict[str, Any]) -> None:
    db, machine, inbox = await open_bot(url)

    async def die(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    machine.crypto_store.put_group_session = die  # type: ignore[method-assign]
    await inbox.handle(message)
    await db.stop()  # not reached


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as f:
        asyncio.run(_killed_while_storing_the_key(sys.argv[1], json.load(f)))
