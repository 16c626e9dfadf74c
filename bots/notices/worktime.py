"""Receipt deadlines in working time: office hours on the roster's working days (holidays and
调休 included), so "2 个工作日" given on a Friday afternoon ends on Tuesday afternoon."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

_HOURS = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:h|小时|个小时|个工作小时|工作小时)$", re.I)
_DAYS = re.compile(r"^(\d+)\s*(?:d|天|个工作日|工作日)$", re.I)
_WHEN = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$")


def office_day(spec: str) -> tuple[time, time]:
    """`notices.office_hours`, e.g. "08:30-17:30"."""
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def add_working(roster: Any, start: datetime, hours: float, office: tuple[time, time]) -> datetime:
    """`start` plus `hours` of office time (negative: back); the result lies in office time."""
    tz = roster.timezone
    at = start.astimezone(tz)
    left = timedelta(hours=abs(hours))
    forward = hours >= 0
    for _ in range(3660):  # ten years of days: a broken calendar must not loop for ever
        day = at.date()
        open_at = datetime.combine(day, office[0], tz)
        close_at = datetime.combine(day, office[1], tz)
        if roster.is_working_day(day):
            if forward:
                begin = max(at, open_at)
                if begin < close_at:
                    if begin + left <= close_at:
                        return begin + left
                    left -= close_at - begin
            else:
                end = min(at, close_at)
                if end > open_at:
                    if end - left >= open_at:
                        return end - left
                    left -= end - open_at
        step = timedelta(days=1 if forward else -1)
        at = datetime.combine(day + step, time(0) if forward else time(23, 59, 59), tz)
    raise ValueError("no working time found within ten years")


def parse_deadline(roster: Any, text: str, now: datetime, office: tuple[time, time]) -> datetime:
    """"3d"/"3 个工作日" (working days: the end of the third one), "4h"/"4 小时" (working hours),
    or a moment "2026-12-03 17:00" (in the roster's time zone). ValueError if none of these."""
    text = text.strip()
    found = _DAYS.match(text)
    if found:
        days = int(found.group(1))
        if days < 1:
            raise ValueError(text)
        hours_per_day = (datetime.combine(now.date(), office[1])
                         - datetime.combine(now.date(), office[0])).total_seconds() / 3600
        return add_working(roster, now, days * hours_per_day, office)
    found = _HOURS.match(text)
    if found:
        hours = float(found.group(1))
        if hours <= 0:
            raise ValueError(text)
        return add_working(roster, now, hours, office)
    found = _WHEN.match(text)
    if found:
        y, mo, d, h, mi = (int(g) for g in found.groups())
        at = datetime(y, mo, d, h, mi, tzinfo=roster.timezone)
        if at <= now:
            raise ValueError(text)
        return at
    raise ValueError(text)
