"""Jurisdictions as a tree with their own settings (issue #18), and the example's 11 cities."""

from __future__ import annotations

import glob
import time
from pathlib import Path

from bridge.roster import load_roster

ROOT = Path(__file__).resolve().parents[2]
CITIES = ("hz", "nb", "wz", "jx", "huz", "sx", "jh", "qz", "zs", "tz", "ls")
# Every city has at least these, by the suffix of the department's id.
REQUIRED = {"fgw": "发展和改革委员会", "gaj": "公安局", "jyj": "教育局", "rsj": "人力资源和社会保障局",
            "scjgj": "市场监督管理局", "zjj": "建", "rx": "12345"}

TREE = """
jurisdictions:
  - {id: hz, name: 杭州市, hours: short, supervisors: ["@boss:example.org"],
     supervision_name: 杭州市督查室, supervision_email: dc@mail.example.gov.cn,
     admins: ["@hzadmin:example.org"]}
  - {id: xh, name: 西湖区, parent: hz, topic: 区级部门}
working_hours:
  short: {workdays: ["09:00-11:00"]}
departments:
  - {id: hzfgw, name: 杭州市发改委, jurisdiction: hz, email: a@mail.example.gov.cn}
  - {id: xhjyj, name: 西湖区教育局, jurisdiction: xh, email: b@mail.example.gov.cn,
     supervisors: ["@own:example.org"]}
  - {id: xhrx, name: 西湖区热线, jurisdiction: xh, email: c@mail.example.gov.cn, hours: default}
"""


def test_parents_settings_and_inheritance(roster):
    r = roster(TREE)
    xh = r.jurisdictions["xh"]
    assert xh.parent == "hz" and xh.topic == "区级部门" and xh.space_name == "西湖区 · 网上值班室"
    assert r.jurisdictions["hz"].admins == ("@hzadmin:example.org",)
    assert r.jurisdiction_chain("xh") == ["xh", "hz"]
    assert r.jurisdiction_of("xhjyj") == "xh" and r.jurisdiction_of("hz") == "hz"
    assert r.jurisdiction_of("nowhere") is None
    # Hours and supervisors come down from the city unless the department names its own.
    assert r.departments["hzfgw"].hours == "short" and r.departments["xhjyj"].hours == "short"
    assert r.departments["xhrx"].hours == "default"
    assert r.departments["hzfgw"].supervisors == ("@boss:example.org",)
    assert r.departments["xhjyj"].supervisors == ("@own:example.org",)
    assert r.inherited("xh", "supervision_email") == "dc@mail.example.gov.cn"
    assert r.inherited("zj", "supervision_email") is None



def test_an_address_names_its_department_or_jurisdiction(roster):
    """What the administrators' bot routes a mail failure by: the office the mail went to."""
    r = roster(TREE)
    assert r.owner_of_address("B@Mail.Example.gov.cn ") == "xhjyj"
    assert r.owner_of_address("dc@mail.example.gov.cn") == "hz"  # the city's supervision office
    assert r.owner_of_address("someone@else.example") is None
    assert r.owner_of_address("") is None  # not the jurisdictions that set no address

def test_bad_parents_and_fields_are_reported(problems):
    found = problems("""
jurisdictions:
  - {id: aa, name: A, parent: bb}
  - {id: bb, name: B, parent: aa}
  - {id: cc, name: C, parent: nowhere, hours: nothing, supervision_email: nope, admins: [x]}
""")
    text = "\n".join(found)
    assert "is its own ancestor" in text
    assert "unknown jurisdiction 'nowhere'" in text
    assert "unknown working_hours 'nothing'" in text
    assert "jurisdictions[2].supervision_email" in text and "jurisdictions[2].admins[0]" in text


def test_the_example_has_eleven_cities_with_their_departments_mailboxes_and_offices():
    started = time.perf_counter()
    r = load_roster(sorted(glob.glob(str(ROOT / "rosters/example/*.yaml"))))
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"loading the full province took {elapsed:.2f} s"
    assert list(r.jurisdictions)[0] == "zj"  # the province's space first in the top space
    for city in CITIES:
        j = r.jurisdictions[city]
        assert j.parent is None and j.mailbox_name == f"{j.name}市长信箱"
        assert j.mailbox_email.endswith("@mail.example.gov.cn")
        assert j.supervision_email.endswith("@mail.example.gov.cn")
        for suffix, word in REQUIRED.items():
            dept = r.departments[city + suffix]
            assert dept.jurisdiction == city and word in dept.name and dept.name.startswith(j.name)
            assert dept.email == f"{dept.id}@mail.example.gov.cn" and dept.description
        assert r.departments[city + "rx"].hours == "hotline_12345"
    assert r.jurisdictions["hzxh"].parent == "hz"
    assert r.departments["wzfgw"].hours == "city_1330" and r.departments["hzfgw"].hours == "default"
    assert r.departments["zsjyj"].hours == "city_1430"
    assert len([d for d in r.departments.values() if d.jurisdiction == "zj"]) == 62
    assert len(r.departments) == 62 + 11 * 7 + 2


LOCAL_CALENDAR = """
jurisdictions:
  - {id: hz, name: 杭州市, holidays: ["2026-03-06"], workdays: ["2026-03-07"]}
  - {id: xh, name: 西湖区, parent: hz, workdays: ["2026-03-06"]}
  - {id: nb, name: 宁波市, holidays: ["2026-03-09..2026-03-10"]}
departments:
  - {id: hzfgw, name: 杭州市发改委, jurisdiction: hz, email: a@mail.example.gov.cn}
  - {id: xhjyj, name: 西湖区教育局, jurisdiction: xh, email: b@mail.example.gov.cn}
  - {id: nbfgw, name: 宁波市发改委, jurisdiction: nb, email: c@mail.example.gov.cn}
"""


def test_a_jurisdictions_own_rest_and_working_days(roster):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    r = roster(LOCAL_CALENDAR)
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # an ordinary Friday
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert r.is_working_time("fgw", friday)          # the province: an ordinary working day
    assert not r.is_working_time("hzfgw", friday)    # 杭州's own rest day
    assert r.is_working_time("xhjyj", friday)        # ... which 西湖区 works after all
    assert r.is_working_time("hzfgw", saturday) and r.is_working_time("xhjyj", saturday)
    assert not r.is_working_time("fgw", saturday)
    monday = datetime(2026, 3, 9, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert not r.is_working_time("nbfgw", monday) and r.is_working_time("hzfgw", monday)
    assert r.next_opening("nbfgw", monday).date().isoformat() == "2026-03-11"
    assert r.jurisdictions["nb"].holidays[-1].isoformat() == "2026-03-10"
