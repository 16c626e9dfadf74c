"""`roster check` and `roster show`: the administrator's view of a roster without the bridge."""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from .errors import RosterError
from .files import roster_files
from .loader import load_roster
from .model import WEEKDAYS, Shift
from .roster import Roster
from .source import suggest
from .text import period_text

EXAMPLE_GLOB = "rosters/example/*.yaml"
WEEKDAY_ZH = "一二三四五六日"


def default_files() -> list[str]:
    found = sorted(glob.glob(EXAMPLE_GLOB))
    if not found:  # run from elsewhere: fall back to the checkout this module lives in
        found = sorted(glob.glob(str(Path(__file__).resolve().parents[2] / EXAMPLE_GLOB)))
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roster", description="Check and inspect duty rosters.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate roster files")
    check.add_argument("files", nargs="*",
                       help=f"roster files or folders (default {EXAMPLE_GLOB})")
    show = sub.add_parser("show", help="a department's hours and duty at a moment")
    show.add_argument("dept", help="department id, e.g. fgw")
    show.add_argument("--at", help='moment in the roster time zone, e.g. "2026-02-14 10:00" '
                                   "(default now)")
    show.add_argument("files", nargs="*",
                      help=f"roster files or folders (default {EXAMPLE_GLOB})")
    return parser


def _load(files: Sequence[str], *, say_which: bool = False) -> Roster | None:
    paths = roster_files(list(files) or default_files(), Path.cwd())
    if say_which:
        print(f"Reading {len(paths)} file(s): {', '.join(str(p) for p in paths)}")
    try:
        return load_roster(paths)
    except RosterError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); the roster was not loaded.", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    parser = _parser()
    # argparse hands files written after --at back as extras rather than to the positional.
    args, extra = parser.parse_known_args(argv)
    unknown = [a for a in extra if a.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.files = [*args.files, *extra]
    roster = _load(args.files, say_which=args.command == "check")
    if roster is None:
        return 1
    if args.command == "check":
        return _check(roster)
    return _show(roster, args.dept, args.at)


def _check(roster: Roster) -> int:
    for warning in roster.calendar_warnings(date.today()):
        print(f"warning: {warning}")
    note = " (example data)" if roster.example_data else ""
    print(f"OK: {len(roster.jurisdictions)} jurisdictions, {len(roster.departments)} departments, "
          f"{len(roster.officers)} officers, {len(roster.shifts)} shifts{note}")
    return 0


def _describe_shift(shift: Shift) -> str:
    if shift.dates is not None:
        when = f"dates {shift.dates[0]}..{shift.dates[-1]} ({len(shift.dates)} days)"
    elif shift.days.kind == "weekdays":
        when = "days " + ",".join(WEEKDAYS[d] for d in shift.days.weekdays)
    else:
        when = shift.days.kind
    crew = (" | ".join(", ".join(o.alias for o in g) for g in shift.rotation.groups)
            + f" (rotating every {shift.rotation.every_days} days from {shift.rotation.anchor})"
            if shift.rotation else ", ".join(o.alias for o in shift.officers))
    extra = " any_day" if shift.any_day else ""
    span = period_text(shift.period)
    return f"  {shift.name or '-'}: {when} {span}{extra}: {crew} [{shift.where}]"


def _show(roster: Roster, dept_id: str, at_text: str | None) -> int:
    dept = roster.departments.get(dept_id)
    if dept is None:
        print(f"unknown department {dept_id!r}{suggest(dept_id, list(roster.departments))}",
              file=sys.stderr)
        return 2
    try:
        at = datetime.fromisoformat(at_text) if at_text else datetime.now(roster.timezone)
    except ValueError:
        print(f'--at: expected a moment like "2026-02-14 10:00", got {at_text!r}', file=sys.stderr)
        return 2
    at = at.replace(tzinfo=roster.timezone) if at.tzinfo is None else at.astimezone(roster.timezone)
    day_kind = "工作日 working day" if roster.is_working_day_in(dept.id, at.date()) else (
        "休息日 rest day")
    yes = {True: "yes 是", False: "no 否"}
    place = roster.jurisdictions[dept.jurisdiction].name
    print(f"{dept.id}  {dept.name}（{dept.short_name}）  {place}")
    weekday = WEEKDAY_ZH[at.weekday()]
    print(f"at:            {at:%Y-%m-%d %H:%M} {roster.timezone.key}, 星期{weekday}, {day_kind}")
    print(f"hours:         {roster.hours_text(dept.id)}  /  {roster.hours_text(dept.id, 'en')}  "
          f"[{dept.hours}]")
    print(f"working time:  {yes[roster.is_working_time(dept.id, at)]}")
    duty = roster.on_duty(dept.id, at)
    print("on duty:       " + (", ".join(f"{o.alias} ({o.mxid})" for o in duty) or "nobody 无人"))
    end = roster.current_period_end(dept.id, at)
    if roster.is_open(dept.id, at):
        print(f"open:          {yes[True]}, until {f'{end:%Y-%m-%d %H:%M}' if end else '(no end)'}")
    else:
        nxt = roster.next_opening(dept.id, at)
        print(f"open:          {yes[False]}, opens {f'{nxt:%Y-%m-%d %H:%M}' if nxt else 'never'}")
    shifts = roster.shifts_of(dept.id)
    print("shifts:" + ("" if shifts else "        none (all officers serve during working hours)"))
    for shift in shifts:
        print(_describe_shift(shift))
    return 0
