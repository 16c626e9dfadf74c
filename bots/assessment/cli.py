"""`python -m bridge report --period 2026-11 [--jurisdiction hz | --department fgw]
--format table|csv|xlsx|json [-o file]`: the same figures as `!考核`, for administrators and
scripts. Reads the database and the rosters named in the bridge's config."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from mautrix.util.async_db import Database

from bridge.config import Config
from bridge.roster_watcher import RosterWatcher
from bridge.tool_cli import config_args

from . import render
from .figures import compute
from .periods import FORMS, PeriodError, parse_period
from .settings import AssessSettings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dutyroom report", description="考核 figures for a period.")
    p.add_argument("-c", "--config", default="config.yaml", help="the bridge's config file")
    p.add_argument("--period", required=True, help=f"e.g. {FORMS}")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--jurisdiction", help="only this jurisdiction's departments")
    scope.add_argument("--department", help="only this department")
    p.add_argument("--format", choices=("table", "csv", "xlsx", "json"), default="table")
    p.add_argument("-o", "--output", help="write here (required for xlsx); default standard output")
    return p


async def run(args: argparse.Namespace) -> int:
    config = Config(Path(args.config))
    config.load()
    try:
        period = parse_period(args.period)
    except PeriodError as e:
        print(e, file=sys.stderr)
        return 2
    roster = RosterWatcher(config["rosters.paths"], Path.cwd()).load_initial()
    scope = args.jurisdiction or args.department
    db = Database.create(config["appservice.database"])
    await db.start()
    try:
        start, end = period.bounds(roster.timezone)
        try:
            report = await compute(db, roster, AssessSettings.from_config(config), start, end, scope)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
    finally:
        await db.stop()
    title = f"考核 {period.label}（{scope or '全省'}）"
    data: bytes
    if args.format == "xlsx":
        if not args.output:
            print("--format xlsx needs -o FILE", file=sys.stderr)
            return 2
        data = render.to_xlsx(report, title)
    elif args.format == "csv":
        data = render.to_csv(report)
    elif args.format == "json":
        data = render.to_json(report).encode("utf-8")
    else:
        data = (title + "\n" + render.to_table(report) + "\n").encode("utf-8")
    args.data = data
    return 0


def main(argv: Sequence[str]) -> int:
    args = config_args(_parser(), argv)
    if args is None:
        return 2
    code = asyncio.run(run(args))
    if code == 0:  # written here, not on the event loop
        if args.output:
            Path(args.output).write_bytes(args.data)
        else:
            sys.stdout.buffer.write(args.data)
    return code
