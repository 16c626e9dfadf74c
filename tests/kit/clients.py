"""Real Matrix clients (matrix-nio) playing citizens and officers."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import nio

_user_counter = itertools.count(1)

Predicate = Callable[[dict[str, Any]], bool]


class MatrixUser:
    def __init__(self, homeserver: str, user_id: str, access_token: str) -> None:
        self.user_id = user_id
        self.client = nio.AsyncClient(homeserver, user_id)
        self.client.access_token = access_token
        self.client.user_id = user_id
        self.client.device_id = "TESTDEVICE"
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.invites: set[str] = set()
        self.receipts: dict[str, set[tuple[str, str]]] = {}  # room → (event ID, reader)
        self._since: str | None = None
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        await self.client.close()
        if self._http is not None:
            await self._http.close()

    async def sync(self, timeout_ms: int = 1000) -> None:
        # Synapse's default timeline limit (10) would silently drop bursts between two syncs.
        resp = await self.client.sync(
            timeout=timeout_ms, since=self._since, full_state=False,
            sync_filter={"room": {"timeline": {"limit": 1000}}},
        )
        if isinstance(resp, nio.SyncError):
            raise RuntimeError(f"sync failed: {resp.message}")
        self._since = resp.next_batch
        for room_id, room in resp.rooms.join.items():
            self.events.setdefault(room_id, []).extend(e.source for e in room.timeline.events)
            for ephemeral in room.ephemeral:
                if isinstance(ephemeral, nio.ReceiptEvent):
                    self.receipts.setdefault(room_id, set()).update(
                        (r.event_id, r.user_id) for r in ephemeral.receipts)
        for room_id in resp.rooms.invite:
            self.invites.add(room_id)

    async def wait_for(
        self, room_id: str, predicate: Predicate, timeout: float = 30, count: int = 1
    ) -> list[dict[str, Any]]:
        """Wait until `count` events in the room satisfy the predicate; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events.get(room_id, []) if predicate(e)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.user_id}: {len(found)}/{count} matching events in {room_id}; "
                    f"last events: {self.events.get(room_id, [])[-5:]}"
                )
            await self.sync(500)

    async def wait_for_invite(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while not self.invites:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user_id}: no invite")
            await self.sync(500)
        return self.invites.pop()

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        """A raw client-server API call, for what nio does not wrap."""
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        url = str(self.client.homeserver) + path
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.request(method, url, json=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def history(self, room_id: str) -> list[dict[str, Any]]:
        """The room's whole timeline from the server (oldest first), independent of syncs."""
        events: list[dict[str, Any]] = []
        token = ""
        while True:
            path = f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=500"
            status, body = await self.request("GET", path + (f"&from={token}" if token else ""))
            assert status == 200, body
            events.extend(body.get("chunk", []))
            if not body.get("end") or not body.get("chunk"):
                return list(reversed(events))
            token = body["end"]

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.post(
            f"{self.client.homeserver}/_matrix/media/v3/upload",
            params={"filename": filename}, data=data,
            headers={"Authorization": f"Bearer {self.client.access_token}", "Content-Type": mime},
        ) as resp:
            body = await resp.json()
            assert resp.status == 200, body
            return body["content_uri"]

    async def create_dm(self, other: str) -> str:
        resp = await self.client.room_create(
            invite=[other], is_direct=True, preset=nio.RoomPreset.trusted_private_chat
        )
        if isinstance(resp, nio.RoomCreateError):
            raise RuntimeError(f"createRoom failed: {resp.message}")
        return resp.room_id

    async def join(self, room: str) -> str:
        resp = await self.client.join(room)
        if isinstance(resp, nio.JoinError):
            raise RuntimeError(f"join {room} failed: {resp.status_code} {resp.message}")
        return resp.room_id

    async def send_text(self, room_id: str, text: str, **extra: Any) -> nio.Response:
        return await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text, **extra}
        )

    async def members(self, room_id: str) -> dict[str, str]:
        status, body = await self.request("GET", f"/_matrix/client/v3/rooms/{room_id}/members")
        assert status == 200, body
        return {e["state_key"]: e["content"]["membership"] for e in body["chunk"]}


async def eventually(check: Callable[[], Any], timeout: float = 30, interval: float = 0.2) -> Any:
    """Poll an async or sync check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


class UserFactory:
    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.made: list[MatrixUser] = []

    async def __call__(self, name: str = "citizen") -> MatrixUser:
        localpart = f"{name}{next(_user_counter)}{secrets.token_hex(2)}"
        user_id, token = self.stack.synapse.register(localpart, "secret-password")
        user = MatrixUser(self.stack.url, user_id, token)
        self.made.append(user)
        return user


