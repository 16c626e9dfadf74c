"""Parsing the top-level scalars (example_data, timezone) and the calendar overrides."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .drafts import CalendarDraft, Drafts
from .errors import Reporter
from .fields import check_keys, get_bool, get_dates, get_str
from .source import Node, error

CALENDAR_KEYS = ("holidays", "workdays", "provisional")


def parse_example_data(rep: Reporter, node: Node, drafts: Drafts) -> None:
    # Any file saying true marks the whole roster, so demo data can never pass as real.
    if get_bool(rep, node):
        drafts.example_data = True


def parse_timezone(rep: Reporter, node: Node, drafts: Drafts) -> None:
    name = get_str(rep, node)
    if name is None:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        error(rep, node, f"unknown time zone {name!r}; use an IANA name like Asia/Shanghai")
        return
    if drafts.timezone is not None and drafts.timezone[0] != name:
        first, where = drafts.timezone[0], drafts.timezone[1].where
        error(rep, node, f"time zone {name!r} conflicts with {first!r} set at {where}")
        return
    drafts.timezone = drafts.timezone or (name, node)


def parse_calendar(rep: Reporter, section: Node, drafts: Drafts) -> None:
    if not isinstance(section.value, dict):
        error(rep, section, "expected a mapping of years, e.g. 2027: {holidays: [...]}")
        return
    for key in section.value:
        line, col = section.key_pos(key)
        year = int(key) if isinstance(key, (int, str)) and str(key).isdigit() else None
        if year is None or not 2000 <= year <= 2100 or isinstance(key, bool):
            rep.add(section.file, line, col, section.sub(str(key)),
                    f"expected a year like 2027, got {key!r}")
            continue
        node = section.child(key)
        fields = check_keys(rep, node, CALENDAR_KEYS)
        if fields is None:
            continue
        entry = drafts.calendar.setdefault(year, CalendarDraft())
        if "provisional" in fields and get_bool(rep, fields["provisional"]):
            entry.provisional = True
        for kind in ("holidays", "workdays"):
            if kind not in fields:
                continue
            mine = entry.holidays if kind == "holidays" else entry.workdays
            other = entry.workdays if kind == "holidays" else entry.holidays
            for day, item in get_dates(rep, fields[kind]) or ():
                if day.year != year:
                    error(rep, item, f"{day} is not in {year}")
                elif day in other:
                    error(rep, item, f"{day} is listed both as a holiday and as a workday "
                                     f"(other at {other[day].where})")
                else:
                    mine.setdefault(day, item)
