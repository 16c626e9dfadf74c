"""5–8. Through the bridge, run as its own process (`python -m bridge -c CONFIG`, as an operator runs
it): relay latency both ways, relayed throughput with every message counted at the far end (sync
and the server's /messages history), the bridge's CPU time per relayed event and RSS, and its RSS
with 10,000 open cases in its database."""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.breakdown import relay_breakdown
from bench.floor import run_floor
from bench.provisioning import vm_rss_mb
from bench.stack import NO_RATE_LIMIT, PREFIX, Client, Stack, connector_session, one_way
from bench.stats import CpuSince, cpu_s, summary_ms
from tests.kit.bridge import BridgeProcess, load_config, write_config
from tests.kit.duty import ALWAYS_OPEN, roster_officers

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROSTER = ROOT / "tests" / "data" / "rosters" / "small"
DEPTS = ("fgw", "gat", "czt", "hzfgw")
WARMUP = 5
CHECK_INTERVAL_S = 5
MARKER = re.compile(r"bm[a-z]*-[0-9a-f]{6}-\d+(?:-\d+)?")


@dataclass
class Watcher(Client):
    """A client whose sync records, per marker, when it was first seen and how often, counting only
    messages from `senders` (the bridge bot for the officer, the ghost for the citizen)."""

    senders: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # marker → event
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    limited: int = 0

    async def sync_once(self, timeout_ms: int) -> None:
        params = {"filter": '{"room":{"timeline":{"limit":1000}},"presence":{"types":[]}}',
                  "timeout": str(timeout_ms)}
        incremental = self.since is not None
        if incremental:
            params["since"] = str(self.since)
        answer = await self.call("GET", "/_matrix/client/v3/sync", params=params)
        now = time.perf_counter()
        self.since = str(answer["next_batch"])
        for room_id, room in answer.get("rooms", {}).get("join", {}).items():
            timeline = room.get("timeline", {})
            if incremental and timeline.get("limited"):
                self.limited += 1  # a gap in this sync; the /messages count below is authoritative
            for event in timeline.get("events", []):
                self.events.setdefault(room_id, []).append(event)
                body = event.get("content", {}).get("body")
                if (event.get("type") != "m.room.message" or not isinstance(body, str)
                        or event.get("sender") not in self.senders):
                    continue
                match = MARKER.search(body)
                if match:
                    marker = match.group(0)
                    self.counts[marker] += 1
                    self.seen.setdefault(marker, now)
                    self.first.setdefault(marker, event)

    async def send(self, room_id: str, content: dict[str, Any]) -> None:
        txn = uuid.uuid4().hex
        await self.call("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/send/"
                               f"m.room.message/{txn}", content)

    async def sync_for(self, check: Any, deadline: float) -> bool:
        while not check():
            if time.monotonic() > deadline:
                return False
            await self.sync_once(1000)
        return True

    async def history_counts(self, room_id: str, prefix: str, max_pages: int = 200) -> Counter[str]:
        """Markers starting with `prefix` in the room's whole server-side timeline, by count."""
        counts: Counter[str] = Counter()
        token = None
        for _ in range(max_pages):
            params = {"dir": "b", "limit": "500"}
            if token:
                params["from"] = token
            page = await self.call("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages",
                                   params=params)
            for event in page.get("chunk", []):
                body = event.get("content", {}).get("body")
                if (event.get("type") == "m.room.message" and isinstance(body, str)
                        and event.get("sender") in self.senders):
                    match = MARKER.search(body)
                    if match and match.group(0).startswith(prefix):
                        counts[match.group(0)] += 1
            token = page.get("end")
            if not page.get("chunk") or not token:
                break
        return counts


def thread_reply(root: str, text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}


def tally(wanted: list[str], counts: Counter[str]) -> dict[str, int]:
    return {"lost": sum(1 for m in wanted if counts[m] == 0),
            "duplicated": sum(max(0, counts[m] - 1) for m in wanted)}


async def watcher(stack: Stack, session: aiohttp.ClientSession, localpart: str,
                  senders: set[str]) -> Watcher:
    user_id, token = await asyncio.to_thread(stack.synapse.register, localpart)
    client = Watcher(stack.url, user_id, token, session, senders=senders)
    await client.sync_once(0)
    return client


class Sampler:
    """CPU and RSS of the bridge process between two moments."""

    def __init__(self, pid: int, synapse: int | None) -> None:
        self.pid = pid
        self.cpu0 = cpu_s(pid)
        self.main0 = cpu_s(pid, pid)  # the event loop's thread; others: aiosqlite (opening, closing), asyncpg
        self.synapse = CpuSince(synapse)
        self.wall0 = time.perf_counter()
        self.synapse_busy_pct = math.nan

    def phase_over(self) -> None:
        """The last message arrived: Synapse's busy share is read here, before the settling."""
        self.synapse_busy_pct = self.synapse.busy_pct()

    def result(self, events: int) -> dict[str, Any]:
        cpu = cpu_s(self.pid) - self.cpu0
        main = cpu_s(self.pid, self.pid) - self.main0
        synapse = self.synapse.seconds()
        return {"relayed_events": events, "cpu_s": round(cpu, 2),
                "synapse_cpu_ms_per_event": round(synapse * 1000 / events, 2) if events else math.nan,
                "synapse_busy_pct": self.synapse_busy_pct,
                "event_loop_thread_cpu_s": round(main, 2),
                "other_threads_cpu_s": round(cpu - main, 2),
                "wall_s": round(time.perf_counter() - self.wall0, 2),
                "cpu_ms_per_event": round(cpu * 1000 / events, 2) if events else math.nan,
                "rss_mb": vm_rss_mb(self.pid)}


async def settle(seconds: float = 1.5) -> None:
    """Let the bridge finish with the echoes of its own sends before CPU is read."""
    await asyncio.sleep(seconds)


def start_profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        return None
    return subprocess.Popen([py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "1000",
                             "--format", "raw", "-o", str(out), "--nonblocking", "--gil"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise_profile(path: Path, top: int = 10) -> dict[str, Any]:
    """py-spy's collapsed stacks (only samples holding the GIL, so waits are left out) → where the bridge's CPU goes: share of samples by
    the library the leaf frame is in, by leaf function, and by project (bridge/, bots/) frame,
    inclusive."""
    by_lib: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"error": "no profile written (py-spy missing or not permitted)"}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [_frame(f) for f in stack.split(";")]
        func, where = frames[-1]
        by_lib[where.split("/")[0].removesuffix(".py")] += count
        leaf[f"{func} ({where})"] += count
        for name in {f"{fn} ({w})" for fn, w in frames if w.startswith(("bridge/", "bots/")) and fn != "<module>"}:
            ours[name] += count

    def share(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(top)}

    return {"samples": total, "leaf_by_library_pct": share(by_lib), "leaf_pct": share(leaf),
            "project_inclusive_pct": share(ours)}


def _frame(frame: str) -> tuple[str, str]:
    """"func (mautrix/util/x.py:123)" → ("func", "mautrix/util/x.py")."""
    match = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame.strip())
    return (match.group(1), match.group(2)) if match else (frame.strip(), "?")


async def insert_open_cases(db_url: str, count: int, rooms: dict[str, str],
                            now_ms: int) -> tuple[float, int]:
    """Synthetic open, unanswered cases (attention clock started now, so no reminder is due during
    the run), with their DM rows and pseudonyms, written with the bot's own SQL."""
    from mautrix.util.async_db import Database

    from bots.consultation.upgrade import upgrade_table

    start = time.perf_counter()
    db = Database.create(db_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        taken: dict[str, set[int]] = {d: set() for d in rooms}
        for row in await db.fetch("SELECT dept_id, number FROM consult_pseudonym"):
            taken.setdefault(row["dept_id"], set()).add(int(row["number"]))
        dms, pseudonyms, cases, logs = [], [], [], []
        depts = list(rooms)
        next_number = {d: 1000 for d in depts}
        for i in range(count):
            dept = depts[i % len(depts)]
            citizen, dm = f"@bmsynth{i}:localhost", f"!bmsynth{i}:localhost"
            while next_number[dept] in taken[dept]:
                next_number[dept] += 1
            taken[dept].add(next_number[dept])
            dms.append((dm, citizen, dept))
            pseudonyms.append((dept, citizen, next_number[dept]))
            cases.append((f"{dept.upper()}-SYNTH-{i:05d}", dept, citizen, dm, rooms[dept],
                          f"$bmsynth{i}", "open", now_ms - 1000, now_ms - 1000))
            logs.append((f"$bmsynth{i}/opened", i, "opened", now_ms - 1000))
        async with db.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO consult_dm (room_id, citizen, dept_id) VALUES ($1, $2, $3)"
                " ON CONFLICT (room_id) DO NOTHING", dms)
            await conn.executemany(
                "INSERT INTO consult_pseudonym (dept_id, citizen, number) VALUES ($1, $2, $3)"
                " ON CONFLICT (dept_id, citizen) DO NOTHING", pseudonyms)
            await conn.executemany(
                "INSERT INTO consult_case (ref, dept_id, citizen, dm_room, officers_room,"
                " opened_by_event, status, opened_at, attention_since)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", cases)
        # The log rows refer to the real case ids.
        ids = {r["opened_by_event"]: int(r["id"]) for r in await db.fetch(
            "SELECT id, opened_by_event FROM consult_case WHERE opened_by_event LIKE '$bmsynth%'")}
        logs = [(e, ids[e.split("/")[0]], k, at) for e, _, k, at in logs]
        async with db.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO consult_log (event_id, case_id, kind, at, actor, detail)"
                " VALUES ($1, $2, $3, $4, NULL, NULL) ON CONFLICT (event_id) DO NOTHING", logs)
        open_now = await db.fetchval("SELECT COUNT(*) FROM consult_case WHERE status='open'")
    finally:
        await db.stop()
    return round(time.perf_counter() - start, 2), int(open_now)


def bursts(samples: list[tuple[float, float]], gap: float = 0.15) -> list[dict[str, float]]:
    """(t, cpu) samples → periods of activity: start (s after the first sample), wall and CPU ms."""
    found: list[dict[str, float]] = []
    current: list[float] | None = None  # [start, end, cpu]
    for (t0, c0), (t1, c1) in zip(samples, samples[1:], strict=False):
        if c1 - c0 <= 0:
            continue
        if current is not None and t0 - current[1] <= gap:
            current[1], current[2] = t1, current[2] + (c1 - c0)
        else:
            if current is not None:
                found.append(current)  # type: ignore[arg-type]
            current = [t0, t1, c1 - c0]
    if current is not None:
        found.append(current)  # type: ignore[arg-type]
    first = samples[0][0] if samples else 0.0
    return [{"at_s": round(s - first, 2), "wall_ms": round((e - s) * 1000),
             "cpu_ms": round(c * 1000)} for s, e, c in found]


async def run_relay(stack: Stack, workdir: Path, *, messages: int, citizens: int,
                    per_citizen: int, open_cases: int, profile_s: int,
                    profile_out: Path | None, db_url: str, spacing_s: float,
                    timeout: float = 300) -> dict[str, Any]:
    roster = workdir / "roster"
    await asyncio.to_thread(shutil.copytree, SMALL_ROSTER, roster, dirs_exist_ok=True)
    (roster / "hours.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    out: dict[str, Any] = {"citizens": citizens, "per_citizen": per_citizen, "messages": messages,
                           "spacing_ms": spacing_s * 1000, "warmup": WARMUP}
    async with connector_session() as session:
        tag = uuid.uuid4().hex[:6]
        settings = stack.bridge_settings(
            db_url, PREFIX, [str(roster / "*.yaml")],
            extra={"consultation.check_interval": CHECK_INTERVAL_S, **NO_RATE_LIMIT},
        )
        config_path = workdir / "config.yaml"
        write_config(config_path, settings)  # first for bot_mxid; rewritten with the roster below
        config = load_config(config_path)
        bot, ghost = config.bot_mxid, config.ghost_mxid("fgw")
        officer = await watcher(stack, session, f"bm_off_{tag}", {bot})
        (roster / "officers.yaml").write_text(roster_officers(
            {"o": (officer.user_id, "值班员 01", "fgw")}), encoding="utf-8")
        write_config(config_path, settings)
        bridge = BridgeProcess(config_path, stack.port)
        start = time.perf_counter()
        await bridge.astart(180)
        out["bridge_start_s"] = round(time.perf_counter() - start, 2)
        try:
            assert bridge.proc is not None
            pid = bridge.proc.pid
            deadline = time.monotonic() + timeout
            # The officer joins the officers' room once the bridge has invited them.
            room = ""
            while not room and time.monotonic() < deadline:
                try:
                    answer = await officer.call(
                        "POST", f"/_matrix/client/v3/join/{quote(f'#{PREFIX}officers_fgw:{stack.domain}')}", {})
                    room = str(answer["room_id"])
                except RuntimeError:
                    await asyncio.sleep(0.5)
            if not room:
                raise TimeoutError(f"officer never got into the officers' room\n{bridge.log_tail()}")
            rooms = {"fgw": room}
            for dept in DEPTS[1:]:
                try:
                    answer = await officer.call("GET", "/_matrix/client/v3/directory/room/"
                                                + quote(f"#{PREFIX}officers_{dept}:{stack.domain}"))
                    rooms[dept] = str(answer["room_id"])
                except RuntimeError:
                    pass

            # C citizens, each with a DM and an open case (the opening message relayed).
            people = [await watcher(stack, session, f"bm_cit{c}_{tag}", {ghost})
                      for c in range(citizens)]

            async def open_dm(citizen: Watcher) -> str:
                answer = await citizen.call("POST", "/_matrix/client/v3/createRoom", {
                    "preset": "trusted_private_chat", "invite": [ghost], "is_direct": True})
                dm = str(answer["room_id"])
                greeted = await citizen.sync_for(
                    lambda: any(e.get("sender") == ghost and e.get("type") == "m.room.message"
                                for e in citizen.events.get(dm, [])), deadline)
                if not greeted:
                    raise TimeoutError(f"no greeting in {dm}\n{bridge.log_tail()}")
                return dm

            dms = await asyncio.gather(*(open_dm(c) for c in people))
            openers = [f"bmo-{tag}-{c}" for c in range(citizens)]
            await asyncio.gather(*(c.send_text(dm, m) for c, dm, m in zip(people, dms, openers, strict=True)))
            if not await officer.sync_for(lambda: set(openers) <= officer.seen.keys(), deadline):
                raise TimeoutError(f"cases not opened\n{bridge.log_tail()}")
            roots = [officer.first[m]["content"]["m.relates_to"]["event_id"] for m in openers]
            await settle(2.0)
            out["rss_after_setup_mb"] = vm_rss_mb(pid)
            citizen, dm, root = people[0], dms[0], roots[0]
            await citizen.sync_once(0)

            async def to_officers(marker: str) -> None:
                await citizen.send_text(dm, marker)

            async def to_citizen(marker: str) -> None:
                await officer.send(room, thread_reply(root, marker))

            # 1. citizen → officers' thread, then officer → citizen.
            cpu: dict[str, Any] = {}
            for name, send, receiver, key in (("citizen_to_officers", to_officers, officer, "bmi"),
                                              ("officer_to_citizen", to_citizen, citizen, "bmr")):
                await one_way(send, receiver, [f"{key}w-{tag}-{i}" for i in range(WARMUP)], 60,
                              spacing_s)
                markers = [f"{key}-{tag}-{i}" for i in range(messages)]
                sampler = Sampler(pid, stack.synapse.pid)
                delays = await one_way(send, receiver, markers, timeout, spacing_s)
                sampler.phase_over()
                await settle()
                cpu[name] = sampler.result(messages)
                target_room = room if receiver is officer else dm
                history = await receiver.history_counts(target_room, f"{key}-{tag}-")
                result: dict[str, Any] = summary_ms(delays)
                result.update(sent=messages, received=len(delays),
                              sync=tally(markers, receiver.counts), history=tally(markers, history))
                result["hops"] = await relay_breakdown(
                    stack.synapse.workdir / "homeserver.db", db_url,
                    "relay-in" if receiver is officer else "relay-out", f"{key}-{tag}-")
                out[name] = result

            # 2. relayed throughput: every citizen at once, as fast as each can send.
            plan = [[f"bmt-{tag}-{c}-{i}" for i in range(per_citizen)] for c in range(citizens)]
            wanted = [m for markers in plan for m in markers]

            async def burst(client: Watcher, dm_room: str, markers: list[str]) -> None:
                for marker in markers:
                    await client.send_text(dm_room, marker)

            await officer.sync_once(0)
            profiler = None
            if profile_s > 0 and profile_out is not None:
                profiler = start_profile(pid, profile_s, profile_out)
            sampler = Sampler(pid, stack.synapse.pid)
            start = time.perf_counter()
            sync = asyncio.create_task(officer.sync_until(set(wanted), time.monotonic() + timeout))
            await asyncio.gather(*(burst(c, d, p) for c, d, p in zip(people, dms, plan, strict=True)))
            sent = time.perf_counter() - start
            await sync
            sampler.phase_over()
            seen = [officer.seen[m] for m in wanted if m in officer.seen]
            visible = (max(seen) - start) if seen else math.nan
            await settle()
            cpu["throughput"] = sampler.result(len(wanted))
            history = await officer.history_counts(room, f"bmt-{tag}-")
            out["throughput"] = {
                "total": len(wanted), "received": len(seen), "sent_s": round(sent, 3),
                "visible_s": round(visible, 3),
                "msgs_per_s": round(len(seen) / visible, 1) if seen else 0.0,
                "send_ack_msgs_per_s": round(len(wanted) / sent, 1),
                "sync": tally(wanted, officer.counts), "history": tally(wanted, history),
                "officer_sync_gaps": officer.limited,
            }
            if profiler is not None:
                try:
                    await asyncio.to_thread(profiler.wait, profile_s + 30)
                except subprocess.TimeoutExpired:
                    profiler.kill()
                out["profile"] = await asyncio.to_thread(summarise_profile, profile_out)  # type: ignore[arg-type]
                out["profile"]["file"] = str(profile_out)
            total_events = sum(v["relayed_events"] for v in cpu.values())
            total_cpu = sum(v["cpu_s"] for v in cpu.values())
            out["bridge_cpu"] = cpu
            out["bridge_cpu_ms_per_event"] = round(total_cpu * 1000 / total_events, 2)
            out["bridge_rss_after_relay_mb"] = vm_rss_mb(pid)
        finally:
            await asyncio.to_thread(bridge.stop)

        # 3. RSS with many open cases: written while the bridge is stopped, then a fresh start.
        if open_cases > 0:
            insert_s, open_now = await insert_open_cases(db_url, open_cases, rooms,
                                                         int(time.time() * 1000))
            start = time.perf_counter()
            await bridge.astart(180)
            ready_s = time.perf_counter() - start
            try:
                assert bridge.proc is not None
                pid = bridge.proc.pid
                samples: list[tuple[float, float]] = []
                rss: list[float] = []
                window = 2 * CHECK_INTERVAL_S + 2.5
                t_end = time.perf_counter() + window
                while time.perf_counter() < t_end:
                    samples.append((time.perf_counter(), cpu_s(pid)))
                    rss.append(vm_rss_mb(pid))
                    await asyncio.sleep(0.05)
                found = bursts(samples)
                ticks = [b for b in found if b["cpu_ms"] >= 20]
                out["open_cases"] = {
                    "synthetic": open_cases, "open_in_db": open_now, "insert_s": insert_s,
                    "restart_ready_s": round(ready_s, 2), "window_s": window,
                    "check_interval_s": CHECK_INTERVAL_S,
                    "rss_mb": rss[-1], "rss_peak_mb": max(rss), "rss_at_ready_mb": rss[0],
                    "cpu_in_window_ms": round((samples[-1][1] - samples[0][1]) * 1000),
                    "activity": found[:12],
                    "tick_cpu_ms_median": statistics.median([b["cpu_ms"] for b in ticks])
                    if ticks else None,
                    "tick_wall_ms_median": statistics.median([b["wall_ms"] for b in ticks])
                    if ticks else None,
                }
            finally:
                await asyncio.to_thread(bridge.stop)
        out["bridge_log"] = str(bridge.log_path)
        # Last, so the bridge never restarts over messages it did not see.
        out["floor"] = await run_floor(
            stack, session, workdir, citizen=citizen, officer=officer, dm=dm, room=room,
            root=root, bot=bot, ghost=ghost, messages=messages, spacing_s=spacing_s,
            timeout=timeout, tag=tag)
    return out
