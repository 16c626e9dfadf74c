"""Properties of next_opening and current_period_end over random moments in 2025-2027."""

from __future__ import annotations

import glob
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.roster import Roster, load_roster

ROOT = Path(__file__).resolve().parents[2]
SH = ZoneInfo("Asia/Shanghai")
STEP = timedelta(minutes=15)
TICK = timedelta(microseconds=1)
EXTRA = """
shifts:
  - {department: tsw, time: "22:00-06:00", any_day: true, officers: ["@demo_officer:localhost"]}
  - {department: tsw, days: [tue, thu], time: "09:00-10:00", officers: ["@demo_officer:localhost"]}
"""
# Departments covering every kind of schedule in the example roster plus EXTRA.
DEPTS = ["fgw", "bgt", "gat", "wlt", "jyt", "kjt", "tsw"]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Roster:
    extra = tmp_path_factory.mktemp("extra") / "extra.yaml"
    extra.write_text(EXTRA, encoding="utf-8")
    return load_roster([*sorted(glob.glob(str(ROOT / "rosters/example/*.yaml"))), extra])


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31, 23, 59),
                       timezones=st.just(SH))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(at=moments, dept=st.sampled_from(DEPTS))
def test_next_opening_is_the_first_open_moment(example: Roster, at: datetime, dept: str) -> None:
    nxt = example.next_opening(dept, at)
    assert nxt is not None
    assert nxt >= at and example.is_open(dept, nxt)
    if not any(s.any_day for s in example.shifts_of(dept)):
        assert example.is_working_time(dept, nxt)
    if not example.shifts_of(dept):
        # Without shifts "open" is exactly working time.
        assert example.is_working_time(dept, at) == (nxt == at)
    without_shifts = not example.shifts_of(dept)
    t = at
    while t < nxt:
        assert not example.is_open(dept, t), t
        assert not (without_shifts and example.is_working_time(dept, t)), t
        t += STEP
    if nxt > at:
        assert not example.is_open(dept, nxt - TICK)


@SETTINGS
@given(at=moments, dept=st.sampled_from(DEPTS))
def test_period_end_closes_an_open_period(example: Roster, at: datetime, dept: str) -> None:
    start = example.next_opening(dept, at)
    assert start is not None
    end = example.current_period_end(dept, start)
    if end is None:
        assert dept == "gat"  # the only department that never closes
        return
    assert end > start and not example.is_open(dept, end)
    assert example.is_open(dept, end - TICK)
    t = start
    while t < end:
        assert example.is_open(dept, t), t
        t += STEP
