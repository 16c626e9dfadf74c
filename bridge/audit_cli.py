"""`python -m bridge audit`: read the audit trail (supervisors and administrators).

Filters by time, actor, action and record; prints a table, CSV or JSON. Reading the trail is
itself an audited data command: the entry names the operating-system user who ran it.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mautrix.util.async_db import Database

from .audit import ACTIONS, AUDIT_READ, AuditEntry, AuditLog, audit_upgrade_table
from .config import Config
from .tool_cli import run_tool

TZ = ZoneInfo("Asia/Shanghai")


def _day(text: str) -> int:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from None
    return int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() * 1000)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bridge audit", description=__doc__)
    p.add_argument("-c", "--config", default="config.yaml", help="the bridge's config file")
    p.add_argument("--since", type=_day, help="from this day (YYYY-MM-DD, Asia/Shanghai)")
    p.add_argument("--until", type=_day, help="up to and including this day")
    p.add_argument("--actor", help="only this actor (a Matrix ID, officers/<dept>, cli:<user>)")
    p.add_argument("--action", choices=ACTIONS, help="only this action")
    p.add_argument("--record", help="only records starting with this (case/FGW-…, letter/TS…)")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return p


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, TZ).strftime("%Y-%m-%d %H:%M:%S")


def render(entries: list[AuditEntry], fmt: str) -> str:
    fields = ("id", "at", "actor", "action", "record", "detail")
    rows = [(str(e.id), _when(e.at), e.actor, e.action, e.record, e.detail) for e in entries]
    if fmt == "json":
        return json.dumps([dict(zip(fields, r, strict=True)) for r in rows], ensure_ascii=False, indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(fields)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\r\n")
    if not rows:
        return "No audit entries match."
    widths = [max(len(r[i]) for r in [fields, *rows]) for i in range(5)]
    return "\n".join("  ".join(f"{c:<{w}}" for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
                     for r in [tuple(f.upper() for f in fields), *rows])


async def run(args: argparse.Namespace) -> int:
    config = Config(Path(args.config))
    config.load()
    db = Database.create(config["appservice.database"], upgrade_table=audit_upgrade_table)
    await db.start()
    try:
        log = AuditLog(db)
        until = args.until + 86_400_000 if args.until is not None else None
        entries = await log.entries(since_ms=args.since, until_ms=until, actor=args.actor,
                                    action=args.action, record=args.record, limit=args.limit)
        print(render(entries, args.format))
        asked = {k: v for k, v in vars(args).items() if k not in ("config", "format") and v is not None}
        now = int(datetime.now(TZ).timestamp() * 1000)
        await log.record(f"cli:{getpass.getuser()}", AUDIT_READ, "audit_log", at_ms=now,
                         detail=json.dumps(asked, ensure_ascii=False, default=str))
        return 0
    finally:
        await db.stop()


def main(argv: Sequence[str]) -> int:
    return run_tool(_parser(), run, argv)

