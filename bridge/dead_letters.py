"""`python -m bridge dead-letters list|show|retry|discard`: the administrators' dead-letter desk.

Reads the database named in the bridge's config (-c config.yaml, environment overrides too) and
works while the bridge runs. `retry` makes a dead letter pending again, exactly once (a second
retry is refused, in the same statement that retries, so two administrators cannot both replay
it); the running bridge replays it within `appservice.dead_letter_sweep_interval` seconds, or at
its next start. The bots derive their send keys from the event, so the replay sends nothing that
was sent before. `discard` resolves one without replaying it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from mautrix.util.async_db import Database

from .appservice import event_problem
from .audit import DEAD_LETTER_READ, AuditLog, audit_upgrade_table
from .config import Config
from .db import upgrade_table
from .db.dead_letter import KINDS, DeadLetter, DeadLetterTable, parse_id
from .tool_cli import run_tool


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bridge dead-letters",
        description="List, inspect, replay (once) or discard events and sends the bridge gave up on.",
    )
    config_help = "the bridge's config file (default config.yaml)"
    parser.add_argument("-c", "--config", default="config.yaml", help=config_help)
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="dead letters waiting for an administrator")
    listing.add_argument("--kind", choices=KINDS, help="only this kind")
    commands = [listing]
    for name, text in (("show", "everything about one dead letter"),
                       ("retry", "replay one, exactly once, after the cause is fixed"),
                       ("discard", "resolve one without replaying it")):
        command = sub.add_parser(name, help=text)
        command.add_argument("id", help="e.g. inbox/42 (see list)")
        commands.append(command)
    for command in commands:  # -c before or after the command, as the administrator types it
        command.add_argument("-c", "--config", default=argparse.SUPPRESS, help=config_help)
    return parser


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_list(letters: list[DeadLetter]) -> None:
    if not letters:
        print("No unresolved dead letters.")
        return
    rows = [(d.id, d.kind, _when(d.at), d.room_id or "-",
             (d.key if d.kind == "outbox" else d.event_id) or "-",
             _one_line(d.error, 80) + (" (retried before)" if d.retried else ""))
            for d in letters]
    header = ("ID", "KIND", "WHEN", "ROOM", "EVENT / KEY", "ERROR")
    # IDs are shown whole (they are what an administrator copies); only the error is shortened.
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    print(f"{len(letters)} unresolved. `show ID` for details, `retry ID` to replay once, "
          "`discard ID` to drop.")


def _print_one(d: DeadLetter) -> None:
    rows = [("id", d.id), ("kind", d.kind), ("state", d.state), ("when", _when(d.at)),
            ("room", d.room_id), ("event", d.event_id), ("sender", d.sender),
            ("type", d.event_type), ("key", d.key), ("retried", "yes" if d.retried else "no"),
            ("error", d.error)]
    for name, value in rows:
        if value is not None:
            print(f"{name + ':':<9} {value}")
    label = "content" if d.kind == "outbox" else "event"
    print(f"{label}:")
    print(json.dumps(d.payload, ensure_ascii=False, indent=2, default=repr))


async def _retry(table: DeadLetterTable, d: DeadLetter) -> tuple[bool, str]:
    if d.state != "unresolved":
        return False, f"{d.id} is {d.state}, not waiting: nothing to retry."
    if d.retried:
        return False, (f"{d.id} was retried once already and failed again; it is not replayed "
                       "twice. Fix the cause and discard it, or replay the effect by hand.")
    if d.kind == "malformed":
        problem = event_problem(d.payload)
        if problem:
            return False, (f"{d.id} is still malformed ({problem}); it cannot be replayed. "
                           "Discard it once you have noted what it was.")
        done = await table.replay_malformed(d, d.payload)
    else:
        done = await table.retry(d)
    if not done:
        return False, f"{d.id} changed meanwhile (someone else retried or discarded it)."
    return True, (f"{d.id} is pending again. The running bridge replays it within "
                  "appservice.dead_letter_sweep_interval seconds (or at its next start); "
                  "`show` tells how it went.")


async def run(args: argparse.Namespace) -> int:
    config = Config(Path(args.config))
    config.load()
    db = Database.create(config["appservice.database"], upgrade_table=upgrade_table)
    await db.start()
    await audit_upgrade_table.upgrade(db)
    try:
        table = DeadLetterTable(db)
        if args.command == "list":
            letters = await table.unresolved()
            _print_list([d for d in letters if args.kind in (None, d.kind)])
            return 0
        try:
            parse_id(args.id)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
        letter = await table.get(args.id)
        if letter is None:
            print(f"No dead letter {args.id}.", file=sys.stderr)
            return 1
        # A dead letter may be a citizen's message: who looked at it, or replayed it, is audited.
        await AuditLog(db).record(f"cli:{getpass.getuser()}", DEAD_LETTER_READ, f"dead-letter/{args.id}",
                                  at_ms=int(time.time() * 1000), detail=args.command)
        if args.command == "show":
            _print_one(letter)
            return 0
        if args.command == "retry":
            ok, text = await _retry(table, letter)
        elif letter.state != "unresolved":
            ok, text = False, f"{letter.id} is {letter.state}, not waiting: nothing to discard."
        else:
            ok = await table.discard(letter)
            text = f"{letter.id} discarded." if ok else f"{letter.id} changed meanwhile."
        print(text, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    finally:
        await db.stop()


def main(argv: Sequence[str]) -> int:
    return run_tool(_parser(), run, argv)
