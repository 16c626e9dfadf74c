"""The appservice endpoint: hs_token checks, transaction durability and deduplication."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.bot_host import BotHost
from tests.kit.bridge import BridgeSettings, InProcessBridge, running_bridge, write_config
from tests.kit.clients import eventually
from tests.kit.recorder import RecorderBot, processed
from tests.kit.stack import Stack

RECORDER = "tests.kit.recorder:RecorderBot"
# The runtime alone: these tests need no rooms, so they skip provisioning them.
ALL_BUILTIN = ["directory", "officers", "admin", "consultation", "mailbox", "complaints"]


def probe(body: str, room: str = "!probe-room:localhost", msgtype: str = "m.text") -> dict[str, Any]:
    return {
        "event_id": f"${secrets.token_urlsafe(12)}",
        "room_id": room,
        "sender": "@someone:localhost",
        "type": "m.room.message",
        "origin_server_ts": 1,
        "content": {"msgtype": msgtype, "body": body},
    }


async def put_txn(stack: Stack, txn_id: str, events: list[Any], token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token or stack.hs_token}"}
    url = f"http://127.0.0.1:{stack.port}/_matrix/app/v1/transactions/{txn_id}"
    async with aiohttp.ClientSession() as session, session.put(
        url, json={"events": events}, headers=headers
    ) as resp:
        return resp.status


@pytest.fixture(autouse=True)
def made_up_transaction_ids(bridge_settings: BridgeSettings) -> None:
    """These tests make up transaction IDs among the homeserver's real ones (the encryption
    device's key counts arrive in transactions too): a gap there is no sign of trouble."""
    bridge_settings.extra["appservice.reconcile_on_txn_anomaly"] = False


@pytest.fixture
async def recorder_bridge(bridge_settings: BridgeSettings, tmp_path: Path):
    bridge_settings.extra["bots.extra"] = [RECORDER]
    bridge_settings.extra["bots.disabled"] = ALL_BUILTIN
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings)) as running:
        yield running


@pytest.mark.parametrize(
    "path,method",
    [
        ("/_matrix/app/v1/transactions/1", "PUT"),
        ("/_matrix/app/v1/users/@dutyroom_x:localhost", "GET"),
        ("/_matrix/app/v1/rooms/%23dutyroom_x:localhost", "GET"),
        ("/_matrix/app/v1/ping", "POST"),
        ("/transactions/1", "PUT"),
    ],
)
async def test_missing_wrong_or_query_tokens_are_forbidden(
    stack: Stack, recorder_bridge: InProcessBridge, path: str, method: str
) -> None:
    base = f"http://127.0.0.1:{stack.port}{path}"
    attempts: list[tuple[str, dict[str, str]]] = [
        (base, {}),
        (base, {"Authorization": "Bearer wrong-token"}),
        (base, {"Authorization": f"Bearer {stack.hs_token}x"}),
        (base, {"Authorization": stack.hs_token}),
        (f"{base}?access_token={stack.hs_token}", {}),
    ]
    async with aiohttp.ClientSession() as session:
        for url, headers in attempts:
            async with session.request(method, url, json={"events": []}, headers=headers) as resp:
                assert resp.status == 403, (url, headers)
                assert (await resp.json())["errcode"] == "M_FORBIDDEN"
        ok = {"Authorization": f"Bearer {stack.hs_token}"}
        async with session.request(method, base, json={"events": []}, headers=ok) as resp:
            assert resp.status != 403


async def test_replays_and_resends_are_processed_once(
    stack: Stack, recorder_bridge: InProcessBridge
) -> None:
    runtime = recorder_bridge.runtime
    first, second = probe("probe 1"), probe("probe 2")
    assert await put_txn(stack, "7001", [first, second]) == 200
    assert await put_txn(stack, "7001", [first, second]) == 200  # the same transaction again
    assert await put_txn(stack, "7002", [second]) == 200  # an event resent in a new transaction
    third = probe("probe 3")
    assert await put_txn(stack, "1", [third]) == 200  # transaction IDs restarted at 1
    assert await put_txn(stack, "1", [third, first]) == 200
    await runtime.idle()
    seen = await processed(runtime)
    assert seen == {first["event_id"]: 1, second["event_id"]: 1, third["event_id"]: 1}


async def test_malformed_events_become_dead_letters(
    stack: Stack, recorder_bridge: InProcessBridge
) -> None:
    runtime = recorder_bridge.runtime
    good = probe("probe good")
    bad_content = {**probe("x"), "content": "not an object"}
    no_room = {k: v for k, v in probe("x").items() if k != "room_id"}
    weird_type = {**probe("probe weird"), "content": {"msgtype": 5, "body": ["x"]}}
    crashing = probe("probe-crash")
    events = ["a string", 42, None, bad_content, no_room, weird_type, crashing, good]
    assert await put_txn(stack, "7100", events) == 200
    await eventually(lambda: processed(runtime))
    await runtime.idle()
    assert (await processed(runtime)).get(good["event_id"]) == 1
    assert await runtime.az.dead_letters.count() == 5
    # A handler that keeps failing does not block the room forever: it becomes a dead letter.
    assert await eventually(lambda: runtime.inbox.count("dead"), timeout=60) >= 1


async def test_large_transactions_are_accepted(stack: Stack, recorder_bridge: InProcessBridge) -> None:
    big = probe("probe big " + "字" * (2 * 1024 * 1024 // 3))
    assert await put_txn(stack, "7200", [big]) == 200
    await recorder_bridge.runtime.idle()
    assert (await processed(recorder_bridge.runtime)) == {big["event_id"]: 1}
    too_big = probe("probe " + "x" * (9 * 1024 * 1024))
    assert await put_txn(stack, "7201", [too_big]) == 413


async def test_unprocessed_events_survive_a_restart(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path
) -> None:
    bridge_settings.extra["bots.extra"] = [RECORDER]
    bridge_settings.extra["bots.disabled"] = ALL_BUILTIN
    bridge_settings.hold_processing = True
    held = InProcessBridge(write_config(tmp_path / "held.yaml", bridge_settings))
    await held.start()
    events = [probe(f"probe held {i}") for i in range(20)]
    try:
        assert await put_txn(stack, "7300", events) == 200
        assert await processed(held.runtime) == {}
    finally:
        await held.stop()

    bridge_settings.hold_processing = False
    resumed = InProcessBridge(write_config(tmp_path / "resumed.yaml", bridge_settings))
    await resumed.start()
    try:
        await resumed.runtime.idle()
        assert await processed(resumed.runtime) == {e["event_id"]: 1 for e in events}
    finally:
        await resumed.stop()


async def test_commands_reach_their_handler_by_name_or_alias_with_their_arguments(
    stack: Stack, recorder_bridge: InProcessBridge
) -> None:
    runtime = recorder_bridge.runtime
    events = {
        "by name": probe("!probe-cmd hello  world "),
        "by alias, any case": probe("  !PC x"),
        "a notice": probe("!pc from a notice", msgtype="m.notice"),
        "an emote": probe("!pc waves", msgtype="m.emote"),
        "unknown": probe("!nothing here"),
        "no prefix": probe("pc x"),
        "ours": {**probe("!pc echo"), "sender": runtime.config.bot_mxid},
    }
    assert await put_txn(stack, "7300", list(events.values())) == 200
    await runtime.idle()
    rows = await runtime.db.fetch("SELECT event_id, body FROM recorder_seen")
    got = {r["event_id"]: r["body"] for r in rows}
    assert got == {events["by name"]["event_id"]: "command:hello  world",
                   events["by alias, any case"]["event_id"]: "command:x",
                   events["a notice"]["event_id"]: "command:from a notice"}


def test_a_command_declared_by_two_bots_is_refused() -> None:
    class Clash(RecorderBot):
        name = "clash"

    ctx: Any = None
    with pytest.raises(ValueError, match="!probe-cmd is declared twice"):
        BotHost([RecorderBot(ctx), Clash(ctx)], is_own_user=lambda _: False)
