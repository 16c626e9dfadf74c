"""`python -m bench`: one run of every measurement; a table on stdout, JSON in bench-results/."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.assessment import assessment_rows, run_assessment
from bench.breakdown import HOPS
from bench.cities import cities_rows, run_cities
from bench.devices import devices_rows, run_devices
from bench.knowledge import knowledge_rows, run_knowledge
from bench.latency import run_latency
from bench.notices import notices_rows, run_notices
from bench.presence import run_presence
from bench.provisioning import run_provisioning
from bench.relay import run_relay
from bench.relay_e2ee import run_relay_e2ee
from bench.stack import Stack, start_stack
from bench.throughput import run_throughput
from bench.web import run_web, web_rows
from devstack import Postgres

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--messages", type=int, default=200, help="latency: messages A sends B")
    p.add_argument("--spacing-ms", type=float, nargs="+", default=[20, 250], metavar="MS",
                   help="latency, direct and relayed: the pause after each send returns. The "
                        "first pace is the main run; each further one runs the latency sections "
                        "again (direct, relay both ways, floor). At 20 Synapse is busy nearly all "
                        "the time, so messages queue; at 250 it has CPU to spare")
    p.add_argument("--senders", type=int, default=20, help="throughput: concurrent senders")
    p.add_argument("--per-sender", type=int, default=20, help="throughput: messages each")
    p.add_argument("--jurisdictions", type=int, default=12)
    p.add_argument("--departments", type=int, default=744, help="total departments (62 a space)")
    p.add_argument("--officers-per-department", type=int, default=0, metavar="N",
                   help="provisioning: N officers on every department's roster, so every "
                        "department gets an officers' room (0: nobody staffed, as in issue #7)")
    p.add_argument("--skip-provisioning", action="store_true")
    # Issue #18: the province's tree of spaces (bench/cities.py).
    p.add_argument("--only-cities", action="store_true",
                   help="run only section 9 (example province + --departments synthetic ones)")
    p.add_argument("--skip-cities", action="store_true", help="leave out section 9")
    p.add_argument("--presence-departments", type=int, default=None, metavar="N",
                   help="presence: department accounts kept online (default --departments; "
                        "0 skips the section, which runs on a homeserver of its own)")
    p.add_argument("--presence-sync-users", type=int, default=50, metavar="N",
                   help="presence floor: ordinary users whose idle /sync is measured")
    p.add_argument("--relay-messages", type=int, default=200,
                   help="relay latency: messages each way (after a warm-up of 5)")
    p.add_argument("--citizens", type=int, default=20, help="relayed throughput: citizens at once")
    p.add_argument("--per-citizen", type=int, default=20, help="relayed throughput: messages each")
    p.add_argument("--open-cases", type=int, default=10000,
                   help="synthetic open cases for the RSS measurement (0 skips it)")
    p.add_argument("--e2ee-messages", type=int, default=50,
                   help="encrypted relay: messages each way, encrypted and not, with "
                        "end-to-end encrypting clients (0 skips it)")
    p.add_argument("--skip-relay", action="store_true",
                   help="skip the bridge sections (relay, CPU, RSS at N open cases)")
    p.add_argument("--profile-bridge", type=int, default=0, metavar="SECONDS",
                   help="py-spy the bridge process for SECONDS from the start of the relayed "
                        "throughput phase (0: off); raw stacks go next to the JSON")
    p.add_argument("--bridge-database", choices=("sqlite", "postgres"), default="sqlite",
                   help="the bridge's database in the relay sections (postgres: a throwaway "
                        "PostgreSQL server from the machine's binaries)")
    p.add_argument("--scratch", type=Path, default=Path("/tmp"),
                   help="where the throwaway homeserver and bridge keep their files (/dev/shm, a "
                        "tmpfs, takes the disk's fsync out of every commit)")
    # The public web site (bench/web.py).
    p.add_argument("--web-only", action="store_true",
                   help="run only the web site section (quick check)")
    p.add_argument("--skip-web", action="store_true", help="skip the web site section")
    p.add_argument("--web-clients", type=int, default=50, help="web: concurrent clients")
    p.add_argument("--web-seconds", type=float, default=10.0,
                   help="web: seconds of load per endpoint (and as long again for its floor)")
    p.add_argument("--web-events-per-s", type=float, default=200,
                   help="web: events a second fed to the appservice during the second load")
    p.add_argument("--knowledge-entries", type=int, default=10000, metavar="N",
                   help="knowledge search: synthetic entries searched (0 skips the section)")
    p.add_argument("--only-knowledge", action="store_true",
                   help="run the knowledge search section alone (no homeserver)")
    # Assessment (issue #15): a month's report over --departments and this many cases.
    p.add_argument("--assessment-cases", type=int, default=1_000_000, metavar="N",
                   help="assessment: cases in the month's report, SQLite and PostgreSQL (0 skips)")
    p.add_argument("--only-assessment", action="store_true",
                   help="run the assessment section alone (no homeserver)")
    # Notices (bench/notices.py, issue #16)
    p.add_argument("--notice-departments", type=int, default=744, metavar="N",
                   help="notices: one notice to N departments vs N plain sends (0 skips it)")
    p.add_argument("--only-notices", action="store_true",
                   help="run the notices section alone (a quick check)")
    # A device per department (bench/devices.py)
    p.add_argument("--device-departments", type=int, default=None, metavar="N",
                   help="department devices: made for N departments (default --departments; "
                        "0 skips the section)")
    p.add_argument("--only-devices", action="store_true",
                   help="run the department devices section alone")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    return p.parse_args(argv)


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    if "latency" not in results:  # a section run alone (--only-knowledge, --web-only, …)
        rows += web_rows(results) + knowledge_rows(results)
        rows += notices_rows(results, TARGETS["notice_x"])
        rows += cities_rows(results)
        rows += devices_rows(results)
        width = max((len(k) for k, _ in rows), default=0)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
    lat = results["latency"]
    rows += [("latency user→user p50 / p99 / max (ms)",
              f"{lat['p50_ms']} / {lat['p99_ms']} / {lat['max_ms']}"),
             ("latency received / sent", f"{lat['received']} / {lat['sent']}"),
             ("  Synapse CPU per direct message (ms), Synapse busy",
              f"{lat['synapse_cpu_ms_per_message']}, {lat.get('synapse_busy_pct', '—')}%")]
    tp = results["throughput"]
    rows += [(f"throughput {tp['senders']}×{tp['messages_each']} (msg/s, until synced)",
              f"{tp['msgs_per_s']}  ({tp['visible_s']} s; send acks {tp['send_ack_msgs_per_s']}/s)")]
    prov = results.get("provisioning")
    if prov:
        for phase in ("cold", "warm"):
            ph = prov[phase]
            rows.append((f"provisioning {phase} ({prov['jurisdictions']}×… = "
                         f"{prov['departments']} depts, "
                         f"{prov['officers_per_department']} officers each)",
                         f"{ph['ready_s']} s, {ph['requests']} requests, "
                         f"{ph['rooms_created']} directory + {ph['officers_rooms_created']} "
                         f"officers' rooms created, {ph['create_room_calls']} createRoom calls"))
        cold = prov["cold"]
        rows += [("cold: requests / seconds per createRoom call",
                  f"{prov['cold_requests_per_room']} / {prov['cold_s_per_room']}"),
                 ("cold: Synapse CPU total / per createRoom call (s)",
                  f"{cold['synapse_cpu_s']} / {cold['synapse_cpu_s_per_create_room']}"),
                 ("bridge RSS after provisioning (in-process VmRSS)",
                  f"{prov['bridge_rss_mb']} MB (Synapse {prov['synapse_rss_mb']} MB)")]
    rows += relay_rows(results)
    rows += presence_rows(results)
    rows += e2ee_rows(results)
    rows += web_rows(results)
    rows += knowledge_rows(results)
    rows += assessment_rows(results)
    rows += notices_rows(results, TARGETS["notice_x"])
    rows += cities_rows(results)
    rows += devices_rows(results)
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    if prov:
        lines.append("cold requests by kind (count, seconds waiting for headers):")
        secs = prov["cold"]["request_seconds"]
        lines += [f"  {n:6d} {secs.get(kind, 0):8.1f} s  {kind}"
                  for kind, n in list(prov["cold"]["top_requests"].items())[:14]]
    return "\n".join(lines)


def presence_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    pr = results.get("presence")
    if not pr:
        return []
    return [
        (f"presence: Synapse CPU per update ({pr['departments']} accounts × {pr['rounds']})",
         f"{pr['synapse_cpu_ms_per_update']} ms; a round {pr['round_wall_s']} s"),
        (f"  all {pr['departments']} kept online (every {pr['refresh_s']:g} s), share of a core",
         f"{pr['core_pct_all']}%; floor (as many users idle-syncing) "
         f"{pr['floor_core_pct_same_number_syncing']}% = {pr['ratio_to_floor']}× the floor "
         f"({pr['floor_synapse_cpu_ms_per_idle_sync']} ms per idle /sync)"),
    ]


def _ok(good: bool) -> str:
    return "ok" if good else "MISS"


def relay_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The bridge sections, each with the issue's target and whether it is met."""
    r = results.get("relay")
    if not r:
        return []
    t = results["targets"]
    rows: list[tuple[str, str]] = []
    for name, label in (("citizen_to_officers", "relay citizen→officers p50 / p99 (ms)"),
                        ("officer_to_citizen", "relay officer→citizen p50 / p99 (ms)")):
        d = r[name]
        rows.append((label, f"{d['p50_ms']} / {d['p99_ms']}  = {d['p50_x']}× / {d['p99_x']}× "
                            f"direct  [≤{t['relay_p50_x']}× / ≤{t['relay_p99_x']}×] "
                            f"{_ok(d['p50_x'] <= t['relay_p50_x'] and d['p99_x'] <= t['relay_p99_x'])}"))
        rows.append(("  lost / dup (sync; /messages)",
                     f"{d['sync']['lost']}/{d['sync']['duplicated']}; "
                     f"{d['history']['lost']}/{d['history']['duplicated']}  [0/0] "
                     f"{_ok(not any(d['history'].values()) and not any(d['sync'].values()))}"))
        hops = d.get("hops")
        if hops and hops["messages"]:
            rows.append(("  hops p50 (ms): stored · pushed · bridge · send · copy stored",
                         " · ".join(str(hops[h]["p50_ms"]) for h, _ in HOPS)))
        cpu = r["bridge_cpu"][name]
        syn, direct = cpu["synapse_cpu_ms_per_event"], results["latency"]["synapse_cpu_ms_per_message"]
        rows.append(("  Synapse CPU per relayed message (ms), Synapse busy",
                     f"{syn} = {round(syn / direct, 2) if direct else '—'}× a direct message, "
                     f"{cpu.get('synapse_busy_pct', '—')}%"))
    tp = r["throughput"]
    rows.append((f"relayed throughput {r['citizens']}×{r['per_citizen']} (msg/s, until synced)",
                 f"{tp['msgs_per_s']} = {tp['ratio_to_raw']}× raw ({tp['visible_s']} s)  "
                 f"[≥{t['relayed_throughput_x']}×] {_ok(tp['ratio_to_raw'] >= t['relayed_throughput_x'])}"))
    rows.append(("  lost / dup (sync; /messages)",
                 f"{tp['sync']['lost']}/{tp['sync']['duplicated']}; "
                 f"{tp['history']['lost']}/{tp['history']['duplicated']}  [0/0] "
                 f"{_ok(not any(tp['history'].values()) and not any(tp['sync'].values()))}"))
    cpu = r["bridge_cpu"]
    rows.append(("bridge CPU per relayed event (ms)",
                 f"{r['bridge_cpu_ms_per_event']}  (c→o {cpu['citizen_to_officers']['cpu_ms_per_event']}, "
                 f"o→c {cpu['officer_to_citizen']['cpu_ms_per_event']}, "
                 f"load {cpu['throughput']['cpu_ms_per_event']})  [≤{t['cpu_ms_per_event']}] "
                 f"{_ok(r['bridge_cpu_ms_per_event'] <= t['cpu_ms_per_event'])}"))
    loop = sum(v["event_loop_thread_cpu_s"] for v in cpu.values())
    other = sum(v["other_threads_cpu_s"] for v in cpu.values())
    rows.append(("  event-loop thread / other threads (s)", f"{loop:.2f} / {other:.2f}"))
    rows.append(("bridge RSS after relay phases (separate process)",
                 f"{r['bridge_rss_after_relay_mb']} MB"))
    rows += floor_rows(r)
    rows += pace_rows(results)
    oc = r.get("open_cases")
    if oc:
        rows.append((f"bridge RSS with {oc['open_in_db']} open cases (final / peak)",
                     f"{oc['rss_mb']} / {oc['rss_peak_mb']} MB  [<{t['rss_mb_open_cases']}] "
                     f"{_ok(oc['rss_peak_mb'] < t['rss_mb_open_cases'])}"))
        rows.append((f"  tick every {oc['check_interval_s']} s: CPU / wall (median)",
                     f"{oc['tick_cpu_ms_median']} / {oc['tick_wall_ms_median']} ms; "
                     f"{oc['cpu_in_window_ms']} ms CPU in {oc['window_s']} s; "
                     f"restart ready {oc['restart_ready_s']} s"))
    prof = r.get("profile")
    if prof and "leaf_pct" in prof:
        rows.append(("bridge profile under load: leaf by library",
                     ", ".join(f"{k} {v}%" for k, v in list(prof["leaf_by_library_pct"].items())[:6])))
        rows.append(("  project frames (inclusive)",
                     ", ".join(f"{k} {v}%" for k, v in list(prof["project_inclusive_pct"].items())[:4])))
    return rows


def e2ee_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The relay in encrypted rooms as ratios to the same relay unencrypted (issue 17's goals)."""
    e = results.get("relay_e2ee")
    if not e:
        return []
    t, rows = results["targets"], []
    for name, label in (("citizen_to_officers", "c→o"), ("officer_to_citizen", "o→c")):
        enc, plain = e["encrypted"][name], e["plain"][name]
        p50_x, cpu_x = e["ratios"][f"{name}_p50"], e["ratios"][f"{name}_cpu"]
        rows.append((f"encrypted relay {label} p50 / p99 (ms), ratio to unencrypted",
                     f"{enc['p50_ms']} / {enc['p99_ms']} vs {plain['p50_ms']} / "
                     f"{plain['p99_ms']} = {p50_x}× p50  [≤{t['e2ee_p50_x']}×] "
                     f"{_ok(p50_x <= t['e2ee_p50_x'])}"))
        rows.append((f"  bridge CPU per event {label} (ms), ratio",
                     f"{enc['bridge_cpu_ms_per_event']} vs {plain['bridge_cpu_ms_per_event']} = "
                     f"{cpu_x}×  [≤{t['e2ee_cpu_x']}×] {_ok(cpu_x <= t['e2ee_cpu_x'])}"))
    return rows


def floor_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """The null relay (bench/floor.py) beside the bridge: what any appservice reaches here."""
    rows: list[tuple[str, str]] = []
    for name, label in (("citizen_to_officers", "c→o"), ("officer_to_citizen", "o→c")):
        f = r.get("floor", {}).get(name)
        if not f:
            continue
        bridge = r[name]
        rows.append((f"floor: null relay {label} p50 / p99 (ms)",
                     f"{f['p50_ms']} / {f['p99_ms']}  = {f['p50_x']}× / {f['p99_x']}× direct; "
                     f"the bridge takes {round(bridge['p50_ms'] / f['p50_ms'], 2)}× / "
                     f"{round(bridge['p99_ms'] / f['p99_ms'], 2)}× the floor"))
        rows.append((f"  null relay {label}: CPU per relayed event, lost, Synapse busy",
                     f"{f['cpu']['cpu_ms_per_event']} ms (bridge "
                     f"{r['bridge_cpu'][name]['cpu_ms_per_event']}), "
                     f"{f['sync']['lost']} lost of {f['sent']}, "
                     f"{f['cpu'].get('synapse_busy_pct', '—')}%"))
    return rows


def pace_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The latency sections again at each further pace, ratios to direct delivery at that pace."""
    t = results["targets"]
    rows: list[tuple[str, str]] = []
    for pace, p in results.get("at_pace", {}).items():
        lat, r = p["latency"], p["relay"]
        rows.append((f"at {pace} ms pace: direct p50 / p99 (ms), Synapse busy",
                     f"{lat['p50_ms']} / {lat['p99_ms']}, {lat.get('synapse_busy_pct', '—')}%"))
        for name, label in (("citizen_to_officers", "c→o"), ("officer_to_citizen", "o→c")):
            d, f = r[name], r.get("floor", {}).get(name)
            met = d["p50_x"] <= t["relay_p50_x"] and d["p99_x"] <= t["relay_p99_x"]
            floor = f"; floor {f['p50_x']}× / {f['p99_x']}×" if f else ""
            rows.append((f"  relay {label} p50 / p99 (ms), Synapse busy",
                         f"{d['p50_ms']} / {d['p99_ms']} = {d['p50_x']}× / {d['p99_x']}× "
                         f"direct  [≤{t['relay_p50_x']}× / ≤{t['relay_p99_x']}×] {_ok(met)}"
                         f"{floor}; {r['bridge_cpu'][name].get('synapse_busy_pct', '—')}%"))
    return rows


TARGETS = {"relay_p50_x": 2.2, "relay_p99_x": 2.35, "relayed_throughput_x": 0.45,
           "lost": 0, "duplicated": 0, "cpu_ms_per_event": 1.0, "rss_mb_open_cases": 200,
           "e2ee_p50_x": 1.2, "e2ee_cpu_x": 2.0, "notice_x": 1.2}


def add_latency_ratios(relay: dict[str, Any], lat: dict[str, Any]) -> None:
    """Relay and floor latencies as multiples of direct delivery at the same pace."""
    for d in [relay[name] for name in ("citizen_to_officers", "officer_to_citizen")] + list(
            relay.get("floor", {}).values()):
        d["p50_x"] = round(d["p50_ms"] / lat["p50_ms"], 2)
        d["p99_x"] = round(d["p99_ms"] / lat["p99_ms"], 2)


def add_ratios(results: dict[str, Any]) -> None:
    r, tp = results["relay"], results["throughput"]
    add_latency_ratios(r, results["latency"])
    for pace in results.get("at_pace", {}).values():
        add_latency_ratios(pace["relay"], pace["latency"])
    r["throughput"]["raw_msgs_per_s"] = tp["msgs_per_s"]
    r["throughput"]["ratio_to_raw"] = round(r["throughput"]["msgs_per_s"] / tp["msgs_per_s"], 2)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.only_knowledge:
        return {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "knowledge": await asyncio.to_thread(run_knowledge, args.knowledge_entries)}
    workdir = Path(tempfile.mkdtemp(prefix="dutyroom-bench-", dir=args.scratch))
    started = time.perf_counter()
    stack = await asyncio.to_thread(start_stack, workdir)
    try:
        results: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "args": {k: str(v) for k, v in vars(args).items()},
            "synapse_start_s": round(time.perf_counter() - started, 2),
            "targets": TARGETS,
        }
        devices = args.departments if args.device_departments is None else (
            args.device_departments)
        if args.web_only or args.only_notices or args.only_cities or args.only_devices:
            if args.web_only:
                results["web"] = await web_section(stack, workdir, args)
            if args.only_notices:
                results["notices"] = await run_notices(stack, workdir / "notices",
                                                       args.notice_departments)
            if args.only_cities:
                results["cities"] = await run_cities(stack, workdir / "cities", args.departments)
            if args.only_devices:
                results["devices"] = await run_devices(stack, workdir / "devices", devices)
            return results
        first_pace, *more_paces = args.spacing_ms
        results["latency"] = await run_latency(stack, args.messages, first_pace / 1000)
        results["throughput"] = await run_throughput(stack, args.senders, args.per_sender)
        if not args.skip_provisioning:
            results["provisioning"] = await run_provisioning(
                stack, workdir / "bridge", args.jurisdictions, args.departments,
                args.officers_per_department)
        presence = args.departments if args.presence_departments is None else (
            args.presence_departments)
        if presence > 0:
            results["presence"] = await run_presence(workdir, presence,
                                                     sync_users=args.presence_sync_users)
        if not args.skip_relay:
            profile = None
            if args.profile_bridge > 0:
                args.out.mkdir(parents=True, exist_ok=True)
                profile = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}-bridge-pyspy.txt"
            with bridge_database(args.bridge_database, workdir / "relay") as db_url:
                results["relay"] = await run_relay(
                    stack, workdir / "relay", messages=args.relay_messages,
                    citizens=args.citizens, per_citizen=args.per_citizen,
                    open_cases=args.open_cases, profile_s=args.profile_bridge,
                    profile_out=profile, db_url=db_url, spacing_s=first_pace / 1000)
            results["relay"]["bridge_database"] = args.bridge_database
            for pace in more_paces:
                results.setdefault("at_pace", {})[f"{pace:g}"] = await latency_at_pace(
                    stack, workdir / f"relay-{pace:g}", args, pace)
            add_ratios(results)
        if not args.skip_cities:
            results["cities"] = await run_cities(stack, workdir / "cities", args.departments)
        if args.e2ee_messages > 0:
            results["relay_e2ee"] = await run_relay_e2ee(
                stack, workdir / "relay-e2ee", messages=args.e2ee_messages,
                spacing_s=first_pace / 1000)
        if not args.skip_web:
            results["web"] = await web_section(stack, workdir, args)
        if args.knowledge_entries > 0:
            results["knowledge"] = await asyncio.to_thread(run_knowledge, args.knowledge_entries)
        if args.assessment_cases > 0:
            results["assessment"] = await run_assessment(
                args.assessment_cases, args.departments, args.jurisdictions, args.scratch)
        if args.notice_departments > 0:
            results["notices"] = await run_notices(stack, workdir / "notices",
                                                   args.notice_departments)
        if devices > 0:
            results["devices"] = await run_devices(stack, workdir / "devices", devices)
        return results
    finally:
        await asyncio.to_thread(stack.synapse.stop)
        shutil.rmtree(workdir, ignore_errors=True)


async def web_section(stack: Stack, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    return await run_web(stack, workdir / "web", args.departments, args.jurisdictions,
                         clients=args.web_clients, seconds=args.web_seconds,
                         events_per_s=args.web_events_per_s)


async def latency_at_pace(stack: Stack, workdir: Path, args: argparse.Namespace,
                          pace_ms: float) -> dict[str, Any]:
    """The latency sections alone at another pace: direct, relay both ways, the floor (a fresh
    bridge; one citizen, so its throughput section is a single message and is left out)."""
    latency = await run_latency(stack, args.messages, pace_ms / 1000)
    with bridge_database(args.bridge_database, workdir) as db_url:
        relay = await run_relay(
            stack, workdir, messages=args.relay_messages, citizens=1, per_citizen=1,
            open_cases=0, profile_s=0, profile_out=None, db_url=db_url, spacing_s=pace_ms / 1000)
    kept = ("citizen_to_officers", "officer_to_citizen", "floor", "bridge_cpu")
    return {"latency": latency, "relay": {k: relay[k] for k in kept if k in relay}}


@contextmanager
def bridge_database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:{workdir}/bridge.db"
        return
    with Postgres() as server:
        yield server.create_database("bench_bridge")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def cli(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.basicConfig(level=logging.WARNING)
    if args.only_assessment:
        results = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "assessment": asyncio.run(
            run_assessment(args.assessment_cases, args.departments, args.jurisdictions, args.scratch))}
        print("\n".join(f"{k}  {v}" for k, v in assessment_rows(results)))
    else:
        results = asyncio.run(main(args))
        print(table(results))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"JSON: {path}")


if __name__ == "__main__":
    cli()
