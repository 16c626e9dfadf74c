"""A throwaway Synapse with the bridge's registration installed, and raw client helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.kit.stack import PREFIX, Stack, start_stack

__all__ = ["NO_DEVICES", "NO_RATE_LIMIT", "PREFIX", "Stack", "start_stack"]

# The relay sections send a citizen's messages as fast as the homeserver takes them, far over
# the per-citizen limit that holds a flood for digests (consultation.rate_limit, issue #20): they
# measure the relay, so the limit is off there. Its own cost is one indexed count per message.
NO_RATE_LIMIT = {"consultation.rate_limit.messages_per_minute": 0,
                 "consultation.rate_limit.new_cases_per_hour": 0}

# The sections that make many departments (provisioning, the province's tree, notices) measure
# what they did before departments had encryption devices; the devices' own cost is section 11
# (bench/devices.py), against its own floor.
NO_DEVICES = {"encryption.department_devices": False}


SYNC_FILTER = '{"room":{"timeline":{"limit":1000}},"presence":{"types":[]}}'


@dataclass
class Client:
    """A plain aiohttp client-server API user."""

    base: str
    user_id: str
    token: str
    session: aiohttp.ClientSession
    since: str | None = None
    seen: dict[str, float] = field(default_factory=dict)  # body marker → receive time

    async def call(self, method: str, path: str, body: Any = None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(method, self.base + path, json=body, params=params,
                                        headers=headers) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data}")
            return data

    async def create_room(self, invite: list[str]) -> str:
        answer = await self.call("POST", "/_matrix/client/v3/createRoom",
                                 {"preset": "private_chat", "invite": invite})
        return str(answer["room_id"])

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"/_matrix/client/v3/join/{quote(room_id)}", {})

    async def send_text(self, room_id: str, body: str) -> None:
        txn = uuid.uuid4().hex
        await self.call("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/send/"
                               f"m.room.message/{txn}", {"msgtype": "m.text", "body": body})

    async def sync_once(self, timeout_ms: int) -> None:
        params = {"filter": SYNC_FILTER, "timeout": str(timeout_ms)}
        if self.since:
            params["since"] = self.since
        answer = await self.call("GET", "/_matrix/client/v3/sync", params=params)
        now = time.perf_counter()
        self.since = str(answer["next_batch"])
        for room in answer.get("rooms", {}).get("join", {}).values():
            for event in room.get("timeline", {}).get("events", []):
                body = event.get("content", {}).get("body")
                if event.get("type") == "m.room.message" and isinstance(body, str):
                    self.seen.setdefault(body, now)

    async def sync_until(self, wanted: set[str], stop_at: float) -> None:
        """Long-poll until every marker in `wanted` was seen or the monotonic deadline passes."""
        while not wanted.issubset(self.seen) and time.monotonic() < stop_at:
            await self.sync_once(5000)


async def one_way(send: Any, receiver: Client, markers: list[str], timeout: float,
                  spacing_s: float) -> list[float]:
    """Send each marker `spacing_s` after the last one's send returned; the receiver long-polls
    meanwhile. Seconds each took."""
    sent_at: dict[str, float] = {}
    task = asyncio.create_task(receiver.sync_until(set(markers), time.monotonic() + timeout))
    await asyncio.sleep(0.2)  # let the long-poll settle in
    for marker in markers:
        sent_at[marker] = time.perf_counter()
        await send(marker)
        await asyncio.sleep(spacing_s)
    await task
    return [receiver.seen[m] - sent_at[m] for m in markers if m in receiver.seen]


async def make_client(stack: Stack, session: aiohttp.ClientSession, localpart: str) -> Client:
    user_id, token = await asyncio.to_thread(stack.synapse.register, localpart)
    client = Client(stack.url, user_id, token, session)
    await client.sync_once(0)  # the starting point: everything after this is new
    return client


async def joined_room(owner: Client, guest: Client) -> str:
    room_id = await owner.create_room([guest.user_id])
    await guest.join(room_id)
    return room_id


def connector_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200), trust_env=False)
