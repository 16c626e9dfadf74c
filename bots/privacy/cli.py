"""`python -m bridge retention [--dry-run]`: the retention run, by hand.

Without --dry-run it does what the daily run does (every statement is idempotent, so the
bridge's own run later that day removes nothing twice) and writes an audit entry; with it, it
only says how many records of each kind would go.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mautrix.util.async_db import Database

from bridge.audit import RETENTION_RUN, AuditLog, audit_upgrade_table
from bridge.config import Config
from bridge.tool_cli import run_tool

from .retention import own_users, plan_for, run_retention

TZ = ZoneInfo("Asia/Shanghai")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bridge retention", description=__doc__)
    p.add_argument("-c", "--config", default="config.yaml", help="the bridge's config file")
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    return p


async def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    config = Config(Path(args.config))
    config.load()
    db = Database.create(config["appservice.database"], upgrade_table=audit_upgrade_table)
    await db.start()
    try:
        moment = now or datetime.now(TZ)
        now_ms = int(moment.timestamp() * 1000)
        plan = plan_for(now_ms, dict(config["privacy.retention_days"] or {}))
        await run_retention(db, plan, dry_run=args.dry_run, own_pattern=own_users(config))
        for kind, cutoff in plan.cutoffs.items():
            print(f"{kind}: older than {datetime.fromtimestamp(cutoff / 1000, TZ):%Y-%m-%d %H:%M}")
        print(("Would remove: " if args.dry_run else "Removed: ") + plan.summary())
        if not args.dry_run:
            await AuditLog(db).record(f"cli:{getpass.getuser()}", RETENTION_RUN, "retention/cli",
                                      at_ms=now_ms, detail=plan.summary())
        return 0
    finally:
        await db.stop()


def main(argv: Sequence[str]) -> int:
    return run_tool(_parser(), run, argv)
