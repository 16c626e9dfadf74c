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
from bench.stack import PREFIX, Stack, connector_session
from bench.stats import CpuSince
from tests.kit.bridge import InProcessBridge, write_config

IN_FLIGHT = 100


async def run_notices(stack: Stack, workdir: Path, departments: int,
                      jurisdictions: int = 12) -> dict[str, Any]:
    user_id, token = await asyncio.to_thread(stack.synapse.register, "bench_notices_officer")
    write_roster(workdir / "roster", jurisdictions, departments, [user_id])
    settings = stack.bridge_settings(f"sqlite:{workdir}/bridge.db", f"{PREFIX}n_",
                                     [str(workdir / "roster" / "*.yaml")])
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

            # The floor: N plain sends by one user, one into each room.
            synapse = CpuSince(stack.synapse.pid)
            t0 = time.perf_counter()
            await asyncio.gather(*(bounded(call(
                "PUT", f"/_matrix/client/v3/rooms/{quote(r)}/send/m.room.message/{uuid.uuid4().hex}",
                {"msgtype": "m.text", "body": "floor"})) for r in rooms.values()))
            floor_s = time.perf_counter() - t0
            floor_cpu = synapse.seconds()

            # The notice: from the sender's confirmation until every copy is stored.
            dm = await bot.dm_with(user_id)
            data = {"kind": "work", "title": "基准测试通知", "body": "请各部门**按时**回执。",
                    "recipients": sorted(rooms), "deadline": bot.now_ms() + 86_400_000}
            synapse = CpuSince(stack.synapse.pid)
            t0 = time.perf_counter()
            notice, problem = await bot.create_notice("bench/1", user_id, dm, data)
            assert notice is not None, problem
            queued_s = time.perf_counter() - t0
            while True:
                sent = await runtime.db.fetchval(
                    "SELECT COUNT(*) FROM outbox WHERE key LIKE 'notice/1/copy/%' AND state='sent'")
                if int(sent) >= departments:
                    break
                await asyncio.sleep(0.02)
            notice_s = time.perf_counter() - t0
            notice_cpu = synapse.seconds()
            failed = await runtime.db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE key LIKE 'notice/1/copy/%' AND state='failed'")

            # Read back: exactly one copy in every room.
            async def copies(room: str) -> int:
                page = await call("GET", f"/_matrix/client/v3/rooms/{quote(room)}/messages",
                                  params={"dir": "b", "limit": "50"})
                return sum(1 for e in page.get("chunk", [])
                           if e.get("content", {}).get("org.dutyroom.notice") == notice.ref)
            counts = await asyncio.gather(*(bounded(copies(r)) for r in rooms.values()))
        return {
            "departments": departments,
            "setup_s": round(setup_s, 1),
            "floor_s": round(floor_s, 2),
            "notice_s": round(notice_s, 2),
            "notice_queued_s": round(queued_s, 2),
            "ratio_to_floor": round(notice_s / floor_s, 2),
            "floor_synapse_cpu_s": round(floor_cpu, 2),
            "notice_synapse_cpu_s": round(notice_cpu, 2),
            "lost": sum(1 for c in counts if c == 0),
            "doubled": sum(1 for c in counts if c > 1),
            "failed_sends": int(failed),
        }
    finally:
        await bridge.stop()


def notices_rows(results: dict[str, Any], target_x: float) -> list[tuple[str, str]]:
    n = results.get("notices")
    if not n:
        return []
    good = n["ratio_to_floor"] <= target_x and not n["lost"] and not n["doubled"]
    return [
        (f"notice to {n['departments']} departments: all stored (s), ratio to as many plain sends",
         f"{n['notice_s']} vs {n['floor_s']} = {n['ratio_to_floor']}×  [≤{target_x}×] "
         f"{'ok' if good else 'MISS'}"),
        ("  lost / doubled / failed; queued in (s); Synapse CPU notice / floor (s)",
         f"{n['lost']} / {n['doubled']} / {n['failed_sends']}; {n['notice_queued_s']}; "
         f"{n['notice_synapse_cpu_s']} / {n['floor_synapse_cpu_s']}"),
    ]
