"""Working days: the roster's calendar overrides, then chinese-calendar, then plain Mon-Fri."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar

from .model import CalendarYear


@lru_cache(maxsize=256)
def package_has_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    def __init__(self, years: dict[int, CalendarYear]) -> None:
        self.years = years
        self._holidays = {d for y in years.values() for d in y.holidays}
        self._workdays = {d for y in years.values() for d in y.workdays}
        self.is_working_day = lru_cache(maxsize=4096)(self._is_working_day)

    def _is_working_day(self, day: date) -> bool:
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        if package_has_year(day.year):
            return bool(chinese_calendar.is_workday(day))
        # No published arrangement known: ordinary weeks are the least surprising guess, and
        # calendar_warnings tells the administrator.
        return day.weekday() < 5

    def has_data(self, year: int) -> bool:
        return year in self.years or package_has_year(year)

    def warnings(self, today: date) -> list[str]:
        out: list[str] = []
        year = today.year
        if not self.has_data(year):
            out.append(f"{year} 年没有节假日安排数据（chinese-calendar 与名册 calendar 均无），"
                       f"目前按周一至周五为工作日计算；请按国务院办公厅通知在名册 calendar.{year} "
                       "中补充 holidays 与 workdays。")
        left = (date(year + 1, 1, 1) - today).days
        if left <= 60 and not self.has_data(year + 1):
            out.append(f"{year + 1} 年节假日安排尚无数据，距 {year} 年底还有 {left} 天；"
                       "国务院办公厅通常于 11 月公布次年安排，请在名册 calendar."
                       f"{year + 1} 中补充 holidays 与 workdays，否则将按周一至周五计算。")
        for y, entry in sorted(self.years.items()):
            if entry.provisional and y >= year:
                out.append(f"{y} 年节假日安排标记为临时（provisional），可能不完整；"
                           f"请按国务院办公厅通知补全 calendar.{y} 后删除 provisional 标记。")
        return out


class LocalCalendar:
    """A jurisdiction's calendar: its own (and its parents') holidays and make-up working days
    over the province-wide one; the nearest jurisdiction's word wins."""

    def __init__(self, base: WorkCalendar, overrides: list[tuple[tuple[date, ...], tuple[date, ...]]]
                 ) -> None:
        self.base = base
        self._local: dict[date, bool] = {}
        for holidays, workdays in overrides:  # from the top down: nearer ones overwrite
            self._local.update(dict.fromkeys(holidays, False))
            self._local.update(dict.fromkeys(workdays, True))

    def is_working_day(self, day: date) -> bool:
        local = self._local.get(day)
        return self.base.is_working_day(day) if local is None else local
