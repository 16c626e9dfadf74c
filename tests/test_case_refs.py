"""Reference numbers and the cases citizens' messages land in, under random sequences of case
operations: opens (several citizens at one department at once), transfers both ways, closes,
ratings, reopenings, messages handled twice, restarts (caches dropped), new days.

The citizen's side is played here at the level of ConsultationTables, with the same decisions
bots/consultation/citizen_side.py takes (`_case_for`): the latest case of the DM if it is not
closed, the closed one reopened within the quiet period, otherwise a new case.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mautrix.util.async_db import Database, UpgradeTable

from bots.consultation.db import CLOSED, ConsultationTables
from bots.consultation.upgrade import upgrade_table
from tests.kit.clients import UserFactory
from tests.kit.duty import DutyRoom
from tests.test_consultation import body_of, has, in_thread, is_root, open_case, send, thread_reply

DEPTS = ("fgw", "gat", "czt")
REGULARS = 4  # citizens who come back; crowds bring new ones
QUIET_MS = 30 * 60_000
START_MS = 1_795_000_000_000
REF = re.compile(r"[A-Z]+-\d{8}-\d{4}")
TABLES = ("consult_case", "consult_log", "consult_dm", "consult_pseudonym", "consult_pending",
          "consult_ref_counter")

case_index = st.integers(0, 40)
OPERATIONS = st.one_of(
    st.tuples(st.just("say"), st.integers(0, REGULARS - 1), st.sampled_from(DEPTS), st.booleans()),
    st.tuples(st.just("crowd"), st.sampled_from(DEPTS), st.integers(2, 5), st.booleans()),
    st.tuples(st.just("transfer"), case_index, st.sampled_from(DEPTS)),
    st.tuples(st.just("close"), case_index),
    st.tuples(st.just("rate"), case_index, st.integers(1, 5)),
    st.tuples(st.just("wait"), st.sampled_from([1, 20, 45])),
    st.just(("restart",)),
    st.just(("next_day",)),
)


@dataclass
class World:
    """What the operations did, to check the tables against."""

    url: str
    db: Database
    tables: ConsultationTables
    now_ms: int = START_MS
    day: int = 27
    said: dict[str, str] = field(default_factory=dict)  # citizen message → its DM
    dm_dept: dict[str, str] = field(default_factory=dict)  # DM → the department it was opened with
    events: itertools.count = field(default_factory=lambda: itertools.count(1))
    crowd: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def day_text(self) -> str:
        return f"202611{self.day:02d}"

    async def restart(self) -> None:
        """A fresh database pool and fresh tables: nothing kept in memory survives."""
        await self.db.stop()
        self.db = Database.create(self.url, upgrade_table=upgrade_table)
        await self.db.start()
        self.tables = ConsultationTables(self.db)

    async def say(self, citizen: str, dept: str, event_id: str | None = None) -> str:
        """A citizen's message in their DM with `dept`, handled as the citizen side does."""
        event_id = event_id or f"$m{next(self.events)}"
        dm = f"!dm-{citizen}-{dept}"
        self.said[event_id], self.dm_dept[dm] = dm, dept
        t = self.tables
        await t.add_dm(dm, citizen, dept)
        case = await t.latest_case(dm)
        if case is not None and case.status == CLOSED and self.now_ms - (case.closed_at or 0) <= QUIET_MS:
            await t.reopen(case.id, event_id)
        elif case is None or case.status == CLOSED:
            case = await t.open_case(event_id=event_id, dept_id=dept, citizen=citizen, dm_room=dm,
                                     officers_room=f"!officers-{dept}", now_ms=self.now_ms,
                                     day=self.day_text)
        await t.log(event_id, case.id, "citizen_message", self.now_ms)
        return event_id

    async def case_ids(self) -> list[int]:
        return [r["id"] for r in await self.db.fetch("SELECT id FROM consult_case ORDER BY id")]


async def play(world: World, operation: tuple) -> None:  # type: ignore[type-arg]
    kind, *args = operation
    t = world.tables
    ids = await world.case_ids()
    case = await t.case(ids[args[0] % len(ids)]) if ids and kind in ("transfer", "close", "rate") else None
    if kind == "say":
        citizen, dept, twice = args
        event_id = await world.say(f"@c{citizen}:x", dept)
        if twice:  # a crash before the event was marked done: it is handled again
            await world.restart()
            await world.say(f"@c{citizen}:x", dept, event_id)
    elif kind == "crowd":
        dept, size, duplicate = args
        citizens = [f"@new{next(world.crowd)}:x" for _ in range(size)]
        firsts = [f"$m{next(world.events)}" for _ in citizens]
        opens = [world.say(c, dept, e) for c, e in zip(citizens, firsts, strict=True)]
        if duplicate:  # one event handled twice at once
            opens.append(world.say(citizens[0], dept, firsts[0]))
        await asyncio.gather(*opens)
    elif kind == "transfer" and case is not None:
        target = args[1]
        if target != case.dept_id:
            await t.move(case.id, target, f"!officers-{target}")
    elif kind == "close" and case is not None and case.status != CLOSED:
        await t.set_status(case.id, CLOSED, closed_at=world.now_ms)
    elif kind == "rate" and case is not None and case.status == CLOSED and case.rating is None:
        await t.rate(case.id, args[1], world.now_ms)
    elif kind == "wait":
        world.now_ms += args[0] * 60_000
    elif kind == "restart":
        await world.restart()
    elif kind == "next_day":
        world.day += 1
        world.now_ms += 24 * 3600_000


async def check(world: World) -> None:
    cases = await world.db.fetch("SELECT id, ref, dm_room FROM consult_case")
    refs = [r["ref"] for r in cases]
    assert len(refs) == len(set(refs)), Counter(refs).most_common(3)
    # Numbers of each prefix are 1..n: none issued twice, none lost (taken in the insert's
    # transaction), and the counter stands at n.
    numbers: dict[str, list[int]] = {}
    for ref in refs:
        prefix, _, number = ref.rpartition("-")
        numbers.setdefault(prefix, []).append(int(number))
    counters = {r["prefix"]: r["last_number"]
                for r in await world.db.fetch("SELECT prefix, last_number FROM consult_ref_counter")}
    for prefix, issued in numbers.items():
        assert sorted(issued) == list(range(1, len(issued) + 1)), (prefix, sorted(issued))
        assert counters[prefix] == len(issued)
    # A case's reference names the department of the DM it was opened in, whatever came later.
    dm_of_case = {r["id"]: r["dm_room"] for r in cases}
    for r in cases:
        assert r["ref"].startswith(world.dm_dept[r["dm_room"]].upper() + "-")
    # Every citizen message is in exactly one case, the one of its own DM.
    logged = await world.db.fetch(
        "SELECT event_id, case_id FROM consult_log WHERE kind='citizen_message'")
    in_case = Counter(r["event_id"] for r in logged)
    assert set(in_case) == set(world.said)
    assert max(in_case.values(), default=1) == 1
    for r in logged:
        assert dm_of_case[r["case_id"]] == world.said[r["event_id"]]


async def fresh_world(url: str) -> World:
    db = Database.create(url, upgrade_table=upgrade_table)
    await db.start()
    for table in TABLES:
        await db.execute(f"DELETE FROM {table}")
    return World(url, db, ConsultationTables(db))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=30))
async def test_references_unique_and_every_message_in_one_case(
    database_url: str, operations: list[tuple]  # type: ignore[type-arg]
) -> None:
    world = await fresh_world(database_url)
    try:
        for operation in operations:
            await play(world, operation)
        await check(world)
    finally:
        await world.db.stop()


async def test_a_department_keeps_opening_after_transferring_out(database_url: str) -> None:
    """The bug this replaces: refs were "cases of the department today + 1"."""
    world = await fresh_world(database_url)
    try:
        await world.say("@a:x", "fgw")
        await world.say("@b:x", "fgw")
        first = await world.tables.latest_case("!dm-@a:x-fgw")
        await world.tables.move(first.id, "gat", "!officers-gat")  # type: ignore[union-attr]
        await asyncio.gather(*(world.say(f"@n{i}:x", "fgw") for i in range(3)))
        refs = sorted(r["ref"] for r in await world.db.fetch("SELECT ref FROM consult_case"))
        assert refs == [f"FGW-20261127-000{n}" for n in range(1, 6)]
        await check(world)
    finally:
        await world.db.stop()


async def test_an_upgraded_database_never_issues_an_existing_reference(database_url: str) -> None:
    """Migration 3 seeds the counters from the references already in the table, including
    those of cases transferred away (their dept_id no longer matches their reference)."""
    before = UpgradeTable(version_table_name=upgrade_table.version_table_name,
                          database_name=upgrade_table.database_name)
    before.upgrades = upgrade_table.upgrades[:2]
    db = Database.create(database_url, upgrade_table=before)
    await db.start()
    for n, (ref, dept) in enumerate([("FGW-20261127-0001", "gat"), ("FGW-20261127-0002", "fgw"),
                                     ("FGW-20261127-0003", "czt"), ("GAT-20261127-0001", "gat"),
                                     ("FGW-20261126-0007", "fgw")]):
        await db.execute(
            "INSERT INTO consult_case (ref, dept_id, citizen, dm_room, officers_room,"
            " opened_by_event, status, opened_at) VALUES ($1, $2, '@c:x', $3, '!o:x', $4, 'open', 0)",
            ref, dept, f"!dm{n}:x", f"$old{n}")
    await db.stop()
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        counters = {r["prefix"]: r["last_number"]
                    for r in await db.fetch("SELECT prefix, last_number FROM consult_ref_counter")}
        assert counters == {"FGW-20261127": 3, "GAT-20261127": 1, "FGW-20261126": 7}
        case = await ConsultationTables(db).open_case(
            event_id="$new", dept_id="fgw", citizen="@d:x", dm_room="!dm9:x",
            officers_room="!o:x", now_ms=1, day="20261127")
        assert case.ref == "FGW-20261127-0004" and case.reopened_by is None
    finally:
        await db.stop()


async def test_live_transfer_out_then_three_citizens_at_once(duty: DutyRoom, users: UserFactory) -> None:
    """On the real homeserver: fgw transfers its first case of the day to gat, then three new
    citizens write to fgw at once; all three are opened, relayed and answered."""
    first = await users("citizen")
    dm, root, ref = await open_case(duty, first, "fgw", "第一位市民，稍后转给公安")
    assert ref == "FGW-20261127-0001"
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root, "!转办 gat 涉及户籍"))
    await duty.officers["gat1"].wait_for(duty.officers_rooms["gat"], has("转入咨询"))
    await first.wait_for(dm, has("已转交"))

    citizens = [await users("citizen") for _ in range(3)]
    dms = await asyncio.gather(*(c.create_dm(duty.ghost("fgw")) for c in citizens))
    pairs = list(zip(citizens, dms, strict=True))
    await asyncio.gather(*(c.wait_for(d, has("网上值班室")) for c, d in pairs))
    await asyncio.gather(*(c.send_text(d, f"同一天的新问题 {i}") for i, (c, d) in enumerate(pairs)))
    acks = await asyncio.gather(*(c.wait_for(d, has("已收到您的咨询")) for c, d in pairs))
    refs = [REF.search(body_of(ack[0])).group(0) for ack in acks]  # type: ignore[union-attr]
    assert sorted(refs) == ["FGW-20261127-0002", "FGW-20261127-0003", "FGW-20261127-0004"]

    roots = {REF.search(body_of(e)).group(0): e["event_id"]  # type: ignore[union-attr]
             for e in await officer.wait_for(room, is_root, count=4)}
    for i, ref_i in enumerate(refs):
        await officer.wait_for(room, in_thread(roots[ref_i], f"同一天的新问题 {i}"))
        await send(officer, room, thread_reply(roots[ref_i], f"答复第 {i} 位市民"))
    for i, (citizen, dm_i) in enumerate(pairs):
        await citizen.wait_for(dm_i, has(f"答复第 {i} 位市民"))
    failed = await duty.runtime.db.fetchval(
        "SELECT COUNT(*) FROM inbox_event WHERE state='dead' OR error IS NOT NULL")
    assert failed == 0  # no handler failed, not even once
