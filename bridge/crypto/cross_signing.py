"""Cross-signing for the bridge's devices: each account signs its own device.

Element shows a red shield, "Encrypted by a device not verified by its owner", on every message
from a device that its owner's cross-signing identity has not signed, and a user without any
such identity is no better. So the bot and every department account get a cross-signing identity
(master, self-signing and user-signing keys, made here and published without interactive auth:
the homeserver lets an account upload its first ones, MSC3967) and sign their device with it.
Their messages then show as from an identity the reader has not verified, which Element does not
mark. The private keys stay in the bridge's database (`cross_signing_seeds`), so that a device
made again later is signed by the same identity, and readers are not told that it changed.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.crypto.cross_signing_key import CrossSigningSeeds
from mautrix.crypto.signature import sign_olm
from mautrix.errors import MatrixRequestError
from mautrix.types import KeyID

if TYPE_CHECKING:
    from mautrix.util.async_db import Database

    from .machine import BridgeOlmMachine

log = logging.getLogger("dutyroom.crypto.cross_signing")


class Refused(Exception):
    """The homeserver answered a signature upload with failures."""


def _encode(seeds: CrossSigningSeeds) -> str:
    return ".".join(base64.b64encode(s).decode() for s in seeds)


def _decode(text: str) -> CrossSigningSeeds:
    return CrossSigningSeeds(*(base64.b64decode(part) for part in text.split(".")))


async def signed_accounts(db: Database) -> set[str]:
    return {row["account_id"] for row in await db.fetch("SELECT account_id FROM cross_signing_seeds")}


async def sign_device(db: Database, machine: BridgeOlmMachine) -> bool:
    """Sign the machine's device with its account's identity, made and published first if the
    account has none yet. False (logged) if the homeserver refused: the device works, unsigned."""
    mxid, device_id = machine.client.mxid, machine.client.device_id
    stored = await db.fetchval("SELECT seeds FROM cross_signing_seeds WHERE account_id=$1", mxid)
    try:
        if stored is None:
            # Kept before they are published: a crash in between must not leave the homeserver
            # with keys the bridge lost (replacing them would need interactive auth).
            seeds = CrossSigningSeeds.generate()
            await db.execute("INSERT INTO cross_signing_seeds (account_id, seeds) VALUES ($1, $2)",
                             mxid, _encode(seeds))
            try:
                await machine._publish_cross_signing_keys(seeds.to_keys())
            except MatrixRequestError:  # refused: not published, so not kept either
                await db.execute("DELETE FROM cross_signing_seeds WHERE account_id=$1", mxid)
                raise
            await _sign(machine, seeds)
        else:
            seeds = _decode(stored)
            try:
                await _sign(machine, seeds)
            except (MatrixRequestError, Refused):  # stored; a crash came before publishing
                await machine._publish_cross_signing_keys(seeds.to_keys())
                await _sign(machine, seeds)
        return True
    except (MatrixRequestError, Refused) as e:
        log.warning("Could not cross-sign the device %s of %s (Element will mark its messages "
                    "as from an unverified device): %s", device_id, mxid, e)
        return False


async def _sign(machine: BridgeOlmMachine, seeds: CrossSigningSeeds) -> None:
    mxid, device_id = machine.client.mxid, machine.client.device_id
    ssk = seeds.to_keys().self_signing_key
    keys = machine.account.get_device_keys(mxid, device_id)
    keys.signatures = {mxid: {KeyID.ed25519(ssk.public_key): sign_olm(keys, ssk)}}
    # (mautrix's upload_one_signature ignores the answer's `failures`: a signature the
    # homeserver refused, e.g. by a self-signing key it does not know, is answered 200.)
    answer = await machine.client.api.request(
        Method.POST, ApiPath.v3.keys.signatures.upload, {mxid: {device_id: keys.serialize()}})
    if answer.get("failures"):
        raise Refused(str(answer["failures"]))
