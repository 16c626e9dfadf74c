"""A fault scenario: numbered messages both ways while the bridge and the homeserver are killed.

Citizens each open a case with the fgw department and send numbered messages; an officer answers
one of them with numbered replies in the case's thread. Meanwhile, at moments a seeded random
generator picks, the bridge process is SIGKILLed (and started again) and the homeserver is
SIGKILLed (and started again). Afterwards the officers' room and the citizen's chat are read
from the homeserver: every message must be in its thread once, in the order it was sent, and
each must have arrived within a bounded time of its send.

Used by tests/test_fault_order.py (a lean run in CI; more seeds with DUTYROOM_FAULT_SEEDS).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.kit.bridge import BridgeProcess, BridgeSettings, write_config
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import prepare_roster
from tests.kit.stack import Stack

GREETING = "网上值班室"


@dataclass
class FaultReport:
    seed: int
    database: str
    messages: int = 0           # citizens' messages and officer's replies sent
    bridge_kills: int = 0
    homeserver_kills: int = 0
    out_of_order: int = 0       # messages that appear before one sent earlier in their thread
    duplicates: int = 0
    lost: int = 0
    wrong_thread: int = 0
    worst_delay_s: float = 0.0  # send acknowledged → first seen by the reader
    recovered: int = 0          # read-backs that found events not pushed 5 s after (bridge log)
    refused: int = 0            # transactions refused once after a gap in IDs (bridge log)
    anomalies: int = 0          # transactions out of sequence accepted (bridge log)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.out_of_order or self.duplicates or self.lost or self.wrong_thread)


def tag(citizen: int, n: int) -> str:
    return f"c{citizen}-{n:02d}"


def reply_tag(n: int) -> str:
    return f"r-{n:02d}"


def body_of(event: dict[str, Any]) -> str:
    content = event.get("content")
    return str(content.get("body", "")) if isinstance(content, dict) else ""


def thread_of(event: dict[str, Any]) -> str | None:
    content = event.get("content")
    rel = content.get("m.relates_to") if isinstance(content, dict) else None
    if isinstance(rel, dict) and rel.get("rel_type") == "m.thread":
        return rel.get("event_id")
    return None


async def send_until_accepted(user: MatrixUser, room: str, content: dict[str, Any],
                              txn: str, timeout: float = 120) -> str:
    """PUT with a fixed transaction ID until the homeserver accepts it: a retry after a kill
    is deduplicated by the homeserver, so the message exists once whatever happened."""
    path = (f"/_matrix/client/v3/rooms/{quote(room, safe='')}/send/m.room.message/"
            f"{quote(txn, safe='')}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = await asyncio.wait_for(user.request("PUT", path, content), 10)
            if status == 200 and "event_id" in body:
                return str(body["event_id"])
        except Exception:  # the homeserver is down or was killed mid-request
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{user.user_id} could not send {txn}")
        await asyncio.sleep(0.3)


async def recent(user: MatrixUser, room: str, limit: int = 200) -> list[dict[str, Any]]:
    path = f"/_matrix/client/v3/rooms/{quote(room, safe='')}/messages?dir=b&limit={limit}"
    status, body = await asyncio.wait_for(user.request("GET", path), 10)
    if status != 200:
        raise RuntimeError(f"/messages {status}")
    return list(body.get("chunk", []))


class Watcher:
    """Polls a room and notes when each tagged message is first seen (delivery time)."""

    def __init__(self, user: MatrixUser, room: str, tags: list[str]) -> None:
        self.user, self.room, self.tags = user, room, tags
        self.seen: dict[str, float] = {}

    async def run(self) -> None:
        while True:
            try:
                for event in await recent(self.user, self.room):
                    body = body_of(event)
                    for t in self.tags:
                        if t not in self.seen and f"〔{t}〕" in body:
                            self.seen[t] = time.monotonic()
            except Exception:
                pass  # the homeserver is down: look again
            await asyncio.sleep(0.5)


async def run_fault_scenario(
    stack: Stack, settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
    *, seed: int, citizens: int = 3, messages: int = 12, replies: int = 8,
    bridge_kills: int = 2, homeserver_kills: int = 1, delivery_timeout: float = 120,
) -> FaultReport:
    rng = random.Random(seed)
    report = FaultReport(seed, settings.database.split(":", 1)[0])
    started = time.monotonic()
    officers = await prepare_roster(settings, roster_dir, users, always_open=True)
    officer = officers["fgw1"]
    process = BridgeProcess(write_config(tmp_path / "config.yaml", settings), stack.port)
    ghost = f"@{settings.prefix}fgw:{stack.domain}"
    tasks: list[asyncio.Task[Any]] = []
    try:
        await process.astart()
        room = await eventually(
            lambda: _try_join(officer, f"#{settings.prefix}officers_fgw:{stack.domain}"), 60)
        people = [await users("citizen") for _ in range(citizens)]
        dms = []
        for person in people:
            dm = await person.create_dm(ghost)
            await person.wait_for(dm, lambda e: GREETING in body_of(e), timeout=60)
            dms.append(dm)

        sent_at: dict[str, float] = {}
        roots: dict[int, str] = {}

        async def citizen(k: int) -> None:
            for n in range(messages):
                t = tag(k, n)
                await send_until_accepted(people[k], dms[k], {"msgtype": "m.text",
                                          "body": f"第{n}条消息〔{t}〕"}, f"fault-{seed}-{t}")
                sent_at[t] = time.monotonic()
                await asyncio.sleep(rng.uniform(0.1, 0.5))

        async def answers() -> None:
            root = await eventually(lambda: _root_of(officer, room, tag(0, 0)), 120, 0.5)
            roots[0] = root
            for n in range(replies):
                t = reply_tag(n)
                content = {"msgtype": "m.text", "body": f"答复{n}〔{t}〕", "m.relates_to": {
                    "rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                    "m.in_reply_to": {"event_id": root}}}
                await send_until_accepted(officer, room, content, f"fault-{seed}-{t}")
                sent_at[t] = time.monotonic()
                await asyncio.sleep(rng.uniform(0.1, 0.5))

        async def faults() -> None:
            plan = ["bridge"] * bridge_kills + ["homeserver"] * homeserver_kills
            rng.shuffle(plan)
            for kind in plan:
                await asyncio.sleep(rng.uniform(0.3, 2.5))
                if kind == "bridge":
                    process.kill()
                    report.bridge_kills += 1
                    await asyncio.sleep(rng.uniform(0.0, 1.5))
                    await process.astart()
                else:
                    pid = stack.synapse.pid
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
                    report.homeserver_kills += 1
                    await asyncio.to_thread(stack.synapse.stop)  # reaps it
                    await asyncio.sleep(rng.uniform(0.0, 1.0))
                    await asyncio.to_thread(stack.synapse.start)

        citizen_tags = [tag(k, n) for k in range(citizens) for n in range(messages)]
        reply_tags = [reply_tag(n) for n in range(replies)]
        officer_view = Watcher(officer, room, citizen_tags)
        citizen_view = Watcher(people[0], dms[0], reply_tags)
        tasks = [asyncio.create_task(w.run()) for w in (officer_view, citizen_view)]
        await asyncio.gather(*(citizen(k) for k in range(citizens)), answers(), faults())
        report.messages = len(citizen_tags) + len(reply_tags)

        try:
            await eventually(lambda: len(officer_view.seen) == len(citizen_tags)
                             and len(citizen_view.seen) == len(reply_tags), delivery_timeout, 0.5)
        except TimeoutError:
            pass  # counted as lost below
        await asyncio.sleep(2)  # anything doubled would arrive now
        seen = {**officer_view.seen, **citizen_view.seen}
        now = time.monotonic()
        report.worst_delay_s = round(max(seen.get(t, now) - sent_at[t] for t in sent_at), 1)

        # The homeserver's own timelines, oldest first.
        check_thread(report, await officer.history(room), citizens, messages)
        check_replies(report, await people[0].history(dms[0]), replies, ghost)
        log = process.log_tail(1000000)
        report.recovered = log.count("that the homeserver had not pushed")
        report.refused = log.count("refused once, for the skipped one")
        report.anomalies = log.count("): reconciling rooms")
    finally:
        for task in tasks:
            task.cancel()
        process.stop()
        if not stack.synapse.is_running:
            stack.synapse.start()
    report.seconds = round(time.monotonic() - started, 1)
    return report


def count_sequence(report: FaultReport, got: list[int], expected: int, what: str) -> None:
    seen: set[int] = set()
    highest = -1
    for n in got:
        if n in seen:
            report.duplicates += 1
            report.problems.append(f"{what}: {n} twice")
            continue
        seen.add(n)
        if n < highest:
            report.out_of_order += 1
            report.problems.append(f"{what}: {n} after {highest}")
        highest = max(highest, n)
    missing = sorted(set(range(expected)) - seen)
    report.lost += len(missing)
    if missing:
        report.problems.append(f"{what}: missing {missing}")


def check_thread(report: FaultReport, timeline: list[dict[str, Any]], citizens: int,
                 messages: int) -> None:
    """Each citizen's messages: all in one thread, that thread only theirs, in order, once."""
    for k in range(citizens):
        mine = [(thread_of(e), body_of(e)) for e in timeline if f"〔c{k}-" in body_of(e)
                and e.get("type") == "m.room.message"]
        threads = {thread for thread, _ in mine}
        if len(threads) != 1 or None in threads:
            report.wrong_thread += 1
            report.problems.append(f"citizen {k}: messages in threads {threads}")
        got = [int(body.split(f"〔c{k}-")[1][:2]) for _, body in mine]
        count_sequence(report, got, messages, f"citizen {k}")


def check_replies(report: FaultReport, timeline: list[dict[str, Any]], replies: int,
                  ghost: str) -> None:
    got = [int(body_of(e).split("〔r-")[1][:2]) for e in timeline
           if e.get("sender") == ghost and "〔r-" in body_of(e)]
    count_sequence(report, got, replies, "replies")


async def _try_join(user: MatrixUser, alias: str) -> str | None:
    try:
        return await user.join(alias)
    except RuntimeError:
        return None


async def _root_of(officer: MatrixUser, room: str, first: str) -> str | None:
    try:
        events = await recent(officer, room)
    except Exception:
        return None
    for event in events:
        if f"〔{first}〕" in body_of(event) and thread_of(event):
            return thread_of(event)
    return None
