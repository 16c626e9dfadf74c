"""What a department room's topic says, computed from the example roster (no homeserver)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.directory.layout import room_state
from bots.directory.messages import MESSAGES
from bridge.config import EXAMPLE_CONFIG, Config
from bridge.messages import Messages
from bridge.roster import Roster, load_roster
from bridge.roster.files import roster_files

ROOT = Path(__file__).resolve().parent.parent
NIGHT = datetime(2026, 11, 30, 2, 54, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(roster_files([str(ROOT / "rosters" / "example")], ROOT))


def topic(roster: Roster, dept: str, at: datetime, lang: str = "zh") -> str:
    config = Config(EXAMPLE_CONFIG)
    config.load()
    t = Messages(lang)
    t.add(MESSAGES)
    return room_state(roster.departments[dept], roster, config, t, at, "ghost", "12")["topic"]


def test_a_24_hour_department_never_reads_as_closing(roster: Roster) -> None:
    for at in (NIGHT, FRIDAY_10):
        text = topic(roster, "gat", at)
        assert text.startswith("【值班中】全天有人值班")
        assert "—" not in text and "非工作时间" not in text and "留言" not in text
        assert text.count("110") == 1  # the description says it; the hours no longer repeat it
    english = topic(roster, "gat", NIGHT, "en")
    assert "around the clock" in english and "leave a message" not in english
    assert "  " not in english


def test_office_hours_departments_say_until_when_and_when_they_open(roster: Roster) -> None:
    assert topic(roster, "fgw", FRIDAY_10).startswith("【值班中】工作人员在线，私信即可咨询（本时段至 12:00）")
    night = topic(roster, "fgw", NIGHT)
    assert night.startswith("【休息中】下次开放：08:30") and "非工作时间可留言" in night
    assert "  " not in topic(roster, "fgw", NIGHT, "en")


def test_officers_rooms_of_a_city_carry_the_city(roster: Roster) -> None:
    from types import SimpleNamespace

    from bots.officers.rooms import room_name

    ctx = SimpleNamespace(roster=roster)
    assert room_name(ctx, roster.departments["gat"]) == roster.departments["gat"].short_name
    assert room_name(ctx, roster.departments["hzgaj"]) == "杭州市公安局"  # not 「市公安局」
