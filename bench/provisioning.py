"""3–4. Provisioning many departments: cold and warm bridge start, requests made, RSS."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bench.stack import NO_DEVICES, PREFIX, Stack
from bench.stats import CpuSince
from tests.kit.bridge import InProcessBridge, write_config
from tests.kit.requests import count_requests

PER_JURISDICTION = 62


def write_roster(target: Path, jurisdictions: int, departments: int,
                 officers: Sequence[str] = ()) -> tuple[int, int]:
    """Synthetic roster in the format of rosters/example/departments.yaml; returns (J, D).

    `officers` (Matrix IDs) are put on every department ("*"), so each gets an officers' room;
    without them no department is staffed and only department rooms are made.
    """
    count_j = min(jurisdictions, max(1, math.ceil(departments / PER_JURISDICTION)))
    juris = [{"id": f"j{j:02d}", "name": f"第{j}区", "space_name": f"第{j}区 · 网上值班室"}
             for j in range(count_j)]
    depts = []
    for n in range(departments):
        j, d = divmod(n, PER_JURISDICTION) if count_j > 1 else (0, n)
        j = min(j, count_j - 1)
        depts.append({
            "id": f"j{j:02d}d{d:03d}", "name": f"第{j}区第{d}部门", "jurisdiction": f"j{j:02d}",
            "email": f"j{j:02d}d{d:03d}@mail.example.gov.cn",
            "description": f"第{j}区第{d}部门的合成测试数据",
        })
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "departments.yaml", "w", encoding="utf-8") as stream:
        YAML().dump({"example_data": True, "jurisdictions": juris, "departments": depts},
                    stream)
    if officers:
        staff = [{"mxid": mxid, "alias": f"值班员 {i:02d}", "departments": "*"}
                 for i, mxid in enumerate(officers, 1)]
        with open(target / "officers.yaml", "w", encoding="utf-8") as stream:
            YAML().dump({"officers": staff}, stream)
    return count_j, departments


def vm_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return math.nan


async def _phase(config: Path, stack: Stack) -> tuple[dict[str, Any], InProcessBridge]:
    bridge = InProcessBridge(config)
    with count_requests(stack.url) as (counts, seconds):
        synapse = CpuSince(stack.synapse.pid)
        start = time.perf_counter()
        runtime = await bridge.start()
        await runtime.idle()
        elapsed = time.perf_counter() - start
        synapse_cpu = synapse.seconds()
    bots = {bot.name: bot for bot in runtime.bots}
    total = sum(counts.values())
    create_calls = counts["POST /_matrix/client/v3/createRoom"]
    return {
        "ready_s": round(elapsed, 2),
        "requests": total,
        "rooms_created": int(getattr(bots.get("directory"), "created", -1)),
        "officers_rooms_created": int(getattr(bots.get("officers"), "created", -1)),
        "create_room_calls": create_calls,
        # All of Synapse's CPU in the phase (createRoom and every other request), per createRoom.
        "synapse_cpu_s": round(synapse_cpu, 2),
        "synapse_cpu_s_per_create_room": round(synapse_cpu / create_calls, 3)
        if create_calls else math.nan,
        "top_requests": dict(counts.most_common()),
        "request_seconds": {k: round(v, 2) for k, v in seconds.most_common()},
    }, bridge


async def run_provisioning(stack: Stack, workdir: Path, jurisdictions: int,
                           departments: int, officers_per_department: int = 0) -> dict[str, Any]:
    # Real accounts (an invite to an unknown local user may be refused), each on every department.
    officers = [(await asyncio.to_thread(stack.synapse.register, f"bench_officer{i}"))[0]
                for i in range(officers_per_department)]
    count_j, count_d = write_roster(workdir / "roster", jurisdictions, departments, officers)
    settings = stack.bridge_settings(f"sqlite:{workdir}/bridge.db", PREFIX,
                                     [str(workdir / "roster" / "*.yaml")], extra=dict(NO_DEVICES))
    config = write_config(workdir / "config.yaml", settings)
    cold, bridge = await _phase(config, stack)
    rss = vm_rss_mb()
    await bridge.stop()
    warm, bridge = await _phase(config, stack)
    await bridge.stop()
    rooms = max(cold["create_room_calls"], 1)
    return {
        "jurisdictions": count_j, "departments": count_d,
        "officers_per_department": officers_per_department,
        "cold": cold, "warm": warm,
        "per_room_note": "per createRoom call (directory + officers' + admin rooms)",
        "cold_requests_per_room": round(cold["requests"] / rooms, 1),
        "cold_s_per_room": round(cold["ready_s"] / rooms, 3),
        "bridge_rss_mb": rss,
        "rss_note": "VmRSS of the bench process (bridge in-process) after cold provisioning",
        "synapse_rss_mb": vm_rss_mb(stack.synapse.pid) if stack.synapse.pid else math.nan,
    }
