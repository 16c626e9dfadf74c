"""Timeline order and nothing stranded: a suspect room is read back before it is processed.

Unit tests with a fake read-back on a real database, then the real thing: a transaction the
homeserver "never sends" (the endpoint answers it without storing, as when Synapse strands a
transaction at the end of a recovery) is found when the next transaction shows the gap in IDs,
and processed before the later message; one with no later transaction is found by the schedule.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from mautrix.util.async_db import Database

from bridge.appservice import DurableAppService
from bridge.db import InboxTable, upgrade_table
from bridge.inbox_processor import InboxProcessor
from tests.kit.bridge import BridgeSettings, running_bridge, write_config
from tests.kit.clients import UserFactory, eventually
from tests.test_crash_recovery import echoes
from tests.test_inbox_processor import Handler, event

RECORDER = "tests.kit.recorder:RecorderBot"


@pytest.fixture
async def table(database_url: str) -> AsyncIterator[InboxTable]:
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        yield InboxTable(db)
    finally:
        await db.stop()


class FakeTimeline:
    """Stands in for the homeserver's read-back: the room's true order, and events it never
    pushed, which the read-back stores (as bridge/gap_filler.py does)."""

    def __init__(self, table: InboxTable, order: list[int], unpushed: list[int]) -> None:
        self.table, self.order, self.unpushed = table, order, unpushed
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, room_id: str, deep: bool) -> int:
        self.calls.append((room_id, deep))
        stored = await self.table.store("gapfill", [event(n) for n in self.unpushed])
        await self.table.set_positions({f"$e{n}": i for i, n in enumerate(self.order)})
        return len(stored)


async def test_a_suspect_room_is_processed_in_timeline_order(table: InboxTable) -> None:
    handler = Handler()
    fake = FakeTimeline(table, order=[1, 2, 3, 4, 5], unpushed=[2])
    processor = InboxProcessor(table, handler, reconcile=fake, hold=True)
    # 4 arrives before 3 (a late retry), 2 never arrives; 5 arrives after the read-back.
    processor.take(await table.store("7", [event(1), event(4)]))
    processor.take(await table.store("8", [event(3)]))
    processor.hold = False
    await processor.resume()  # pending rooms after a start are suspect, read deep
    await processor.queues.idle()
    processor.take(await table.store("9", [event(5)]))
    await processor.queues.idle()
    assert handler.seen == ["$e1", "$e2", "$e3", "$e4", "$e5"]
    assert fake.calls == [("!r:x", True)]  # the clean room after it: no read-back per event


async def test_during_trouble_new_events_wait_for_the_read_back(table: InboxTable) -> None:
    handler = Handler()
    fake = FakeTimeline(table, order=[1, 2, 3], unpushed=[2])
    processor = InboxProcessor(table, handler, reconcile=fake, after_trouble=60)
    processor.take(await table.store("1", [event(1)]))
    await processor.queues.idle()
    assert fake.calls == []  # no trouble: processed as pushed
    processor.trouble(False)
    processor.take(await table.store("3", [event(3)]))  # 2 was lost
    await processor.queues.idle()
    assert handler.seen == ["$e1", "$e2", "$e3"]
    assert fake.calls == [("!r:x", False)]


async def test_during_trouble_rooms_only_the_bridge_acted_in_are_not_read_back(
    table: InboxTable,
) -> None:
    """A cold start provisions rooms inside the trouble window: their state events are the
    bridge's own, and reading each room back would find nothing of anyone else's."""
    handler = Handler()
    fake = FakeTimeline(table, order=[1, 2], unpushed=[])
    processor = InboxProcessor(table, handler, reconcile=fake,
                               is_own_user=lambda mxid: mxid.startswith("@dutyroom_"))
    processor.trouble(False)
    own = {**event(1, "!new:x"), "sender": "@dutyroom_fgw:x", "type": "m.room.name",
           "state_key": "", "content": {"name": "省发展改革委"}}
    processor.take(await table.store("1", [own]))
    processor.take(await table.store("2", [event(2)]))  # someone else's, in another room
    await processor.queues.idle()
    assert sorted(handler.seen) == ["$e1", "$e2"]
    assert fake.calls == [("!r:x", False)]


async def test_after_a_start_rooms_only_the_bridge_acted_in_are_not_read_back(
    table: InboxTable,
) -> None:
    """Events stored while the bots start (held) are resumed after: a room the directory just
    made holds only the bridge's own state events and is not read back; a citizen's room is."""
    handler = Handler()
    fake = FakeTimeline(table, order=[1, 2], unpushed=[])
    processor = InboxProcessor(table, handler, reconcile=fake, hold=True,
                               is_own_user=lambda mxid: mxid.startswith("@dutyroom_"))
    own = {**event(1, "!new:x"), "sender": "@dutyroom_fgw:x", "type": "m.room.name",
           "state_key": "", "content": {"name": "省发展改革委"}}
    processor.take(await table.store("1", [own, event(2)]))
    processor.hold = False
    await processor.resume()
    await processor.queues.idle()
    assert sorted(handler.seen) == ["$e1", "$e2"]
    assert fake.calls == [("!r:x", True)]


async def test_an_unreadable_homeserver_holds_a_room_only_so_long(table: InboxTable) -> None:
    async def down(room_id: str, deep: bool) -> int:
        raise ConnectionError("homeserver down")

    handler = Handler()
    processor = InboxProcessor(table, handler, reconcile=down, reconcile_timeout=0.6)
    processor.suspect(["!r:x"])
    processor.take(await table.store("1", [event(1)]))
    started = time.monotonic()
    await processor.queues.idle()
    assert handler.seen == ["$e1"] and time.monotonic() - started < 3


def test_transaction_ids_out_of_sequence_are_noticed() -> None:
    az = DurableAppService.__new__(DurableAppService)
    az.last_txn = None
    assert [az.track_txn(t) for t in ["5", "6", "8", "7", "8", "1", "2", "m.abc"]] == [
        None, None, "gap", "back", None, "back", None, None]


def test_gaps_never_filled_stop_refusing_after_three_in_a_row() -> None:
    """Synapse numbers every appservice's transactions from one sequence: with other appservices
    on the homeserver, gaps are normal. Refusing each transaction after one would delay every
    message, so after three gaps in a row that the retry finds still open, the bridge stops."""
    az = DurableAppService.__new__(DurableAppService)
    az.last_txn, az._refused, az._unfilled_gaps = 5, {}, 0
    az.refuse_gaps, az.gaps_are_normal = True, False

    def deliver(txn: str) -> bool:  # True: refused
        refused = az.refuse_first(txn)
        if not refused:
            az.track_txn(txn)
        return refused

    # A gap that its retry finds filled (the skipped one came first): counted as healthy.
    assert deliver("7") and deliver("6") is False and deliver("7") is False
    assert az._unfilled_gaps == 0
    for txn in ("9", "11", "13"):  # each refused once, and its retry still finds the gap open
        assert deliver(txn) and deliver(txn) is False
    assert az.refuse_gaps is False and az.gaps_are_normal
    assert deliver("15") is False and az.track_txn("17") is None  # gaps now say nothing
    assert az.track_txn("16") == "back"  # a step back still does


async def test_a_refused_transaction_keeps_its_to_device_messages() -> None:
    """Synapse resends a refused transaction with its room events only (it keeps no to-device
    messages for a retry): a room key riding in it is handled at the refusal, or it is lost."""
    az = DurableAppService.__new__(DurableAppService)
    az.last_txn, az._refused, az._unfilled_gaps = 5, {}, 0
    az.refuse_gaps, az.gaps_are_normal, az.on_refused = True, False, None
    az.ready, az.inbox, az.dead_letters = True, object(), object()  # type: ignore[assignment]
    kept: list[Any] = []

    async def extras(body: dict[str, Any]) -> None:
        kept.append(body["de.sorunome.msc2409.to_device"])

    az.on_crypto_extras = extras
    key = {"type": "m.room.encrypted", "sender": "@officer:x", "content": {"ciphertext": {}}}

    class Request:
        match_info = {"transaction_id": "7"}  # after 5: a gap

        async def json(self) -> dict[str, Any]:
            return {"events": [], "de.sorunome.msc2409.to_device": [key]}

    response = await az._http_handle_transaction(Request())  # type: ignore[arg-type]
    assert response.status == 503 and kept == [[key]]


def dropping_first(marker: str, dropped: list[str]) -> Any:
    """The endpoint answers the first transaction holding `marker` without storing it: to the
    bridge it is as if the homeserver never sent that transaction."""
    original = DurableAppService._http_handle_transaction

    async def handler(self: DurableAppService, request: web.Request) -> web.Response:
        body = await request.json()
        if not dropped and marker in json.dumps(body, ensure_ascii=False):
            dropped.append(request.match_info["transaction_id"])
            return web.json_response({})
        return await original(self, request)

    return handler


async def start_echo_room(
    bridge_settings: BridgeSettings, users: UserFactory, prefix: str
) -> tuple[Any, str]:
    citizen = await users("citizen")
    dm = await citizen.create_dm(f"@{prefix}fgw:localhost")
    await eventually(lambda: _joined(citizen, dm, f"@{prefix}fgw:localhost"))
    await asyncio.sleep(1.5)  # the start-up's after-trouble period (1 s here) is over
    return citizen, dm


async def test_a_transaction_never_sent_is_found_at_the_next_one_and_kept_in_order(
    bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory, prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dropped: list[str] = []
    monkeypatch.setattr(DurableAppService, "_http_handle_transaction",
                        dropping_first("probe-echo 2", dropped))
    bridge_settings.extra["bots.extra"] = [RECORDER]
    bridge_settings.extra["appservice.reconcile_interval"] = 0  # only the gap can find it
    bridge_settings.extra["appservice.reconcile_after_trouble"] = 1
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings)):
        citizen, dm = await start_echo_room(bridge_settings, users, prefix)
        for n in (1, 2, 3):
            await citizen.send_text(dm, f"probe-echo {n}")
            if n == 2:
                await eventually(lambda: dropped)
        await citizen.wait_for(dm, lambda e: "echo probe-echo" in str(e.get("content")),
                               count=3, timeout=30)
        assert echoes(citizen.events[dm]) == [f"echo probe-echo {n}" for n in (1, 2, 3)]


async def test_a_last_transaction_never_sent_is_found_by_the_schedule(
    bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory, prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dropped: list[str] = []
    monkeypatch.setattr(DurableAppService, "_http_handle_transaction",
                        dropping_first("probe-echo last", dropped))
    bridge_settings.extra["bots.extra"] = [RECORDER]
    bridge_settings.extra["appservice.reconcile_interval"] = 2
    bridge_settings.extra["appservice.reconcile_after_trouble"] = 1
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings)):
        citizen, dm = await start_echo_room(bridge_settings, users, prefix)
        await citizen.send_text(dm, "probe-echo first")
        await citizen.wait_for(dm, lambda e: "echo probe-echo first" in str(e.get("content")))
        await citizen.send_text(dm, "probe-echo last")
        await eventually(lambda: dropped)
        sent = time.monotonic()
        await citizen.wait_for(dm, lambda e: "echo probe-echo last" in str(e.get("content")),
                               timeout=15)
        # Within one interval (2 s) of the room's previous activity, plus a page read and a
        # send (a few seconds' margin for a loaded machine).
        assert time.monotonic() - sent < 2 + 5


async def _joined(user: Any, room_id: str, member: str) -> bool:
    return (await user.members(room_id)).get(member) == "join"
