"""When the weekly bulletin and the monthly report are due: at the configured time on the first
working day (the roster's calendar) at or after the configured weekday / day of the month. Due
stays due for the rest of that week or month, so a bridge that was down at the time sends it when
it comes back; the bulletin table makes sure only once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from .periods import Period, month_of, week_of


def _at(text: str) -> time:
    hours, _, minutes = str(text).partition(":")
    return time(int(hours), int(minutes or 0))


def _first_working(day: date, until: date, is_working_day: Callable[[date], bool]) -> date | None:
    while day < until:
        if is_working_day(day):
            return day
        day += timedelta(days=1)
    return None


def due(now_local: datetime, is_working_day: Callable[[date], bool], *, weekly_weekday: int,
        weekly_time: str, monthly_day: int, monthly_time: str) -> list[tuple[str, Period]]:
    """The bulletins due at `now_local`: ("weekly", last week) and/or ("monthly", last month)."""
    out: list[tuple[str, Period]] = []
    today = now_local.date()
    monday = today - timedelta(days=today.weekday())
    start = monday + timedelta(days=max(1, min(7, weekly_weekday)) - 1)
    day = _first_working(start, monday + timedelta(days=7), is_working_day)
    if day is not None and now_local >= datetime.combine(day, _at(weekly_time), tzinfo=now_local.tzinfo):
        out.append(("weekly", week_of(monday - timedelta(days=7))))
    month = month_of(today)
    start = today.replace(day=max(1, min(28, monthly_day)))
    day = _first_working(start, month.end, is_working_day)
    if day is not None and now_local >= datetime.combine(day, _at(monthly_time), tzinfo=now_local.tzinfo):
        out.append(("monthly", month_of(month.first - timedelta(days=1))))
    return out
