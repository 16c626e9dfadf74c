"""Parsing working_hours and shifts."""

from __future__ import annotations

import re
from itertools import pairwise

from .drafts import Drafts, HoursDraft, Ref, RotationDraft, ShiftDraft
from .errors import Reporter
from .fields import (
    DAY,
    check_keys,
    get_bool,
    get_date,
    get_dates,
    get_id,
    get_list,
    get_mxid,
    get_name,
    get_period,
    get_str,
)
from .model import WEEKDAYS, DaySpec, HoursSet, Period
from .parse_org import duplicate
from .source import Node, error, suggest
from .text import clock

HOURS_KEYS = ("workdays", "rest_days", "every_day", "text", "departments")
DAY_KINDS = ("every_day", "workdays", "rest_days")
SHIFT_KEYS = ("department", "name", "days", "dates", "time", "officers", "rotation", "any_day",
              "from", "until")
ROTATION_KEYS = ("anchor", "every", "groups")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVERY_RE = re.compile(r"(\d+)\s*(day|days|week|weeks|天|周)")


def _fmt(p: Period) -> str:
    return f"{clock(p.start)}-{clock(p.end)}"


def _periods(rep: Reporter, node: Node) -> list[tuple[Period, Node]]:
    spans: list[tuple[Period, Node]] = []
    for item in get_list(rep, node) or ():
        got = get_period(rep, item, crossing=False)
        if got is not None:
            spans.append((Period(*got), item))
    spans.sort(key=lambda s: s[0].start)
    for (a, _), (b, item) in pairwise(spans):
        if b.start < a.end:
            error(rep, item, f"period {_fmt(b)} overlaps {_fmt(a)}")
    return spans


def parse_hours(rep: Reporter, section: Node, drafts: Drafts) -> None:
    if not isinstance(section.value, dict):
        error(rep, section, "expected a mapping of named hour sets, e.g. default: {workdays: ...}")
        return
    for name in section.value:
        line, col = section.key_pos(name)
        key_node = Node(name, section.file, section.sub(str(name)), line, col)
        if get_name(rep, key_node, "working_hours") is None:
            continue
        node = section.child(name)
        # A broken set is still registered (empty) so departments naming it add no noise.
        fields = check_keys(rep, node, HOURS_KEYS) or {}
        kinds = {k: _periods(rep, fields[k]) for k in DAY_KINDS if k in fields}
        if not kinds and isinstance(node.value, dict):
            error(rep, node, "no periods: give workdays, rest_days or every_day")
        every = tuple(p for p, _ in kinds.get("every_day", ()))
        for kind in ("workdays", "rest_days"):
            for p, item in kinds.get(kind, ()):
                clash = next((q for q in every if p.start < q.end and q.start < p.end), None)
                if clash is not None:
                    error(rep, item, f"period {_fmt(p)} overlaps every_day {_fmt(clash)}")
        zh, en = _text(rep, fields.get("text"))
        depts: list[Ref] = []
        if "departments" in fields:
            for ref in get_list(rep, fields["departments"]) or ():
                did = get_id(rep, ref, "department")
                if did is not None:
                    depts.append((did, ref))
        if name in drafts.hours:
            duplicate(rep, key_node, f"working_hours {name!r}", drafts.hours[name].node)
            continue
        hours = HoursSet(name, *(tuple(p for p, _ in kinds.get(k, ())) for k in DAY_KINDS[1:]),
                         every, zh, en)
        drafts.hours[name] = HoursDraft(hours, key_node, depts)


def _text(rep: Reporter, node: Node | None) -> tuple[str | None, str | None]:
    """Optional wording that replaces the generated hours text, as a string or {zh:, en:}."""
    if node is None:
        return None, None
    if isinstance(node.value, str):
        return get_str(rep, node), None
    fields = check_keys(rep, node, ("zh", "en"), ("zh",))
    if fields is None:
        return None, None
    return (get_str(rep, fields["zh"]) if "zh" in fields else None,
            get_str(rep, fields["en"]) if "en" in fields else None)


def _days(rep: Reporter, node: Node) -> DaySpec | None:
    if isinstance(node.value, str):
        if node.value in DAY_KINDS:
            return DaySpec(node.value)
        error(rep, node, f"unknown days {node.value!r}{suggest(node.value, DAY_KINDS)}; use "
                         "every_day, workdays, rest_days or a list like [mon, tue]")
        return None
    found: list[int] = []
    for item in get_list(rep, node) or ():
        word = item.value.lower() if isinstance(item.value, str) else ""
        word = WEEKDAYS[WEEKDAY_NAMES.index(word)] if word in WEEKDAY_NAMES else word
        if word not in WEEKDAYS:
            error(rep, item, f"expected a weekday (mon, tue, wed, thu, fri, sat, sun), got "
                             f"{item.value!r}")
            return None
        found.append(WEEKDAYS.index(word))
    return DaySpec("weekdays", tuple(sorted(set(found)))) if found else None


def _mxids(rep: Reporter, node: Node) -> list[Ref]:
    items = [node] if isinstance(node.value, str) else get_list(rep, node) or []
    refs = [(m, item) for item in items if (m := get_mxid(rep, item)) is not None]
    return refs


def _every(rep: Reporter, node: Node) -> int | None:
    value = node.value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    match = EVERY_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[1]) >= 1:
        return int(match[1]) * (7 if match[2] in ("week", "weeks", "周") else 1)
    error(rep, node, f"expected a period like \"1 day\", \"2 weeks\" or a number of days, "
                     f"got {value!r}")
    return None


def _rotation(rep: Reporter, node: Node) -> RotationDraft | None:
    fields = check_keys(rep, node, ROTATION_KEYS, ROTATION_KEYS)
    if fields is None or len(fields) < len(ROTATION_KEYS):
        return None
    anchor = get_date(rep, fields["anchor"])
    every = _every(rep, fields["every"])
    groups = [_mxids(rep, g) for g in get_list(rep, fields["groups"]) or ()]
    if anchor is None or every is None or not groups or not all(groups):
        return None
    return RotationDraft(anchor, every, groups)


def parse_shifts(rep: Reporter, section: Node, drafts: Drafts) -> None:
    for item in get_list(rep, section, allow_empty=True) or ():
        fields = check_keys(rep, item, SHIFT_KEYS, ("department",))
        if fields is None or "department" not in fields:
            continue
        dept = get_id(rep, fields["department"], "department")
        name = get_str(rep, fields["name"]) if "name" in fields else ""
        days: DaySpec | None = DaySpec("every_day")
        dates = None
        if "dates" in fields:
            if "days" in fields:
                error(rep, fields["dates"], "give either days or dates, not both")
            got = get_dates(rep, fields["dates"])
            if got == []:
                error(rep, fields["dates"], "must not be empty")
            dates = tuple(sorted({d for d, _ in got})) if got else ()
        elif "days" in fields:
            days = _days(rep, fields["days"])
        span = get_period(rep, fields["time"], crossing=True) if "time" in fields else None
        officers: list[Ref] = []
        rotation = None
        if "officers" in fields and "rotation" in fields:
            error(rep, fields["rotation"], "give either officers or rotation, not both")
        elif "officers" in fields:
            officers = _mxids(rep, fields["officers"])
        elif "rotation" in fields:
            rotation = _rotation(rep, fields["rotation"])
        else:
            error(rep, item, "a shift needs officers or a rotation", item.sub("officers"))
        any_day = get_bool(rep, fields["any_day"]) if "any_day" in fields else False
        start = get_date(rep, fields["from"]) if "from" in fields else None
        until = get_date(rep, fields["until"]) if "until" in fields else None
        if start and until and until < start:
            error(rep, fields["until"], f"until {until} is before from {start}")
        if dept is None:
            continue
        # Kept even when broken (with harmless stand-ins, as the roster is rejected anyway), so
        # its department and officer references are still checked in the same pass.
        drafts.shifts.append(ShiftDraft(
            (dept, fields["department"]), name or "", days or DaySpec("every_day"), dates,
            Period(*(span or (0, DAY))), officers, rotation, bool(any_day), start, until, item))
