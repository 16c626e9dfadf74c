"""Working time as a table the database can look up: per hours set, the working intervals of
each day (the roster's calendar decides working day or rest day, so holidays and 调休 working
Saturdays count as the State Council arranged them) with the working milliseconds before each.

W(t) = cum_before + (min(t, end) − start) of the last interval starting at or before t, so the
working time between a and b is W(b) − W(a): one indexed lookup per moment, in SQL, whatever the
number of cases. A 24-hour hours set gives one interval spanning every day, so all time counts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bridge.roster.model import HoursSet

Interval = tuple[int, int, int]  # start_ms, end_ms, working ms before start


def intervals(hours: HoursSet, is_working_day, zone: ZoneInfo,  # type: ignore[no-untyped-def]
              first: date, end: date) -> list[Interval]:
    """The working intervals of `hours` on the days first..end (exclusive), merged where they
    touch (a shift to midnight and one from midnight are one interval), with cumulative time."""
    spans: list[tuple[int, int]] = []
    day = first - timedelta(days=1)  # yesterday's shift may run past midnight into `first`
    while day < end:
        midnight = datetime.combine(day, time(), tzinfo=zone)
        base = int(midnight.timestamp() * 1000)
        for p in hours.periods(is_working_day(day)):
            a, b = base + p.start * 1000, base + p.end * 1000
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
        day += timedelta(days=1)
    out: list[Interval] = []
    cum = 0
    for a, b in spans:
        out.append((a, b, cum))
        cum += b - a
    return out


def working_ms(table: list[Interval], at_ms: int) -> int:
    """W(at) from a list of intervals: the same function as the SQL lookup, for Python callers."""
    best = 0
    for a, b, cum in table:
        if a > at_ms:
            break
        best = cum + min(at_ms, b) - a
    return best
