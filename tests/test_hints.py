"""The routing hint's matching on the example roster (no homeserver): character bigrams weighted
by rarity, everyday words, ties to the department asked and then to the province."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from bots.consultation.hints import better_elsewhere, bigrams, scores, suggest
from bridge.roster import Roster, load_roster

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(sorted(glob.glob(str(ROOT / "rosters/example/*.yaml"))))


def ids(found: list) -> list[str]:
    return [d.id for d in found]


def test_bigrams_of_chinese_runs_and_words() -> None:
    assert bigrams("户籍迁移 ok") == {"户籍", "籍迁", "迁移", "ok"}
    assert bigrams("。") == set()


def test_words_every_description_uses_weigh_nothing(roster: Roster) -> None:
    assert suggest(roster, "你好，我想咨询一下") == []
    assert max(scores(roster, "负责方面的咨询").values()) < 1.0


def test_a_city_name_and_a_subject_find_the_citys_department(roster: Roster) -> None:
    assert ids(suggest(roster, "我想问一下杭州的户口迁移怎么办理", near="fgw"))[0] == "hzgaj"
    assert ids(suggest(roster, "孩子在温州上小学转学需要什么材料", near="hzfgw"))[0] == "wzjyj"
    assert ids(suggest(roster, "宁波买的东西是假货，商家不给退款"))[0] == "nbscjgj"


def test_without_a_city_the_department_asked_then_the_province_come_first(roster: Roster) -> None:
    assert ids(suggest(roster, "社保断缴了怎么补缴"))[0] == "rlsbt"
    assert ids(suggest(roster, "社保断缴了怎么补缴", near="nbgaj"))[0] == "nbrsj"


def test_the_citizen_is_pointed_elsewhere_only_when_another_fits_clearly_better(roster) -> None:
    assert better_elsewhere(roster, "你好，我想咨询企业投资项目备案", "fgw") == []
    assert ids(better_elsewhere(roster, "我的身份证丢了怎么办", "fgw"))[0] == "gat"
