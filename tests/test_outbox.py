"""The outbox against a scripted homeserver endpoint: 429 retry_after_ms, 5xx retry, 4xx give-up.

A unit test in addition to the end-to-end ones: a real Synapse will not produce these failures
on demand.
"""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from aiohttp import web
from mautrix.util.async_db import Database

from bridge.db import OutboxTable, upgrade_table
from bridge.outbox_sender import OutboxSender


async def test_retries_honour_429_and_give_up_on_4xx(tmp_path: Path, aiohttp_server) -> None:
    script = {"!a:x": [429, 500, 200], "!b:x": [403]}
    seen: list[tuple[str, str, float]] = []

    async def send(request: web.Request) -> web.Response:
        room = request.match_info["room"]
        seen.append((room, request.match_info["txn"], time.monotonic()))
        status = script[room].pop(0)
        if status == 429:
            return web.json_response(
                {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 300}, status=429
            )
        if status != 200:
            return web.json_response({"errcode": "M_UNKNOWN", "error": "no"}, status=status)
        return web.json_response({"event_id": f"$sent-{len(seen)}"})

    app = web.Application()
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", send)
    server = await aiohttp_server(app)

    db = Database.create(f"sqlite:{tmp_path}/outbox.db", upgrade_table=upgrade_table)
    await db.start()
    failures: list[str] = []
    async with aiohttp.ClientSession() as session:
        sender = OutboxSender(
            OutboxTable(db), homeserver=str(server.make_url("")), as_token="t",
            session=lambda: session,
        )

        async def on_failure(item, error: str) -> None:
            failures.append(item.key)

        sender.on_failure.append(on_failure)
        await sender.queue("k1", "!a:x", "@bot:x", {"msgtype": "m.text", "body": "hi"})
        await sender.queue("k1", "!a:x", "@bot:x", {"msgtype": "m.text", "body": "hi"})  # again
        await sender.queue("k2", "!b:x", "@bot:x", {"msgtype": "m.text", "body": "no"})
        await sender.queues.idle()

    a_calls = [s for s in seen if s[0] == "!a:x"]
    assert len(a_calls) == 3 and len({txn for _, txn, _ in a_calls}) == 1  # same txn id each time
    assert a_calls[1][2] - a_calls[0][2] >= 0.29  # waited as retry_after_ms said
    assert (await OutboxTable(db).sent_event_id("k1") or "").startswith("$sent-")
    assert failures == ["k2"]
    assert await OutboxTable(db).count("failed") == 1
    await db.stop()
