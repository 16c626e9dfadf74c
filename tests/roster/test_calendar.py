"""Working days: chinese-calendar for 2026, YAML overrides for 2027, Mon-Fri beyond."""

from __future__ import annotations

from datetime import date

import chinese_calendar
import pytest

CAL_2027 = """
calendar:
  2027:
    holidays: [2027-01-01, "2027-10-01..2027-10-07"]
    workdays: [2027-10-09]
"""


@pytest.mark.parametrize("day", ["2026-02-15", "2026-02-16", "2026-02-23", "2026-10-01",
                                 "2026-10-07", "2026-01-01", "2026-05-01"])
def test_2026_public_holidays_are_closed(roster, day):
    assert not roster().is_working_day(date.fromisoformat(day))


@pytest.mark.parametrize("day", ["2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10",
                                 "2026-02-24", "2026-10-08"])
def test_2026_make_up_days_and_first_days_back_are_open(roster, day):
    # 2026-02-14/02-28 (Sat), 09-20 (Sun) and 10-10 (Sat) are 调休 make-up working days;
    # chinese-calendar 1.11 ends National Day on 10-07, so 10-08 is a working day.
    d = date.fromisoformat(day)
    assert chinese_calendar.is_workday(d)
    assert roster().is_working_day(d)


def test_yaml_overrides_and_fills_years_the_package_lacks(roster):
    r = roster(CAL_2027)
    assert not r.is_working_day(date(2027, 10, 4))  # a Monday, from YAML
    assert r.is_working_day(date(2027, 10, 9))  # a Saturday, 调休 from YAML
    assert r.is_working_day(date(2027, 10, 8))  # not listed: plain Mon-Fri
    assert not r.is_working_day(date(2027, 10, 10))


def test_yaml_overrides_package_years_too(roster):
    r = roster("calendar: {2026: {holidays: [2026-03-02], workdays: [2026-03-07]}}")
    assert not r.is_working_day(date(2026, 3, 2))
    assert r.is_working_day(date(2026, 3, 7))
    assert r.is_working_day(date(2026, 3, 3))


def test_without_any_data_weekdays_work(roster):
    r = roster()
    assert r.is_working_day(date(2030, 1, 1))  # a Tuesday, even though it is New Year
    assert not r.is_working_day(date(2030, 1, 5))


def test_warns_near_year_end_when_next_year_is_missing(roster):
    warnings = roster().calendar_warnings(date(2026, 11, 15))
    assert len(warnings) == 1 and "2027" in warnings[0] and "国务院" in warnings[0]
    assert roster().calendar_warnings(date(2026, 10, 1)) == []  # more than 60 days left
    assert roster(CAL_2027).calendar_warnings(date(2026, 12, 20)) == []


def test_warns_about_current_year_without_data_and_provisional_years(roster):
    warnings = roster().calendar_warnings(date(2028, 3, 1))
    assert any("2028" in w and "周一至周五" in w for w in warnings)
    r = roster("calendar: {2027: {provisional: true, holidays: [2027-01-01]}}")
    assert any("provisional" in w for w in r.calendar_warnings(date(2026, 6, 1)))
    assert not any("2027 年节假日安排标记" in w for w in r.calendar_warnings(date(2028, 6, 1)))
