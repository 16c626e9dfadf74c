"""Presence: what keeping the departments' accounts online costs the homeserver (issue #14).

A homeserver takes a user that does not sync back to offline about 30 s after its last presence
update, so the presence bot repeats every department's state every `presence.refresh_seconds`
(20 s). Measured on a homeserver of its own with presence enabled (the main bench homeserver has
it off): the homeserver's CPU per presence update sent as a department's account, and, as the
floor, per idle /sync of an ordinary user (what keeping a person online costs: a client repeats
a 30 s long-poll). Both are given as a share of one core for N accounts kept online.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.stack import PREFIX, connector_session, start_stack
from bench.stats import CpuSince

REFRESH_S = 20.0       # the presence bot's default interval
CLIENT_LONG_POLL_S = 30.0  # a typical client's /sync timeout while idle
PARALLEL = 8


async def _bounded(coros: list[Any]) -> None:
    limit = asyncio.Semaphore(PARALLEL)

    async def one(coro: Any) -> None:
        async with limit:
            await coro

    await asyncio.gather(*(one(c) for c in coros))


async def run_presence(scratch: Path, departments: int, rounds: int = 3,
                       sync_users: int = 50) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="presence-", dir=scratch))
    stack = await asyncio.to_thread(start_stack, workdir, {"presence": {"enabled": True}})
    try:
        async with connector_session() as http:
            base, auth = stack.url, {"Authorization": f"Bearer {stack.as_token}"}

            async def call(method: str, path: str, body: Any, **params: str) -> None:
                async with http.request(method, base + path, json=body, headers=auth,
                                        params=params) as resp:
                    if resp.status not in (200, 400):  # 400: registered by an earlier round
                        raise RuntimeError(f"{method} {path}: {resp.status} {await resp.text()}")

            ghosts = [f"{PREFIX}presence{n:04d}" for n in range(departments)]
            await _bounded([call("POST", "/_matrix/client/v3/register",
                                 {"type": "m.login.application_service", "username": g})
                            for g in ghosts])
            mxids = [f"@{g}:{stack.domain}" for g in ghosts]

            async def put(mxid: str, n: int) -> None:
                state = "online" if n % 2 == 0 else "unavailable"
                await call("PUT", f"/_matrix/client/v3/presence/{quote(mxid)}/status",
                           {"presence": state, "status_msg": f"值班中 · 至 17:30 ({n})"},
                           user_id=mxid)

            cpu, started = CpuSince(stack.synapse.pid), time.perf_counter()
            for n in range(rounds):
                await _bounded([put(m, n) for m in mxids])
            updates, put_cpu = rounds * len(mxids), cpu.seconds()
            round_s = (time.perf_counter() - started) / rounds
            sync_cpu_ms = await _idle_sync_cost(stack, http, sync_users)
    finally:
        await asyncio.to_thread(stack.synapse.stop)
    per_update_ms = put_cpu * 1000 / updates
    return {
        "departments": departments, "rounds": rounds,
        "synapse_cpu_ms_per_update": round(per_update_ms, 2),
        "round_wall_s": round(round_s, 2),
        "refresh_s": REFRESH_S,
        # Keeping every department up: updates every REFRESH_S seconds.
        "core_pct_all": round(100 * per_update_ms * departments / (REFRESH_S * 1000), 2),
        "floor_synapse_cpu_ms_per_idle_sync": round(sync_cpu_ms, 2),
        "floor_core_pct_same_number_syncing": round(
            100 * sync_cpu_ms * departments / (CLIENT_LONG_POLL_S * 1000), 2),
        "ratio_to_floor": round((per_update_ms / REFRESH_S) / (sync_cpu_ms / CLIENT_LONG_POLL_S), 2)
        if sync_cpu_ms else None,
    }


async def _idle_sync_cost(stack: Any, http: aiohttp.ClientSession, users: int) -> float:
    """Synapse CPU per /sync of a user with nothing new (short timeout, so it answers empty)."""
    tokens = []
    for n in range(users):
        _, token = await asyncio.to_thread(stack.synapse.register, f"presence_floor{n}")
        tokens.append(token)

    async def sync(token: str, since: str | None) -> str:
        params = {"timeout": "100", **({"since": since} if since else {})}
        async with http.get(f"{stack.url}/_matrix/client/v3/sync", params=params,
                            headers={"Authorization": f"Bearer {token}"}) as resp:
            return str((await resp.json())["next_batch"])

    batches = [await sync(t, None) for t in tokens]  # initial syncs are not the idle cost
    cpu, calls = CpuSince(stack.synapse.pid), 0
    for _ in range(3):
        batches = list(await asyncio.gather(*(sync(t, b) for t, b in zip(tokens, batches,
                                                                          strict=True))))
        calls += len(tokens)
    return cpu.seconds() * 1000 / calls
