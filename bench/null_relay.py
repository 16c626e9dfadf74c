"""The floor for sections 4 and 6: an appservice that relays and does nothing else.

It answers each transaction at once and sends the copies afterwards: no database, no inbox or
outbox, no checks, no retries (so it may lose messages; the bridge may not). One worker per
destination room keeps the order. What it costs, in latency and in CPU per relayed event, is
what the homeserver and aiohttp cost on their own; the bridge is measured against it.

Run by bench/floor.py as its own process, on the loop the bridge uses (uvloop when installed):
    python -m bench.null_relay --port P --homeserver URL --hs-token T --as-token T --routes JSON
where routes maps a source room to {"sender", "to_room", "as_user", "thread_root" (or null)}.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import uuid
from typing import Any
from urllib.parse import quote

from aiohttp import ClientSession, TCPConnector, web

try:
    import uvloop
except ImportError:  # the bridge runs on plain asyncio then too (mautrix's Program decides)
    uvloop = None


class NullRelay:
    def __init__(self, homeserver: str, hs_token: str, as_token: str,
                 routes: dict[str, dict[str, Any]]) -> None:
        self.homeserver = homeserver.rstrip("/")
        self.hs_token = hs_token
        self.as_token = as_token
        self.routes = routes
        self.queues: dict[str, asyncio.Queue[tuple[dict[str, Any], str]]] = {}
        self.session: ClientSession | None = None

    async def transaction(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {self.hs_token}".encode()):
            return web.json_response({"errcode": "M_FORBIDDEN"}, status=403)
        body = await request.json()
        for event in body.get("events", []):
            route = self.routes.get(event.get("room_id", ""))
            if (route is None or event.get("type") != "m.room.message"
                    or event.get("sender") != route["sender"]):
                continue
            text = event.get("content", {}).get("body", "")
            self._queue(route["to_room"]).put_nowait((route, text))
        return web.json_response({})

    async def ping(self, _: web.Request) -> web.Response:
        return web.json_response({})

    def _queue(self, room_id: str) -> asyncio.Queue[tuple[dict[str, Any], str]]:
        if room_id not in self.queues:
            self.queues[room_id] = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._send_in_order(room_id))
        return self.queues[room_id]

    async def _send_in_order(self, room_id: str) -> None:
        queue = self.queues[room_id]
        while True:
            route, text = await queue.get()
            txn = uuid.uuid4().hex
            # The same shape as the bridge's copies, so the homeserver does the same work for
            # them: no mentions, and the transaction ID in the content.
            content: dict[str, Any] = {"msgtype": "m.text", "body": text, "m.mentions": {},
                                       "org.dutyroom.txn": txn}
            if route.get("thread_root"):
                content["m.relates_to"] = {
                    "rel_type": "m.thread", "event_id": route["thread_root"],
                    "is_falling_back": True, "m.in_reply_to": {"event_id": route["thread_root"]},
                }
            url = (f"{self.homeserver}/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
                   f"/send/m.room.message/{txn}")
            assert self.session is not None
            async with self.session.put(
                url, json=content, params={"user_id": route["as_user"]},
                headers={"Authorization": f"Bearer {self.as_token}"},
            ) as resp:
                await resp.read()


async def serve(args: argparse.Namespace) -> None:
    relay = NullRelay(args.homeserver, args.hs_token, args.as_token, json.loads(args.routes))
    relay.session = ClientSession(connector=TCPConnector(limit=0))
    app = web.Application()
    app.router.add_put("/_matrix/app/v1/transactions/{txn}", relay.transaction)
    app.router.add_post("/_matrix/app/v1/ping", relay.ping)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await relay.session.close()
        await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--homeserver", required=True)
    p.add_argument("--hs-token", required=True)
    p.add_argument("--as-token", required=True)
    p.add_argument("--routes", required=True)
    args = p.parse_args()
    (uvloop.run if uvloop is not None else asyncio.run)(serve(args))


if __name__ == "__main__":
    main()
