"""Notices (issue #16): one notice to N departments (744 in the issue) — the seconds until every
copy is stored by the homeserver, as a ratio to N plain sends by one user into the same rooms in
the same run (the floor), and how many copies were lost or doubled (read back with /messages).

Every department has one officer (the bench's user), so each has an officers' room; the rooms
are made while the bridge starts and are not part of the measurement. The floor's user sends
with as many requests in flight as the bridge's HTTP client allows (aiohttp's 100), the way the
outbox sends into many rooms at once (one ordered queue per room).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.provisioning import write_roster
from bench.stack import NO_DEVICES, PREFIX, Stack, connector_session
from bench.stats import CpuSince
from tests.kit.bridge import InProcessBridge, write_config

IN_FLIGHT = 100


async def run_notices(stack: Stack, workdir: Path, departments: int,
                      jurisdictions: int = 12, rounds: int = 3) -> dict[str, Any]:
    user_id, token = await asyncio.to_thread(stack.synapse.register, "bench_notices_officer")
    write_roster(workdir / "roster", jurisdictions, departments, [user_id])
    settings = stack.bridge_settings(f"sqlite:{workdir}/bridge.db", f"{PREFIX}n_",
                                     [str(workdir / "roster" / "*.yaml")], extra=dict(NO_DEVICES))
    settings.extra.update({"admins": [user_id], "notices.check_interval": 3600,
                           "bots.disabled": ["presence"]})
    bridge = InProcessBridge(write_config(workdir / "config.yaml", settings))
    started = time.perf_counter()
    runtime = await bridge.start()
    await runtime.idle()
    setup_s = time.perf_counter() - started
    bot: Any = next(b for b in runtime.bots if b.name == "notices")
    try:
        rooms = await bot.spaces.officers_rooms()
        assert len(rooms) == departments, f"{len(rooms)} officers' rooms for {departments}"
        async with connector_session() as http:
            base, auth = stack.url, {"Authorization": f"Bearer {token}"}

            async def call(method: str, path: str, body: Any = None,
                           params: dict[str, str] | None = None) -> dict[str, Any]:
                async with http.request(method, base + path, json=body, headers=auth,
                                        params=params) as resp:
                    data: dict[str, Any] = await resp.json(content_type=None)
                    if resp.status >= 300:
                        raise RuntimeError(f"{method} {path}: {resp.status} {data}")
                    return data

            limit = asyncio.Semaphore(IN_FLIGHT)

            async def bounded(coro: Any) -> Any:
                async with limit:
                    return await coro

            # The user joins every officers' room (invited by the roster).
            await asyncio.gather(*(bounded(call("POST", f"/_matrix/client/v3/join/{quote(r)}", {}))
                                   for r in rooms.values()))

            async def floor() -> dict[str, float]:
                """N plain sends by one user, one into each room."""
                synapse = CpuSince(stack.synapse.pid)
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                await asyncio.gather(*(bounded(call(
                    "PUT", f"/_matrix/client/v3/rooms/{quote(r)}/send/m.room.message/"
                           f"{uuid.uuid4().hex}", {"msgtype": "m.text", "body": "floor"}))
                    for r in rooms.values()))
                return {"s": round(time.perf_counter() - t0, 2),
                        "synapse_cpu_s": round(synapse.seconds(), 2),
                        "own_cpu_s": round(time.process_time() - cpu0, 2)}

            # The notice: from the sender's confirmation until every copy is stored. The first
            # after the start (each room's encryption state is asked once, bridge/crypto) is
            # reported apart; then floor and notice alternate, `rounds` times, and the median
            # ratio counts (the machine is shared: one pair alone is noisy).
            dm = await bot.dm_with(user_id)
            cold = await _one_notice(runtime, bot, stack, user_id, dm, sorted(rooms), 1)
            pairs = []
            for n in range(2, rounds + 2):
                pairs.append((await floor(), await _one_notice(runtime, bot, stack, user_id, dm,
                                                               sorted(rooms), n)))

            # Read back: exactly one copy of each notice in every room.
            async def copies(room: str) -> dict[str, int]:
                page = await call("GET", f"/_matrix/client/v3/rooms/{quote(room)}/messages",
                                  params={"dir": "b", "limit": str(20 + 5 * rounds)})
                found: dict[str, int] = {}
                for e in page.get("chunk", []):
                    ref = e.get("content", {}).get("org.dutyroom.notice")
                    if ref:
                        found[ref] = found.get(ref, 0) + 1
                return found
            refs = [f"TZ-{n:04d}" for n in range(1, rounds + 2)]
            counts = [found.get(ref, 0) for found in await asyncio.gather(
                *(bounded(copies(r)) for r in rooms.values())) for ref in refs]
        ratios = sorted(notice["s"] / fl["s"] for fl, notice in pairs)
        fl, warm = sorted(pairs, key=lambda p: p[1]["s"] / p[0]["s"])[len(pairs) // 2]
        floor_s = fl["s"]
        return {
            "departments": departments,
            "setup_s": round(setup_s, 1),
            "rounds": rounds,
            "floor_s": floor_s,
            "notice_s": warm["s"],
            "notice_queued_s": warm["queued_s"],
            "ratio_to_floor": round(warm["s"] / floor_s, 2),
            "ratios": [round(r, 2) for r in ratios],
            "cold_notice_s": cold["s"],
            "cold_ratio_to_floor": round(cold["s"] / floor_s, 2),
            "floor_synapse_cpu_s": fl["synapse_cpu_s"],
            # CPU of this process (the bridge in-process; the floor's client) in each phase.
            "floor_client_cpu_s": fl["own_cpu_s"],
            "notice_bridge_cpu_s": warm["own_cpu_s"],
            "notice_synapse_cpu_s": warm["synapse_cpu_s"],
            "lost": sum(1 for c in counts if c == 0),
            "doubled": sum(1 for c in counts if c > 1),
            "failed_sends": cold["failed"] + sum(p[1]["failed"] for p in pairs),
        }
    finally:
        await bridge.stop()


async def _one_notice(runtime: Any, bot: Any, stack: Stack, sender: str, dm: str,
                      recipients: list[str], n: int) -> dict[str, Any]:
    data = {"kind": "work", "title": f"基准测试通知 {n}", "body": "请各部门**按时**回执。",
            "recipients": recipients, "deadline": bot.now_ms() + 86_400_000}
    synapse = CpuSince(stack.synapse.pid)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    notice, problem = await bot.create_notice(f"bench/{n}", sender, dm, data)
    assert notice is not None, problem
    queued_s = time.perf_counter() - t0
    while True:
        sent = await runtime.db.fetchval(
            f"SELECT COUNT(*) FROM outbox WHERE key LIKE 'notice/{notice.id}/copy/%' AND state='sent'")
        if int(sent) >= len(recipients):
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - t0
    failed = await runtime.db.fetchval(
        f"SELECT COUNT(*) FROM outbox WHERE key LIKE 'notice/{notice.id}/copy/%' AND state='failed'")
    return {"s": round(elapsed, 2), "queued_s": round(queued_s, 2),
            "synapse_cpu_s": round(synapse.seconds(), 2), "failed": int(failed),
            "own_cpu_s": round(time.process_time() - cpu0, 2)}


def notices_rows(results: dict[str, Any], target_x: float) -> list[tuple[str, str]]:
    n = results.get("notices")
    if not n:
        return []
    good = n["ratio_to_floor"] <= target_x and not n["lost"] and not n["doubled"]
    return [
        (f"notice to {n['departments']} departments: all stored (s), ratio to as many plain sends",
         f"{n['notice_s']} vs {n['floor_s']} = {n['ratio_to_floor']}× (median of "
         f"{', '.join(str(r) for r in n['ratios'])})  [≤{target_x}×] {'ok' if good else 'MISS'}"),
        ("  first notice after a start (s), ratio",
         f"{n['cold_notice_s']} = {n['cold_ratio_to_floor']}×"),
        ("  lost / doubled / failed (all notices); queued in (s); Synapse CPU notice / floor (s)",
         f"{n['lost']} / {n['doubled']} / {n['failed_sends']}; {n['notice_queued_s']}; "
         f"{n['notice_synapse_cpu_s']} / {n['floor_synapse_cpu_s']}"),
        ("  CPU of the bridge sending / of the floor's client (s)",
         f"{n['notice_bridge_cpu_s']} / {n['floor_client_cpu_s']}"),
    ]
