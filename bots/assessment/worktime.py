"""Working time as a table the database can join: one row per hours set and day, with the
working milliseconds before that day and the day's working periods (offsets from its midnight).
The roster's calendar decides working day or rest day, so holidays and 调休 working Saturdays
count as the State Council arranged them.

W(t), the working time before moment t, is the row of t's day (an equality join on the day's
number, which a database does as a hash join or a primary-key lookup) plus the day's periods
clipped at t. The working time between a and b is W(b) − W(a), whatever the number of cases.
A 24-hour set has one period 00:00–24:00 every day, so all time counts. Days are numbered from
a local midnight in steps of 24 hours: right for the roster's Asia/Shanghai (no daylight saving).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bridge.roster.model import HoursSet

DAY_MS = 86_400_000


@dataclass(frozen=True)
class WorkDay:
    index: int  # days after the table's base day
    start_ms: int  # local midnight
    cum_ms: int  # working time on the days before
    periods: tuple[tuple[int, int], ...]  # (start, end) ms after midnight


def days(hours: HoursSet, is_working_day, zone: ZoneInfo,  # type: ignore[no-untyped-def]
         first: date, end: date) -> list[WorkDay]:
    """The days first..end (exclusive) of `hours` with their periods and cumulative time."""
    out: list[WorkDay] = []
    cum, day, index = 0, first, 0
    while day < end:
        start = int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)
        periods = tuple((p.start * 1000, min(p.end, 86400) * 1000)
                        for p in hours.periods(is_working_day(day)))
        out.append(WorkDay(index, start, cum, periods))
        cum += sum(b - a for a, b in periods)
        day += timedelta(days=1)
        index += 1
    return out


def working_ms(table: list[WorkDay], at_ms: int) -> int:
    """W(at) in Python, the same function as the SQL, e.g. for `asof`."""
    if not table:
        return 0
    index = (at_ms - table[0].start_ms) // DAY_MS
    if index < 0:
        return 0
    if index >= len(table):
        last = table[-1]
        return last.cum_ms + sum(b - a for a, b in last.periods)
    day = table[index]
    r = at_ms - day.start_ms
    return day.cum_ms + sum(max(0, min(r, b) - a) for a, b in day.periods)


def sql_w(moment: str, alias: str, width: int) -> str:
    """SQL for W(moment) given the joined day row `alias` (NULL when the moment is NULL)."""
    r = f"({moment} - {alias}.start_ms)"
    parts = [f"(CASE WHEN {r} > {alias}.p{k}s THEN (CASE WHEN {r} < {alias}.p{k}e THEN {r}"
             f" ELSE {alias}.p{k}e END) - {alias}.p{k}s ELSE 0 END)" for k in range(width)]
    return f"({alias}.cum_ms + {' + '.join(parts) or '0'})"


def sql_day(moment: str, base_ms: int) -> str:
    """SQL for the day number of a moment, to join the day table on."""
    return f"(({moment} - {base_ms}) / {DAY_MS})"
