"""Shifts: weekly patterns, rotations, explicit dates, midnight crossing and any_day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def aliases(officers) -> list[str]:
    return [o.alias for o in officers]


NIGHT = """
shifts:
  - department: gat
    name: 夜班
    time: "22:00-06:00"
    any_day: true
    officers: ["@c:example.org"]
"""


def test_shift_across_midnight(roster):
    r = roster(NIGHT)
    assert aliases(r.on_duty("gat", at("2026-03-06 23:00"))) == ["值班员 03"]
    assert aliases(r.on_duty("gat", at("2026-03-07 05:00"))) == ["值班员 03"]
    assert r.on_duty("gat", at("2026-03-07 06:00")) == ()
    assert r.on_duty("gat", at("2026-03-07 21:59")) == ()
    # any_day: on duty although gat's working hours are the default office hours.
    assert not r.is_working_time("gat", at("2026-03-06 23:00"))
    assert r.is_open("gat", at("2026-03-06 23:00"))
    assert r.current_period_end("gat", at("2026-03-06 23:00")) == at("2026-03-07 06:00")
    assert r.next_opening("gat", at("2026-03-07 06:00")) == at("2026-03-07 22:00")


def test_midnight_shift_only_counts_inside_working_hours_without_any_day(roster):
    r = roster(NIGHT.replace("    any_day: true\n", ""))
    assert r.on_duty("gat", at("2026-03-06 23:00")) == ()
    assert not r.is_open("gat", at("2026-03-06 10:00"))  # has shifts, nobody on one now
    hotline = "working_hours: {hotline: {every_day: ['00:00-24:00'], departments: [gat]}}"
    r = roster(NIGHT.replace("    any_day: true\n", ""), hotline)
    assert aliases(r.on_duty("gat", at("2026-03-07 05:00"))) == ["值班员 03"]


def test_midnight_shift_belongs_to_the_day_it_starts(roster):
    r = roster("""
shifts:
  - {department: gat, days: [fri], time: "22:00-06:00", any_day: true,
     officers: ["@c:example.org"]}
""")
    assert r.on_duty("gat", at("2026-03-07 05:00"))  # Saturday morning, from Friday
    assert not r.on_duty("gat", at("2026-03-06 05:00"))  # Friday morning: Thursday had none


def test_weekly_pattern_and_several_officers(roster):
    r = roster("""
shifts:
  - {department: fgw, days: [mon, wed, fri], officers: ["@a:example.org", "@b:example.org"]}
  - {department: fgw, days: [tue, thu], time: "14:00-17:30", officers: ["@b:example.org"]}
""")
    assert aliases(r.on_duty("fgw", at("2026-03-06 09:00"))) == ["值班员 01", "值班员 02"]
    assert r.on_duty("fgw", at("2026-03-05 09:00")) == ()  # Thursday morning: nobody
    assert aliases(r.on_duty("fgw", at("2026-03-05 15:00"))) == ["值班员 02"]
    assert r.next_opening("fgw", at("2026-03-05 09:00")) == at("2026-03-05 14:00")
    assert r.is_working_time("fgw", at("2026-03-05 09:00"))
    # Weekday lists ignore 调休: the make-up Saturday has no matching shift.
    assert r.on_duty("fgw", at("2026-02-14 09:00")) == ()


def test_workdays_shift_covers_make_up_days(roster):
    r = roster("shifts: [{department: fgw, days: workdays, officers: ['@a:example.org']}]")
    assert aliases(r.on_duty("fgw", at("2026-02-14 09:00"))) == ["值班员 01"]
    assert r.on_duty("fgw", at("2026-02-16 09:00")) == ()


def test_weekly_rotation(roster):
    r = roster("""
shifts:
  - department: gat
    any_day: true
    time: "08:00-20:00"
    rotation:
      anchor: 2026-03-02
      every: 1 week
      groups: [["@a:example.org"], ["@b:example.org", "@c:example.org"]]
""")
    assert aliases(r.on_duty("gat", at("2026-03-02 09:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("gat", at("2026-03-08 19:59"))) == ["值班员 01"]
    assert aliases(r.on_duty("gat", at("2026-03-09 09:00"))) == ["值班员 02", "值班员 03"]
    assert aliases(r.on_duty("gat", at("2026-03-16 09:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("gat", at("2026-02-23 09:00"))) == ["值班员 02", "值班员 03"]  # before


def test_daily_rotation_across_midnight(roster):
    r = roster("""
shifts:
  - department: gat
    any_day: true
    time: "20:00-08:00"
    rotation: {anchor: 2026-03-01, every: 1, groups: ["@a:example.org", "@b:example.org",
                                                       "@c:example.org"]}
""")
    assert aliases(r.on_duty("gat", at("2026-03-01 21:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("gat", at("2026-03-02 07:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("gat", at("2026-03-02 21:00"))) == ["值班员 02"]
    assert aliases(r.on_duty("gat", at("2026-03-04 03:00"))) == ["值班员 03"]
    assert aliases(r.on_duty("gat", at("2026-03-04 21:00"))) == ["值班员 01"]


def test_explicit_dates_and_validity(roster):
    r = roster("""
shifts:
  - {department: fgw, days: workdays, until: 2026-03-31, officers: ["@a:example.org"]}
  - {department: fgw, days: workdays, from: 2026-04-01, officers: ["@b:example.org"]}
  - department: fgw
    dates: ["2026-02-15..2026-02-17", 2026-02-20]
    time: "09:00-11:00"
    any_day: true
    officers: ["@b:example.org"]
""")
    assert aliases(r.on_duty("fgw", at("2026-03-31 09:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("fgw", at("2026-04-01 09:00"))) == ["值班员 02"]
    assert aliases(r.on_duty("fgw", at("2026-02-16 10:00"))) == ["值班员 02"]
    assert r.on_duty("fgw", at("2026-02-18 10:00")) == ()
    assert r.next_opening("fgw", at("2026-02-17 12:00")) == at("2026-02-20 09:00")
    assert r.current_period_end("fgw", at("2026-02-20 09:30")) == at("2026-02-20 11:00")


def test_period_end_spans_officer_changes(roster):
    r = roster("""
shifts:
  - {department: fgw, time: "08:30-10:00", officers: ["@a:example.org"]}
  - {department: fgw, time: "10:00-12:00", officers: ["@b:example.org"]}
""")
    assert r.current_period_end("fgw", at("2026-03-06 09:00")) == at("2026-03-06 12:00")
    assert r.next_opening("fgw", at("2026-03-06 12:00")) == at("2026-03-09 08:30")


def test_rest_day_shift_with_chinese_period(roster):
    r = roster("""
shifts:
  - department: fgw
    days: rest_days
    any_day: true
    time: "10:00-16:00"
    rotation: {anchor: 2026-03-07, every: 3 天, groups: ["@a:example.org", "@b:example.org"]}
""")
    assert aliases(r.on_duty("fgw", at("2026-03-07 11:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("fgw", at("2026-03-08 11:00"))) == ["值班员 01"]
    assert aliases(r.on_duty("fgw", at("2026-03-14 11:00"))) == ["值班员 01"]  # days 6-8
    assert aliases(r.on_duty("fgw", at("2026-03-22 11:00"))) == ["值班员 02"]  # days 15-17
    assert r.on_duty("fgw", at("2026-03-09 11:00")) == ()  # Monday: not a rest day
    assert r.on_duty("fgw", at("2026-02-14 11:00")) == ()  # make-up Saturday is a working day
