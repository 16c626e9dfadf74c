"""9. The province's tree (issue #18): cold provisioning of the example province and of N
synthetic departments, each as a ratio to the homeserver's own cost of the same number of bare
createRoom calls in the same run; a warm restart; /hierarchy of the top space.

The floor is what any appservice pays for that many rooms here: the same homeserver, the same
concurrency as the bridge (rosters.provision_concurrency, 8), `{"preset": "public_chat"}` and
nothing else. The bridge's rooms carry more (name, topic, power levels, space links, aliases,
avatars, its ghosts' profiles), so 1× is out of reach; the goal is ≤ 1.15×.
Runnable alone: `python -m bench --only-cities [--departments N]`.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.cities_floor import receiving, same_work
from bench.provisioning import write_roster
from bench.stack import NO_DEVICES, Stack
from bridge.parallel import DEFAULT_CONCURRENCY
from tests.kit.bridge import InProcessBridge, write_config
from tests.kit.requests import count_requests

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = ("cities.yaml", "departments.yaml", "hours.yaml", "calendar.yaml")
GOALS = {"cold_x": 1.15, "warm_s": 5.0, "hierarchy_s": 1.0}


def same_content(n: int, tag: str) -> dict[str, Any]:
    """A createRoom carrying what a department room's does (name, topic, alias, listed, the
    initial state, a power-level override): the homeserver's cost of the same rooms."""
    return {"preset": "public_chat", "visibility": "public", "room_alias_name": f"dutyroom_{tag}{n}",
            "name": f"第{n}部门", "topic": "【值班中】工作人员在线，私信即可咨询。" * 3,
            "initial_state": [
                {"type": "m.room.history_visibility", "content": {"history_visibility": "world_readable"}},
                {"type": "m.room.guest_access", "content": {"guest_access": "can_join"}}],
            "power_level_content_override": {"events_default": 50, "invite": 100}}


async def create_rooms(stack: Stack, count: int, body: Any = None,
                       concurrency: int = DEFAULT_CONCURRENCY) -> float:
    """Seconds for `count` createRoom calls by the appservice, `concurrency` at once; `body(n)`
    gives each call's content (default: bare, `{"preset": "public_chat"}`)."""
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {stack.as_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async def one(n: int) -> None:
            content = body(n) if body else {"preset": "public_chat"}
            async with semaphore, session.post(f"{stack.url}/_matrix/client/v3/createRoom",
                                               json=content) as resp:
                assert resp.status == 200, await resp.text()
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return time.perf_counter() - started


async def hierarchy_seconds(stack: Stack, space_id: str) -> tuple[float, float, int]:
    """(first page, every page, rooms) of /hierarchy from the space, as the appservice bot."""
    headers = {"Authorization": f"Bearer {stack.as_token}"}
    rooms, token, first = 0, "", 0.0
    async with aiohttp.ClientSession(headers=headers) as session:
        started = time.perf_counter()
        while True:
            url = (f"{stack.url}/_matrix/client/v1/rooms/{quote(space_id)}/hierarchy?limit=100"
                   f"&user_id={quote(f'@dutyroom_bot:{stack.domain}')}")
            async with session.get(url + (f"&from={quote(token)}" if token else "")) as resp:
                body = await resp.json()
            assert resp.status == 200, body
            first = first or time.perf_counter() - started
            rooms += len(body["rooms"])
            token = body.get("next_batch") or ""
            if not token:
                return round(first, 3), round(time.perf_counter() - started, 3), rooms


async def _start(config: Path, stack: Stack) -> tuple[InProcessBridge, dict[str, Any]]:
    bridge = InProcessBridge(config)
    with count_requests(stack.url) as (counts, seconds):
        started = time.perf_counter()
        runtime = await bridge.start()
        await runtime.idle()
        elapsed = time.perf_counter() - started
    directory = next(b for b in runtime.bots if b.name == "directory")
    return bridge, {"ready_s": round(elapsed, 2), "rooms_created": directory.created,
                    "create_room_calls": counts["POST /_matrix/client/v3/createRoom"],
                    "requests": sum(counts.values()),
                    "top_requests": dict(counts.most_common(12)),
                    "request_seconds": {k: round(v, 2) for k, v in seconds.most_common(12)}}


async def _one(stack: Stack, workdir: Path, prefix: str, roster: list[str]) -> dict[str, Any]:
    settings = stack.bridge_settings(f"sqlite:{workdir}/bridge.db", prefix, roster,
                                     extra=dict(NO_DEVICES))
    config = write_config(workdir / "config.yaml", settings)
    bridge, cold = await _start(config, stack)
    directory = next(b for b in bridge.runtime.bots if b.name == "directory")  # type: ignore[union-attr]
    top = directory.space_rooms["space"]
    departments = len(directory.dept_rooms)
    version = bridge.runtime.room_settings.version  # type: ignore[union-attr]
    await bridge.stop()
    async with receiving(stack.port) as pushed:  # the floors' events are pushed as the bridge's
        work = await same_work(stack, roster[0], version)
        floor_s = await create_rooms(stack, cold["create_room_calls"])
        tag = prefix.removeprefix("dutyroom_")
        same_s = await create_rooms(stack, cold["create_room_calls"],
                                    lambda n: same_content(n, f"floor_{tag}"))
        await asyncio.sleep(1)  # the last pushes, before the bridge takes the port again
    work["pushed"] = dict(pushed)
    bridge, warm = await _start(config, stack)
    await bridge.stop()
    first, every, rooms = await hierarchy_seconds(stack, top)
    return {
        "departments": departments, "cold": cold, "warm": warm,
        "floor_bare_create_room_s": round(floor_s, 2),
        "cold_x": round(cold["ready_s"] / floor_s, 2) if floor_s else None,
        "floor_same_content_create_room_s": round(same_s, 2),
        "cold_x_same_content": round(cold["ready_s"] / same_s, 2) if same_s else None,
        "floor_same_work": work,
        "cold_x_same_work": round(cold["ready_s"] / work["seconds"], 2) if work["seconds"] else None,
        "hierarchy_first_page_s": first, "hierarchy_all_s": every, "hierarchy_rooms": rooms,
    }


async def run_cities(stack: Stack, workdir: Path, departments: int) -> dict[str, Any]:
    """The example province, then `departments` synthetic ones (0 leaves that out)."""
    example = workdir / "example"
    (example / "roster").mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE_FILES:
        shutil.copy(ROOT / "rosters" / "example" / name, example / "roster" / name)
    results: dict[str, Any] = {"goals": GOALS}
    results["example"] = await _one(stack, example, "dutyroom_ex_",
                                    [str(example / "roster" / "*.yaml")])
    if departments > 0:
        synthetic = workdir / "synthetic"
        write_roster(synthetic / "roster", 12, departments)
        results["synthetic"] = await _one(stack, synthetic, "dutyroom_syn_",
                                          [str(synthetic / "roster" / "*.yaml")])
    return results


def cities_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    c = results.get("cities")
    if not c:
        return []
    g, rows = c["goals"], []
    for key, label in (("example", "example province"), ("synthetic", "synthetic")):
        r = c.get(key)
        if not r:
            continue
        cold, warm = r["cold"], r["warm"]
        rows.append((f"tree: cold provisioning, {label} ({r['departments']} depts)",
                     f"{cold['ready_s']} s, {cold['create_room_calls']} createRoom; bare "
                     f"createRoom ×{cold['create_room_calls']}: {r['floor_bare_create_room_s']} s "
                     f"= {r['cold_x']}×  [≤{g['cold_x']}×] {'ok' if r['cold_x'] <= g['cold_x'] else 'MISS'}"))
        rows.append(("  vs createRoom with the same content (name, topic, alias, state)",
                     f"{r['floor_same_content_create_room_s']} s = {r['cold_x_same_content']}×"))
        if "floor_same_work" in r:
            w = r["floor_same_work"]
            rows.append(("  vs the same work by a plain appservice client (accounts, profiles, "
                         "avatars, rooms, spaces)",
                         f"{w['seconds']} s, {w['requests']} requests = {r['cold_x_same_work']}×"))
        rows.append((f"  warm restart ({label})",
                     f"{warm['ready_s']} s, {warm['rooms_created']} created, {warm['requests']} "
                     f"requests  [<{g['warm_s']} s, 0] "
                     f"{'ok' if warm['ready_s'] < g['warm_s'] and not warm['rooms_created'] else 'MISS'}"))
        rows.append((f"  /hierarchy of the top space ({r['hierarchy_rooms']} rooms)",
                     f"first page {r['hierarchy_first_page_s']} s, all pages "
                     f"{r['hierarchy_all_s']} s  [<{g['hierarchy_s']} s] "
                     f"{'ok' if r['hierarchy_first_page_s'] < g['hierarchy_s'] else 'MISS'}"))
    return rows
