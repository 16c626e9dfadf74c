"""matrix-nio users that do their own end-to-end encryption (matrix-nio[e2e]), for the E2EE tests.

Each logs in with a password (a real device, with its own keys) and keeps its Olm store in a
folder of its own under the test's tmp_path. After every sync it does what nio's sync_forever
does: upload one-time keys, query changed device lists, claim keys for missing Olm sessions and
send the to-device messages that queued.
"""

from __future__ import annotations

import io
import itertools
import json
import secrets
from pathlib import Path
from typing import Any

import nio

from tests.kit.clients import MatrixUser

_counter = itertools.count(1)


def _json_like_element(content: Any) -> str:
    """What Element's JSON.stringify writes: non-ASCII as UTF-8, where nio's json.dumps writes
    a 6-byte \\uXXXX per Chinese character. Encrypted, that is the size of the event the
    homeserver measures against its 64 KiB limit, so the tests send what Element would."""
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False)


nio.Api.to_json = staticmethod(_json_like_element)  # type: ignore[method-assign]
ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


class TrustingClient(nio.AsyncClient):
    """Sends to unverified devices (the bridge's and everyone else's), as Element does by default."""

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any],
                        tx_id: str | None = None, ignore_unverified_devices: bool = True,
                        ) -> Any:
        return await super().room_send(room_id, message_type, content, tx_id,
                                       ignore_unverified_devices=True)


class EncryptingUser(MatrixUser):
    def __init__(self, homeserver: str, user_id: str, store: Path) -> None:
        super().__init__(homeserver, user_id, "")
        store.mkdir(parents=True, exist_ok=True)
        self.client = TrustingClient(
            homeserver, user_id, store_path=str(store),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )

    async def login(self, password: str) -> None:
        resp = await self.client.login(password, device_name="e2ee test")
        if not isinstance(resp, nio.LoginResponse):
            raise RuntimeError(f"login failed: {resp}")
        await self.client.keys_upload()

    async def sync(self, timeout_ms: int = 1000) -> None:
        await super().sync(timeout_ms)
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def create_encrypted_dm(self, other: str) -> str:
        resp = await self.client.room_create(
            invite=[other], is_direct=True, preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[ENCRYPTION],
        )
        if isinstance(resp, nio.RoomCreateError):
            raise RuntimeError(f"createRoom failed: {resp.message}")
        return resp.room_id

    async def send_encrypted_image(self, room_id: str, data: bytes, name: str,
                                   **extra: Any) -> str:
        """Uploads the image encrypted (as Element does in an encrypted room) and sends it."""
        resp, keys = await self.client.upload(io.BytesIO(data), content_type="image/png",
                                              filename=name, encrypt=True,
                                              filesize=len(data))
        if not isinstance(resp, nio.UploadResponse):
            raise RuntimeError(f"upload failed: {resp}")
        content = {"msgtype": "m.image", "body": name, "info": {"mimetype": "image/png",
                   "size": len(data)}, "file": {"url": resp.content_uri, **keys}, **extra}
        sent = await self.client.room_send(room_id, "m.room.message", content)
        assert hasattr(sent, "event_id"), sent
        return str(sent.event_id)

    async def download_decrypted(self, file: dict[str, Any]) -> bytes:
        resp = await self.client.download(mxc=file["url"])
        assert hasattr(resp, "body"), resp
        return nio.crypto.attachments.decrypt_attachment(
            resp.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"])

    def undecrypted(self, room_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events.get(room_id, []) if e.get("type") == "m.room.encrypted"]


class EncryptingUserFactory:
    """Like tests.kit.clients.UserFactory, for encrypting users with stores under `root`."""

    def __init__(self, stack: Any, root: Path) -> None:
        self.stack = stack
        self.root = root
        self.made: list[EncryptingUser] = []

    async def __call__(self, name: str = "citizen") -> EncryptingUser:
        localpart = f"{name}{next(_counter)}e{secrets.token_hex(2)}"
        user_id, _ = self.stack.synapse.register(localpart, "secret-password")
        user = EncryptingUser(self.stack.url, user_id, self.root / localpart)
        await user.login("secret-password")
        self.made.append(user)
        return user

    async def another_device(self, user: EncryptingUser) -> EncryptingUser:
        """The same account signed in again: a new device, with none of the first's keys."""
        localpart = user.user_id.split(":")[0][1:]
        again = EncryptingUser(self.stack.url, user.user_id, self.root / f"{localpart}-{next(_counter)}")
        await again.login("secret-password")
        self.made.append(again)
        return again

    async def close(self) -> None:
        for user in self.made:
            await user.close()
