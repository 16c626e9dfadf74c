"""mautrix's Olm machine, with everything one to-device message changes stored at once.

Handling an Olm-encrypted room key writes twice: the Olm session's new state (an Olm message
decrypts once: the ratchet moves on) and then the Megolm key it carried. A crash between the two
(seen in the suite: a SIGKILL during a restart test) left the session advanced and the key
missing, and the copy of the message read back from the inbox (bridge/crypto/to_device.py)
could no longer be decrypted: every message of that Megolm session was lost. So the inbox handles
each message inside one database transaction (`atomically`): a crash leaves neither write, and
the message decrypts again when it is read back.

Two things mautrix does while handling must not happen inside that transaction:
- waking a decryption waiting for the key (`wait_for_session`): it would look for the key on
  another connection before the commit and not find it. Waiters are woken after the commit.
- background tasks (mautrix's unwedging of a broken Olm session, handlers of decrypted events):
  asyncio copies the context into them, and with it mautrix's connection context variable, so
  they would run their queries on the transaction's connection, during it or after it went back
  to the pool. They start with the context variables cleared.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.errors import EncryptionError
from mautrix.types import (
    EncryptedMegolmEventContent,
    EventType,
    IdentityKey,
    RelatesTo,
    RoomID,
    Serializable,
    SessionID,
    UserID,
)
from mautrix.util.async_db.database import conn_var

try:  # SQLite's nested transactions are skipped while this is set (mautrix's aiosqlite layer)
    from mautrix.util.async_db.aiosqlite import in_transaction
except ImportError:  # pragma: no cover - aiosqlite missing: PostgreSQL only
    in_transaction = None


def _clear_db_context() -> None:
    conn_var.set(None)
    if in_transaction is not None:
        in_transaction.set(False)


@contextmanager
def _outside_transaction() -> Iterator[None]:
    """Tasks created in this block start on a connection of their own."""
    token = conn_var.set(None)
    txn = in_transaction.set(False) if in_transaction is not None else None
    try:
        yield
    finally:
        if txn is not None and in_transaction is not None:
            in_transaction.reset(txn)
        conn_var.reset(token)


class CryptoClient(Client):
    """The machine's client: the handlers of decrypted to-device events run as tasks of their
    own, outside the transaction of the message that carried them."""

    def dispatch_manual_event(self, *args: Any, **kwargs: Any) -> Any:
        with _outside_transaction():
            return super().dispatch_manual_event(*args, **kwargs)


class _Abandoned(Exception):
    """A cancellation inside the transaction, carried as an Exception so that mautrix's SQLite
    layer rolls back (it rolls back on Exception only, and would leave the transaction open)."""


class BridgeOlmMachine(OlmMachine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[SessionID] | None = None

    @asynccontextmanager
    async def atomically(self) -> AsyncIterator[None]:
        """One transaction for everything the block stores; key waiters woken after it."""
        held: list[SessionID] = []
        self._held = held
        try:
            async with self.crypto_store.transaction():
                try:
                    yield
                except BaseException as e:
                    if isinstance(e, Exception):
                        raise
                    raise _Abandoned() from e
        except _Abandoned as e:
            raise e.__cause__ from None  # type: ignore[misc]
        finally:
            self._held = None
        for session_id in held:  # committed: the key can be found now
            super()._mark_session_received(session_id)

    def _mark_session_received(self, session_id: SessionID) -> None:
        if self._held is not None:
            self._held.append(session_id)
        else:
            super()._mark_session_received(session_id)

    async def _unwedge_session(self, sender: UserID, sender_key: IdentityKey) -> None:
        _clear_db_context()  # a task of its own, started inside a message's transaction
        await super()._unwedge_session(sender, sender_key)

    async def _encrypt_megolm_event(
        self, room_id: RoomID, event_type: EventType, content: Any
    ) -> EncryptedMegolmEventContent:
        """mautrix's, but the plaintext written as Element writes it: UTF-8, compact. mautrix's
        json.dumps escapes each Chinese character as a 6-byte \\uXXXX where Element writes 3
        bytes, so a citizen's long message (9,000 characters: 36 KB encrypted as Element sent
        it) came out of the bridge at 72 KB and the homeserver refused it (M_TOO_LARGE, over
        64 KiB): the officers never saw it."""
        session = await self.crypto_store.get_outbound_group_session(room_id)
        if not session:
            raise EncryptionError("No group session created")
        body = content.serialize() if isinstance(content, Serializable) else content
        ciphertext = session.encrypt(json.dumps(
            {"room_id": room_id, "type": event_type.serialize(), "content": body},
            ensure_ascii=False, separators=(",", ":")))
        relates = body.get("m.relates_to") if isinstance(body, dict) else None
        await self.crypto_store.update_outbound_group_session(session)
        return EncryptedMegolmEventContent(
            sender_key=self.account.identity_key, device_id=self.client.device_id,
            ciphertext=ciphertext, session_id=SessionID(session.id),
            relates_to=RelatesTo.deserialize(relates) if isinstance(relates, dict) else None)
