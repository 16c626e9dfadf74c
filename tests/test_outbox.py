"""The outbox against a scripted homeserver endpoint: 429 retry_after_ms, 5xx retry, 4xx give-up.

A unit test in addition to the end-to-end ones: a real Synapse will not produce these failures
on demand.
"""

from __future__ import annotations

import asyncio
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
    state, event_id = await OutboxTable(db).state_of("k1") or ("", "")
    assert state == "sent" and (event_id or "").startswith("$sent-")
    assert failures == ["k2"]
    assert await OutboxTable(db).count("failed") == 1
    await db.stop()


async def test_threads_send_in_parallel_each_in_order(tmp_path: Path, aiohttp_server) -> None:
    """Two threads in one room: their messages overlap in time, each thread keeps its order, a
    failure in one thread holds only that thread, and a room notice waits for both."""
    log: list[tuple[str, str, float, float]] = []  # (body, phase, start, end)
    fail_once = {"a2"}
    roots: dict[str, str] = {}

    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        start = time.monotonic()
        if body["body"] in fail_once:
            fail_once.discard(body["body"])
            return web.json_response({"errcode": "M_UNKNOWN"}, status=502)
        await asyncio.sleep(0.05)
        rel = body.get("m.relates_to", {})
        log.append((body["body"], rel.get("event_id", ""), start, time.monotonic()))
        event_id = f"$ev-{body['body']}"
        if not rel:
            roots[body["body"]] = event_id
        return web.json_response({"event_id": event_id})

    async def history(_: web.Request) -> web.Response:
        return web.json_response({"chunk": []})  # the retry's look for a copy that went through

    app = web.Application()
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", send)
    app.router.add_get("/_matrix/client/v3/rooms/{room}/messages", history)
    server = await aiohttp_server(app)
    db = Database.create(f"sqlite:{tmp_path}/outbox.db", upgrade_table=upgrade_table)
    await db.start()
    async with aiohttp.ClientSession() as session:
        sender = OutboxSender(OutboxTable(db), homeserver=str(server.make_url("")), as_token="t",
                              session=lambda: session, max_backoff=0.1)

        def in_thread(root: str, body: str) -> dict:
            return {"msgtype": "m.text", "body": body,
                    "m.relates_to": {"rel_type": "m.thread", "event_id": f"$$outbox:{root}"}}

        room = "!officers:x"
        await sender.queue("root-a", room, "@bot:x", {"msgtype": "m.notice", "body": "ra"})
        await sender.queue("root-b", room, "@bot:x", {"msgtype": "m.notice", "body": "rb"})
        for n in (1, 2, 3):
            await sender.queue(f"a{n}", room, "@bot:x", in_thread("root-a", f"a{n}"))
            await sender.queue(f"b{n}", room, "@bot:x", in_thread("root-b", f"b{n}"))
        await sender.queue("notice", room, "@bot:x", {"msgtype": "m.notice", "body": "n"})
        await sender.queues.idle()
    await db.stop()

    order = [body for body, *_ in log]
    at = {body: (start, end) for body, _, start, end in log}
    assert order[:2] == ["ra", "rb"] and order[-1] == "n"
    assert [b for b in order if b.startswith("a")] == ["a1", "a2", "a3"]
    assert [b for b in order if b.startswith("b")] == ["b1", "b2", "b3"]
    assert at["b1"][0] < at["a1"][1]  # the threads overlapped
    assert at["b3"][1] <= at["a2"][1]  # a2's failure did not hold thread b
    assert at["n"][0] >= max(end for _, _, _, end in log[:-1])
    assert {rel for body, rel, *_ in log if body.startswith("a")} == {"$ev-ra"}
    assert {rel for body, rel, *_ in log if body.startswith("b")} == {"$ev-rb"}


async def test_edits_relayed_before_are_keyed_under_the_message_they_edit(database_url: str) -> None:
    """Migration v10: an edit queued as relay-in/<edit> becomes relay-in/<message>/edit/<edit>,
    a root's status edit goes under the root, and a case's `!历史` record or return notice under
    the case, so that erasing, purging or withdrawing finds them; messages, parts and other
    keys stay as they were."""
    from bridge.db.upgrade.v10_derived_keys import upgrade_v10

    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        table = OutboxTable(db)
        edit = {"msgtype": "m.text", "body": "* 改", "m.new_content": {"msgtype": "m.text", "body": "改"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$$outbox:relay-in/$orig"}}
        for key, content in (("relay-in/$orig", {"msgtype": "m.text", "body": "原文"}),
                             ("relay-in/$orig/part2", {"msgtype": "m.text", "body": "m.replace 之二"}),
                             ("relay-in/$ORIG/part2", {"msgtype": "m.text", "body": "另一条"}),
                             ("relay-in/$edit", edit),
                             ("relay-out/$answer", {"msgtype": "m.text", "body": "答"}),
                             ("relay-out/$fix", {**edit, "m.relates_to": {
                                 "rel_type": "m.replace", "event_id": "$$outbox:relay-out/$answer"}}),
                             ("case/7/root/!r", {"msgtype": "m.notice", "body": "新咨询"}),
                             ("$claim/root-status", {**edit, "m.relates_to": {
                                 "rel_type": "m.replace", "event_id": "$$outbox:case/7/root/!r"}}),
                             ("$ask/history", {"msgtype": "m.notice", "body": "以下是最近", "m.relates_to": {
                                 "rel_type": "m.thread", "event_id": "$$outbox:case/7/root/!r"}}),
                             ("$move/back", {"msgtype": "m.notice", "body": "转回", "m.relates_to": {
                                 "rel_type": "m.thread", "event_id": "$$outbox:case/7/root/!r"}}),
                             ("$x/history", {"msgtype": "m.notice", "body": "别的"})):
            await table.add(key, "!room:localhost", "@bot:localhost", "m.room.message", content)
        async with db.acquire() as conn:
            await upgrade_v10(conn, db.scheme)  # (as mautrix's UpgradeTable calls it)
        keys = {r["key"] for r in await db.fetch("SELECT key FROM outbox")}
        assert keys == {"relay-in/$orig", "relay-in/$orig/part2", "relay-in/$ORIG/part2", "relay-in/$orig/edit/$edit",
                        "relay-out/$answer", "relay-out/$answer/edit/$fix", "case/7/root/!r",
                        "case/7/root/!r/edit/$claim/root-status", "case/7/history/$ask",
                        "case/7/back/$move", "$x/history"}
        # (SQLite's LIKE does not tell $ORIG from $orig; derived_of does)
        assert await table.derived_of("relay-in/$orig") == ["relay-in/$orig/part2", "relay-in/$orig/edit/$edit"]
        assert await table.parts_of("relay-in/$orig") == ["relay-in/$orig/part2"]
    finally:
        await db.stop()
