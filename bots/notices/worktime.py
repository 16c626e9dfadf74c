"""Receipt deadlines in working time: office hours on the recipients' working days (holidays
and 调休 included, and a city's own rest and working days), so "2 个工作日" given on a Friday
afternoon ends on Tuesday afternoon."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

_HOURS = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:h|小时|个小时|个工作小时|工作小时)$", re.I)
_DAYS = re.compile(r"^(\d+)\s*(?:d|天|个工作日|工作日)$", re.I)
_WHEN = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})$")


def office_day(spec: str) -> tuple[time, time]:
    """`notices.office_hours`, e.g. "08:30-17:30"."""
    start, _, end = spec.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def working_days_of(roster: Any, recipients: Iterable[str]) -> Callable[[date], bool]:
    """The days the recipient departments all work: each department's jurisdiction may have
    its own rest and working days (a notice to several counts days they share)."""
    calendars = {id(c): c for c in (roster.calendar_of(roster.departments[d].jurisdiction)
                                    for d in recipients if d in roster.departments)}
    if not calendars:
        return roster.is_working_day  # type: ignore[no-any-return]
    return lambda day: all(c.is_working_day(day) for c in calendars.values())


def add_working(roster: Any, start: datetime, hours: float, office: tuple[time, time],
                is_working_day: Callable[[date], bool] | None = None) -> datetime:
    """`start` plus `hours` of office time (negative: back) on `is_working_day`'s days (by
    default the roster's); the result lies in office time."""
    is_working_day = is_working_day or roster.is_working_day
    tz = roster.timezone
    at = start.astimezone(tz)
    left = timedelta(hours=abs(hours))
    forward = hours >= 0
    for _ in range(3660):  # ten years of days: a broken calendar must not loop for ever
        day = at.date()
        open_at = datetime.combine(day, office[0], tz)
        close_at = datetime.combine(day, office[1], tz)
        if is_working_day(day):
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


def parse_deadline(roster: Any, text: str, now: datetime, office: tuple[time, time],
                   recipients: Iterable[str] = ()) -> datetime:
    """"3d"/"3 个工作日" (working days of the recipients: the end of the third one), "4h"/"4 小时"
    (working hours), or a moment "2026-12-03 17:00" (in the roster's time zone). ValueError if
    none of these."""
    days_of = working_days_of(roster, recipients)
    text = text.strip()
    found = _DAYS.match(text)
    if found:
        days = int(found.group(1))
        if days < 1:
            raise ValueError(text)
        hours_per_day = (datetime.combine(now.date(), office[1])
                         - datetime.combine(now.date(), office[0])).total_seconds() / 3600
        return add_working(roster, now, days * hours_per_day, office, days_of)
    found = _HOURS.match(text)
    if found:
        hours = float(found.group(1))
        if hours <= 0:
            raise ValueError(text)
        return add_working(roster, now, hours, office, days_of)
    found = _WHEN.match(text)
    if found:
        y, mo, d, h, mi = (int(g) for g in found.groups())
        at = datetime(y, mo, d, h, mi, tzinfo=roster.timezone)
        if at <= now:
            raise ValueError(text)
        return at
    raise ValueError(text)
