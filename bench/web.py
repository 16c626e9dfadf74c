"""The public web site (issue #19): requests per second and p99 latency for the directory page
and /api/v1/departments with 744 departments, under 50 concurrent clients.

The bridge runs as its own process (as operators run it) with a synthetic roster of
`--departments` departments, its endpoint up and the web bot on; the directory's provisioning is
switched off (bots.disabled) so the section does not spend minutes creating 744 rooms the site
does not need (it reads only the roster and, when there, the directory's room table).

Each endpoint is loaded three times: with the bridge otherwise idle; beside the appservice taking
`events_per_s` events a second (transactions PUT to its endpoint as the homeserver does, stored
in the durable inbox and handed to the bots: the appservice's own path, with an event type no bot
acts on, so nothing is sent back); and beside the relay itself (bench/web_relay.py: citizens'
messages through the bridge into a staffed department's officers' room, whose latency is also
measured without the site's load).

The floor, measured in the same run by the same clients: a bare aiohttp server (its own
process, no middleware, no template) answering the very bytes the site answered, compressed the
same way. The ratio says what the site's own work (language, rate limit, headers, the
per-minute cache, JSON) costs beside what any aiohttp answer of that size costs here. The cost
of rendering a page on a cache miss (once a minute per page and language) is timed apart.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.provisioning import write_roster
from bench.stack import NO_RATE_LIMIT, Stack, connector_session
from bench.stats import CpuSince, percentile
from bench.web_relay import officer_for, set_up
from devstack.ports import free_port
from tests.kit.bridge import BridgeProcess, BridgeSettings, load_config, write_config
from tests.kit.duty import roster_officers

PATHS = {"directory": "/", "api_departments": "/api/v1/departments"}

FLOOR_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
content_type = sys.argv[3]
async def answer(request):
    response = web.Response(body=body, content_type=content_type, charset="utf-8")
    response.enable_compression()
    return response
app = web.Application()
app.router.add_get("/", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None)
"""


async def load(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """`clients` keep-alive clients, each sending its next request when the last is answered."""
    latencies: list[float] = []
    failures = 0
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector,
                                     headers={"Accept-Encoding": "gzip, deflate"}) as http:
        async def client() -> None:
            nonlocal failures
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                try:
                    async with http.get(url) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies), "failures": failures,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile([s * 1000 for s in latencies], 50), 1),
        "p99_ms": round(percentile([s * 1000 for s in latencies], 99), 1),
    }


async def feed_appservice(url: str, hs_token: str, per_s: float, stop: asyncio.Event
                          ) -> dict[str, int]:
    """Transactions of events to the bridge's endpoint, 10 a second, until `stop`."""
    sent = failed = 0
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {hs_token}"}
    per_txn = max(1, round(per_s / 10))
    async with aiohttp.ClientSession(headers=headers) as http:
        n = 0
        while not stop.is_set():
            tick = time.perf_counter()
            events = [{
                "type": "org.dutyroom.bench", "room_id": f"!bench{run}{i % 20}:localhost",
                "sender": "@bench:localhost", "event_id": f"$bench{run}-{n}-{i}",
                "origin_server_ts": int(time.time() * 1000), "content": {"n": n},
            } for i in range(per_txn)]
            try:
                async with http.put(f"{url}/_matrix/app/v1/transactions/bench-{run}-{n}",
                                    json={"events": events}) as resp:
                    ok = resp.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                sent += len(events)
            else:
                failed += 1
            n += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - tick)))
    return {"events_stored": sent, "transactions_failed": failed}


async def wait_listening(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.2)


async def floor(body: bytes, content_type: str, workdir: Path, clients: int,
                seconds: float) -> dict[str, Any]:
    path = workdir / f"floor-{content_type.replace('/', '_')}"
    path.write_bytes(body)
    port = free_port()
    proc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-c", FLOOR_SERVER,
                                                      str(path), str(port), content_type])
    try:
        url = f"http://127.0.0.1:{port}/"
        await wait_listening(url)
        cpu = CpuSince(proc.pid)
        result = await load(url, clients, seconds)
        result["server_cpu_ms_per_request"] = round(
            cpu.seconds() * 1000 / max(1, result["requests"]), 2)
        return result
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 10)


def render_miss_ms(roster_dir: Path, config: Path, repeats: int = 5) -> dict[str, float]:
    """What a cache miss costs: the directory page and the departments JSON built from scratch,
    in this process (median of a few)."""
    import json
    from datetime import datetime, timezone

    from bots.web.views import directory_view
    from bridge.config import Config
    from bridge.roster import load_roster
    from bridge.roster.files import roster_files

    cfg = Config(config)
    cfg.load()
    roster = load_roster(roster_files([str(roster_dir / "*.yaml")], roster_dir))
    times: dict[str, list[float]] = {"directory_view_all": [], "api_json": []}
    for i in range(repeats):
        now = datetime(2026, 11, 27, 2, i, tzinfo=timezone.utc)
        start = time.perf_counter()
        view = directory_view(roster, cfg, now, {})
        times["directory_view_all"].append(time.perf_counter() - start)
        start = time.perf_counter()
        json.dumps(view, ensure_ascii=False)
        times["api_json"].append(time.perf_counter() - start)
    return {k: round(percentile([s * 1000 for s in v], 50), 1) for k, v in times.items()}


async def run_web(stack: Stack, workdir: Path, departments: int, jurisdictions: int,
                  clients: int = 50, seconds: float = 10.0, events_per_s: float = 200
                  ) -> dict[str, Any]:
    async with connector_session() as session:
        return await _run_web(stack, workdir, departments, jurisdictions, clients, seconds,
                              events_per_s, session)


async def _run_web(stack: Stack, workdir: Path, departments: int, jurisdictions: int,
                   clients: int, seconds: float, events_per_s: float,
                   session: aiohttp.ClientSession) -> dict[str, Any]:
    roster_dir = workdir / "roster"
    await asyncio.to_thread(write_roster, roster_dir, jurisdictions, departments)
    web_port = free_port()
    settings = BridgeSettings(
        homeserver_url=stack.url, domain=stack.domain, as_token=stack.as_token,
        hs_token=stack.hs_token, port=stack.port, database=f"sqlite:{workdir}/bridge.db",
        prefix="dutyroom_", rosters=[str(roster_dir / "*.yaml")],
        # The officers' bot stays on: the one staffed department gets its room for the relay.
        extra={"bots.disabled": ["directory", "presence"],
               "web.rate_limit.per_minute": 0, "avatars.enabled": False,
               # The fed transactions are not numbered like the homeserver's.
               "appservice.reconcile_on_txn_anomaly": False, **NO_RATE_LIMIT},
    )
    config = write_config(workdir / "config.yaml", settings)
    relayed = "j00d000"  # the first synthetic department: staffed, and the citizens' contact
    bridge_config = load_config(config)
    officer = await officer_for(stack, session, bridge_config.bot_mxid)
    (roster_dir / "officers.yaml").write_text(roster_officers(
        {"o": (officer.user_id, "值班员 01", relayed)}), encoding="utf-8")
    # On duty whenever the benchmark runs: every message goes the on-duty way.
    (roster_dir / "hours.yaml").write_text(
        f'working_hours:\n  always:\n    every_day: ["00:00-24:00"]\n    departments: [{relayed}]\n',
        encoding="utf-8")
    # write_config gives tests a free port of the kernel's choosing; here it must be known.
    text = config.read_text(encoding="utf-8").replace("listen: 127.0.0.1:0",
                                                       f"listen: 127.0.0.1:{web_port}")
    config.write_text(text, encoding="utf-8")
    bridge = BridgeProcess(config, stack.port)
    await bridge.astart(timeout=120)
    results: dict[str, Any] = {"departments": departments, "clients": clients,
                               "seconds": seconds, "events_per_s": events_per_s}
    try:
        base = f"http://127.0.0.1:{web_port}"
        await wait_listening(base + "/")
        relay = await set_up(stack, session, officer, "dutyroom_", relayed,
                             bridge_config.ghost_mxid(relayed))
        results["relay_alone"] = await relay.run(seconds)
        async with aiohttp.ClientSession() as http:
            bodies = {}
            for name, path in PATHS.items():
                async with http.get(base + path, headers={"Accept-Encoding": "identity"}) as r:
                    bodies[name] = (await r.read(), r.content_type)
                async with http.get(base + path, headers={"Accept-Encoding": "gzip"}) as r:
                    results[f"{name}_bytes_gzip"] = int(r.headers.get("Content-Length", 0))
        for name, path in PATHS.items():
            cpu = CpuSince(bridge.proc.pid if bridge.proc else None)
            site = await load(base + path, clients, seconds)
            site["bridge_cpu_ms_per_request"] = round(
                cpu.seconds() * 1000 / max(1, site["requests"]), 2)
            stop = asyncio.Event()
            feeding = asyncio.create_task(feed_appservice(
                f"http://127.0.0.1:{stack.port}", stack.hs_token, events_per_s, stop))
            busy = await load(base + path, clients, seconds)
            stop.set()
            busy.update(await feeding)
            beside, relay_now = await asyncio.gather(load(base + path, clients, seconds),
                                                     relay.run(seconds))
            body, content_type = bodies[name]
            bottom = await floor(body, content_type, workdir, clients, seconds)
            results[name] = {
                "bytes": len(body), "site": site, "floor": bottom, "beside_appservice": busy,
                "beside_relay": {"site": beside, "relay": relay_now},
                "ratio_rps_to_floor": round(site["rps"] / bottom["rps"], 2) if bottom["rps"] else None,
            }
    finally:
        bridge.stop()
    results["render_miss_ms"] = await asyncio.to_thread(render_miss_ms, roster_dir, config)
    return results


def web_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    w = results.get("web")
    if not w:
        return []
    rows = []
    for name, label in (("directory", "directory page /"), ("api_departments",
                                                            "/api/v1/departments")):
        d = w[name]
        s, f = d["site"], d["floor"]
        rows.append((f"web {label} ({w['departments']} depts, {w['clients']} clients): req/s, "
                     "p50 / p99 (ms)",
                     f"{s['rps']}, {s['p50_ms']} / {s['p99_ms']}; floor {f['rps']}, "
                     f"{f['p50_ms']} / {f['p99_ms']} = {d['ratio_rps_to_floor']}× the floor"))
        b = d["beside_appservice"]
        rows.append((f"  beside the appservice taking {w['events_per_s']:g} events/s",
                     f"{b['rps']}, {b['p50_ms']} / {b['p99_ms']}; {b['events_stored']} events "
                     f"stored, {b['transactions_failed']} transactions failed"))
        if "beside_relay" in d:
            r, a = d["beside_relay"], w["relay_alone"]
            rel = r["relay"]
            rows.append((f"  beside the relay ({rel['per_s']:g} citizen messages/s through the "
                         "bridge): req/s, p50 / p99; relay p50 / p99 with / without the load",
                         f"{r['site']['rps']}, {r['site']['p50_ms']} / {r['site']['p99_ms']}; "
                         f"{rel['p50_ms']} / {rel['p99_ms']} vs {a['p50_ms']} / {a['p99_ms']} ms; "
                         f"lost/doubled {rel['history']['lost']}/{rel['history']['duplicated']}"))
        rows.append((f"  {label}: bytes (gzip), CPU per request site / floor (ms), failures",
                     f"{d['bytes']} ({w.get(name + '_bytes_gzip', '—')}), "
                     f"{s['bridge_cpu_ms_per_request']} / {f['server_cpu_ms_per_request']}, "
                     f"{s['failures']}"))
    miss = w["render_miss_ms"]
    rows.append(("  cache miss (once a minute): all departments' view / JSON (ms)",
                 f"{miss['directory_view_all']} / {miss['api_json']}"))
    return rows
