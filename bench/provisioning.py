"""3–4. Provisioning many departments: cold and warm bridge start, requests made, RSS."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from ruamel.yaml import YAML
from yarl import URL

from bench.stack import PREFIX, Stack
from tests.kit.bridge import BridgeSettings, InProcessBridge, write_config

PER_JURISDICTION = 62
# Room ids, user ids, aliases (raw or %-encoded) and transaction ids become placeholders.
_ID = re.compile(r"/(?:[!@#]|%21|%40|%23)[^/?]+")
_TXN = re.compile(r"/(send/[^/]+|state/[^/]+)/[^/?]+$")


def write_roster(target: Path, jurisdictions: int, departments: int) -> tuple[int, int]:
    """Synthetic roster in the format of rosters/example/departments.yaml; returns (J, D)."""
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
    return count_j, departments


def request_kind(method: str, url: str) -> str:
    path = URL(url).path if "://" in url else url
    path = _ID.sub("/{id}", path)
    path = _TXN.sub(lambda m: "/" + m.group(1) + "/{key}", path)
    return f"{method.upper()} {path}"


@contextmanager
def count_requests(prefix: str) -> Iterator[tuple[Counter[str], Counter[str]]]:
    """Count every aiohttp request whose URL starts with `prefix` (the homeserver), and sum the
    seconds until its response headers arrived (body reading is not included)."""
    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    original = aiohttp.ClientSession._request

    async def counting(self: aiohttp.ClientSession, method: str, str_or_url: Any,
                       *args: Any, **kwargs: Any) -> Any:
        url = str(str_or_url)
        if not url.startswith(prefix):
            return await original(self, method, str_or_url, *args, **kwargs)
        kind = request_kind(method, url)
        counts[kind] += 1
        start = time.perf_counter()
        try:
            return await original(self, method, str_or_url, *args, **kwargs)
        finally:
            seconds[kind] += time.perf_counter() - start

    aiohttp.ClientSession._request = counting  # type: ignore[method-assign]
    try:
        yield counts, seconds
    finally:
        aiohttp.ClientSession._request = original  # type: ignore[method-assign]


def vm_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return math.nan


async def _phase(config: Path, stack: Stack) -> tuple[dict[str, Any], InProcessBridge]:
    bridge = InProcessBridge(config)
    with count_requests(stack.url) as (counts, seconds):
        start = time.perf_counter()
        runtime = await bridge.start()
        await runtime.idle()
        elapsed = time.perf_counter() - start
    directory = runtime.bots[0]
    total = sum(counts.values())
    return {
        "ready_s": round(elapsed, 2),
        "requests": total,
        "rooms_created": int(getattr(directory, "created", -1)),
        "create_room_calls": counts["POST /_matrix/client/v3/createRoom"],
        "top_requests": dict(counts.most_common()),
        "request_seconds": {k: round(v, 2) for k, v in seconds.most_common()},
    }, bridge


async def run_provisioning(stack: Stack, workdir: Path, jurisdictions: int,
                           departments: int) -> dict[str, Any]:
    count_j, count_d = write_roster(workdir / "roster", jurisdictions, departments)
    settings = BridgeSettings(
        homeserver_url=stack.url, domain=stack.domain, as_token=stack.as_token,
        hs_token=stack.hs_token, port=stack.port, database=f"sqlite:{workdir}/bridge.db",
        prefix=PREFIX, rosters=[str(workdir / "roster" / "*.yaml")],
    )
    config = write_config(workdir / "config.yaml", settings)
    cold, bridge = await _phase(config, stack)
    rss = vm_rss_mb()
    await bridge.stop()
    warm, bridge = await _phase(config, stack)
    await bridge.stop()
    rooms = max(cold["create_room_calls"], 1)
    return {
        "jurisdictions": count_j, "departments": count_d,
        "cold": cold, "warm": warm,
        "per_room_note": "per createRoom call (directory + officers' + admin rooms)",
        "cold_requests_per_room": round(cold["requests"] / rooms, 1),
        "cold_s_per_room": round(cold["ready_s"] / rooms, 3),
        "bridge_rss_mb": rss,
        "rss_note": "VmRSS of the bench process (bridge in-process) after cold provisioning",
        "synapse_rss_mb": vm_rss_mb(stack.synapse.pid) if stack.synapse.pid else math.nan,
    }
