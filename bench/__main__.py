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
from pathlib import Path
from typing import Any

from bench.latency import run_latency
from bench.provisioning import run_provisioning
from bench.stack import start_stack
from bench.throughput import run_throughput

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--messages", type=int, default=200, help="latency: messages A sends B")
    p.add_argument("--senders", type=int, default=20, help="throughput: concurrent senders")
    p.add_argument("--per-sender", type=int, default=20, help="throughput: messages each")
    p.add_argument("--jurisdictions", type=int, default=12)
    p.add_argument("--departments", type=int, default=744, help="total departments (62 a space)")
    p.add_argument("--skip-provisioning", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    return p.parse_args(argv)


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    lat = results["latency"]
    rows += [("latency user→user p50 / p99 / max (ms)",
              f"{lat['p50_ms']} / {lat['p99_ms']} / {lat['max_ms']}"),
             ("latency received / sent", f"{lat['received']} / {lat['sent']}")]
    tp = results["throughput"]
    rows += [(f"throughput {tp['senders']}×{tp['messages_each']} (msg/s, until synced)",
              f"{tp['msgs_per_s']}  ({tp['visible_s']} s; send acks {tp['send_ack_msgs_per_s']}/s)")]
    prov = results.get("provisioning")
    if prov:
        for phase in ("cold", "warm"):
            ph = prov[phase]
            rows.append((f"provisioning {phase} ({prov['jurisdictions']}×… = "
                         f"{prov['departments']} depts)",
                         f"{ph['ready_s']} s, {ph['requests']} requests, "
                         f"{ph['rooms_created']} directory rooms created, "
                         f"{ph['create_room_calls']} createRoom calls"))
        rows += [("cold: requests / seconds per createRoom call",
                  f"{prov['cold_requests_per_room']} / {prov['cold_s_per_room']}"),
                 ("bridge RSS after provisioning (in-process VmRSS)",
                  f"{prov['bridge_rss_mb']} MB (Synapse {prov['synapse_rss_mb']} MB)")]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    if prov:
        lines.append("cold requests by kind (count, seconds waiting for headers):")
        secs = prov["cold"]["request_seconds"]
        lines += [f"  {n:6d} {secs.get(kind, 0):8.1f} s  {kind}"
                  for kind, n in list(prov["cold"]["top_requests"].items())[:14]]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="dutyroom-bench-", dir="/tmp"))
    started = time.perf_counter()
    stack = await asyncio.to_thread(start_stack, workdir)
    try:
        results: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "args": {k: str(v) for k, v in vars(args).items()},
            "synapse_start_s": round(time.perf_counter() - started, 2),
        }
        results["latency"] = await run_latency(stack, args.messages)
        results["throughput"] = await run_throughput(stack, args.senders, args.per_sender)
        if not args.skip_provisioning:
            results["provisioning"] = await run_provisioning(
                stack, workdir / "bridge", args.jurisdictions, args.departments)
        return results
    finally:
        await asyncio.to_thread(stack.synapse.stop)
        shutil.rmtree(workdir, ignore_errors=True)


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def cli(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(main(args))
    print(table(results))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"JSON: {path}")


if __name__ == "__main__":
    cli()
