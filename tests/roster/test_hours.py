"""Working time and openings for departments without shifts, on the real 2026 calendar."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

SH = ZoneInfo("Asia/Shanghai")
HOURS = """
working_hours:
  hotline:
    every_day: ["00:00-24:00"]
    departments: [gat]
  tourism:
    workdays: ["08:30-12:00", "14:00-17:30"]
    rest_days: ["09:00-17:00"]
    text: {zh: 节假日照常开放, en: Open on holidays too}
    departments: [wlt]
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize("moment, working", [
    ("2026-03-06 08:29", False), ("2026-03-06 08:30", True), ("2026-03-06 11:59", True),
    ("2026-03-06 12:00", False), ("2026-03-06 14:00", True), ("2026-03-06 17:30", False),
    ("2026-02-14 10:00", True),  # make-up Saturday
    ("2026-02-28 15:00", True),  # make-up Saturday
    ("2026-02-16 10:00", False), ("2026-02-23 10:00", False),  # Spring Festival
    ("2026-10-01 10:00", False), ("2026-10-07 10:00", False),  # National Day
    ("2026-03-07 10:00", False),  # ordinary Saturday
])
def test_default_hours(roster, moment, working):
    assert roster().is_working_time("fgw", at(moment)) is working


@pytest.mark.parametrize("moment, expected", [
    ("2026-03-06 18:00", "2026-03-09 08:30"),  # Friday evening -> Monday morning
    ("2026-03-06 12:30", "2026-03-06 14:00"),  # lunch break
    ("2026-03-06 07:00", "2026-03-06 08:30"),
    ("2026-03-06 10:00", "2026-03-06 10:00"),  # already open: the moment itself
    ("2026-02-13 18:00", "2026-02-14 08:30"),  # make-up Saturday before Spring Festival
    ("2026-02-14 18:00", "2026-02-24 08:30"),  # across the whole Spring Festival
    ("2026-09-30 18:00", "2026-10-08 08:30"),  # across National Day
    ("2026-09-19 10:00", "2026-09-20 08:30"),  # Saturday before a make-up Sunday
])
def test_next_opening(roster, moment, expected):
    assert roster().next_opening("fgw", at(moment)) == at(expected)


def test_period_end(roster):
    r = roster()
    assert r.current_period_end("fgw", at("2026-03-06 10:00")) == at("2026-03-06 12:00")
    assert r.current_period_end("fgw", at("2026-03-06 14:00")) == at("2026-03-06 17:30")
    assert r.current_period_end("fgw", at("2026-03-06 12:30")) is None


def test_naive_and_foreign_zone_datetimes(roster):
    r = roster()
    assert r.is_working_time("fgw", datetime(2026, 3, 6, 9, 0))  # naive = roster zone
    utc = datetime(2026, 3, 6, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    assert r.is_working_time("fgw", utc)
    assert r.next_opening("fgw", utc) == utc
    assert r.next_opening("fgw", utc).tzinfo == SH


def test_departments_without_shifts_put_all_their_officers_on_duty(roster):
    r = roster()
    assert [o.alias for o in r.on_duty("fgw", at("2026-03-06 10:00"))] == ["值班员 01", "值班员 02"]
    assert r.on_duty("fgw", at("2026-03-06 12:30")) == ()
    assert r.on_duty("wlt", at("2026-03-06 10:00")) == ()  # no officers, yet open
    assert r.is_open("wlt", at("2026-03-06 10:00"))


def test_named_sets_and_assignment(roster):
    r = roster(HOURS)
    assert r.departments["gat"].hours == "hotline"
    assert r.is_working_time("gat", at("2026-02-16 03:00"))
    assert r.current_period_end("gat", at("2026-02-16 03:00")) is None  # never closes
    assert r.is_working_time("wlt", at("2026-02-16 10:00"))  # holiday opening
    assert not r.is_working_time("wlt", at("2026-02-16 08:45"))
    assert r.is_working_time("wlt", at("2026-02-14 08:45"))  # make-up Saturday is a workday


def test_hours_text(roster):
    r = roster(HOURS)
    assert r.hours_text("fgw") == "工作日 08:30–12:00、14:00–17:30"
    assert r.hours_text("fgw", "en") == "Working days 08:30–12:00, 14:00–17:30"
    assert r.hours_text("gat") == "每天 24 小时"
    assert r.hours_text("gat", "en") == "24 hours"
    assert r.hours_text("wlt") == "节假日照常开放"
    assert r.hours_text("wlt", "en") == "Open on holidays too"
    assert r.hours_text("nope") == ""


def test_2027_from_yaml_override(roster):
    r = roster('calendar: {2027: {holidays: ["2027-10-01..2027-10-07"]}}')
    assert not r.is_working_time("fgw", at("2027-10-04 10:00"))  # Monday, YAML holiday
    assert r.next_opening("fgw", at("2027-09-30 18:00")) == at("2027-10-08 08:30")


def test_unknown_department_is_closed_not_an_error(roster):
    r = roster()
    moment = at("2026-03-06 10:00")
    assert not r.is_working_time("nope", moment)
    assert r.on_duty("nope", moment) == ()
    assert r.next_opening("nope", moment) is None
    assert r.current_period_end("nope", moment) is None


def test_queries(roster):
    r = roster()
    assert r.officer("@a:example.org").alias == "值班员 01"
    assert r.officer("@zz:example.org") is None
    assert r.is_officer_of("@c:example.org", "gat")
    assert not r.is_officer_of("@c:example.org", "fgw")
    assert [o.mxid for o in r.departments["gat"].officers] == [
        "@a:example.org", "@b:example.org", "@c:example.org"]
    assert r.timezone == SH and r.example_data is False
    assert list(r.departments) == ["fgw", "gat", "wlt"]
    assert [d.order for d in r.departments.values()] == [0, 1, 2]
    fgw = r.departments["fgw"]
    assert (fgw.short_name, fgw.category, fgw.description, fgw.hours) == ("省发展改革委", "", "",
                                                                          "default")
    assert fgw.sign_replies_with_alias is True and fgw.show_citizen_id is False
