"""Report periods as people write them: 2026-11, 2026-W47, 2026-Q4, 2026, 2026-11-27 and
2026-11-01..2026-11-15. Shared by the `!考核` command, the CLI and the bulletins, so all three
read a period the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """The text is not a period; the message says which forms are understood."""


FORMS = "2026-11、2026-W47、2026-Q4、2026、2026-11-27 或 2026-11-01..2026-11-15"


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # day | week | month | quarter | year | range
    first: date  # first day, inclusive
    end: date  # the day after the last, exclusive

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnight of the first day and of the day after the last."""
        return (datetime.combine(self.first, time(), tzinfo=zone),
                datetime.combine(self.end, time(), tzinfo=zone))

    def previous(self) -> Period:
        """The period of the same kind just before (for "change from the previous period")."""
        if self.kind == "week":
            return week_of(self.first - timedelta(days=7))
        if self.kind == "month":
            return month_of(self.first - timedelta(days=1))
        if self.kind == "quarter":
            return quarter_of(self.first - timedelta(days=1))
        if self.kind == "year":
            return parse_period(str(self.first.year - 1))
        length = self.end - self.first
        first = self.first - length
        if self.kind == "day":
            return parse_period(first.isoformat())
        return parse_period(f"{first.isoformat()}..{(self.first - timedelta(days=1)).isoformat()}")


def week_of(day: date) -> Period:
    year, week, _ = day.isocalendar()
    first = day - timedelta(days=day.weekday())
    return Period(f"{year}-W{week:02d}", "week", first, first + timedelta(days=7))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    end = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return Period(f"{first.year}-{first.month:02d}", "month", first, end)


def quarter_of(day: date) -> Period:
    q = (day.month - 1) // 3
    first = date(day.year, 3 * q + 1, 1)
    end = date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
    return Period(f"{day.year}-Q{q + 1}", "quarter", first, end)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise PeriodError(f"不是日期：{text}（格式 2026-11-27）") from e


def parse_period(text: str) -> Period:
    """Read a period; PeriodError (with the understood forms) for anything else."""
    text = text.strip()
    try:
        if ".." in text:
            a, _, b = text.partition("..")
            first, last = _day(a.strip()), _day(b.strip())
            if last < first:
                raise PeriodError(f"时段的结束日早于开始日：{text}")
            return Period(f"{first.isoformat()}..{last.isoformat()}", "range", first,
                          last + timedelta(days=1))
        if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text, re.I):
            first = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return week_of(first)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, re.I):
            return quarter_of(date(int(m[1]), 3 * int(m[2]) - 2, 1))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            return month_of(date(int(m[1]), int(m[2]), 1))
        if re.fullmatch(r"\d{4}", text):
            y = int(text)
            return Period(text, "year", date(y, 1, 1), date(y + 1, 1, 1))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            d = _day(text)
            return Period(d.isoformat(), "day", d, d + timedelta(days=1))
    except PeriodError:
        raise
    except ValueError as e:
        raise PeriodError(f"无法识别的时段：{text}（可用 {FORMS}）") from e
    raise PeriodError(f"无法识别的时段：{text}（可用 {FORMS}）")
