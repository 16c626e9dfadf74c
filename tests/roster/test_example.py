"""The shipped example roster loads cleanly and behaves as its comments say."""

from __future__ import annotations

import glob
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.roster import Roster, load_roster

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(glob.glob(str(ROOT / "rosters/example/*.yaml")))
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def example() -> Roster:
    return load_roster(FILES)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_all_example_files_load_together(example):
    names = {Path(f).name for f in FILES}
    assert {"hours.yaml", "officers.yaml", "shifts.yaml", "calendar.yaml"} <= names
    assert example.example_data
    assert example.timezone.key == "Asia/Shanghai"
    assert "zj" in example.jurisdictions and len(example.departments) >= 5
    assert all(d.jurisdiction in example.jurisdictions for d in example.departments.values())


def test_demo_officer_serves_every_department(example):
    demo = example.officer("@demo_officer:localhost")
    assert demo is not None and demo.alias == "值班员 01"
    assert set(demo.departments) == set(example.departments)
    assert all(example.is_officer_of(demo.mxid, d) for d in example.departments)


def test_example_schedules(example):
    assert example.departments["gat"].hours == "hotline"
    assert example.departments["wlt"].hours == "tourism"
    night = [o.alias for o in example.on_duty("gat", at("2026-03-06 23:00"))]
    assert "值班员 13" in night
    assert [o.alias for o in example.on_duty("gat", at("2026-03-07 05:00"))] == night
    assert example.next_opening("fgw", at("2026-03-06 18:00")) == at("2026-03-09 08:30")
    assert example.on_duty("bgt", at("2026-02-17 10:00"))  # Spring Festival emergency duty
    assert not example.is_working_day(date(2027, 10, 4))  # from calendar.yaml


def test_fingerprint_is_stable_and_sensitive(example, tmp_path):
    assert example.fingerprint() == load_roster(FILES).fingerprint()
    extra = tmp_path / "extra.yaml"
    extra.write_text("calendar: {2028: {holidays: [2028-01-03]}}\n", encoding="utf-8")
    assert load_roster([*FILES, extra]).fingerprint() != example.fingerprint()
    # Comments and layout are not part of the model.
    moved = tmp_path / "moved.yaml"
    moved.write_text("# a comment\n\n" + Path(FILES[-1]).read_text(encoding="utf-8"),
                     encoding="utf-8")
    assert load_roster([*FILES[:-1], moved]).fingerprint() == example.fingerprint()


def test_example_calendar_asks_for_completion(example):
    warnings = example.calendar_warnings(date(2026, 12, 1))
    assert any("2027" in w and "provisional" in w for w in warnings)
