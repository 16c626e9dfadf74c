"""Validation behaviour beyond single errors: collection, cross-file duplicates, formatting."""

from __future__ import annotations

import pytest

from bridge.roster import Problem, RosterError, load_roster

from .base import BASE


def test_problem_and_error_format():
    p = Problem("a.yaml", 3, 5, "departments[0].email", "bad")
    assert str(p) == "a.yaml:3:5: departments[0].email: bad"
    err = RosterError([p, Problem("b.yaml", 1, 1, "x", "y")])
    assert str(err) == "a.yaml:3:5: departments[0].email: bad\nb.yaml:1:1: x: y"


def test_all_problems_are_collected(problems):
    found = problems("""
jurisdictions: [{id: zj, name: 浙江省}]
departments:
  - {id: fgw, name: 发改委, jurisdiction: zj, email: nope}
  - {id: jyt, name: "", jurisdiction: zz, email: jyt@example.org, colour: red}
working_hours:
  default: {workdays: ["08:30-12:00", "09:00-25:00"]}
officers:
  - {mxid: "@A:x", alias: 01, departments: [fgw]}
""")
    fields = [p.split(": ")[1] for p in found]
    assert fields == ["departments[0].email", "departments[1].name",
                      "departments[1].jurisdiction", "departments[1].colour",
                      "working_hours.default.workdays[1]", "officers[0].mxid", "officers[0].alias"]


def test_duplicate_keys_are_all_reported(problems):
    found = problems("a: 1\nexample_data: true\nexample_data: false\ntimezone: UTC\n"
                     "timezone: UTC\n")
    assert [p.split(": ")[0][-3:] for p in found] == ["1:1", "3:1", "5:1"]
    assert "duplicate key 'example_data' (first at line 2)" in found[1]


def test_duplicate_ids_across_files_name_both_places(write):
    a, b = write(BASE, """
jurisdictions: [{id: zj, name: 又一个}]
departments:
  - {id: gat, name: 重复, jurisdiction: zj, email: x@example.org}
officers:
  - {mxid: "@c:example.org", alias: 值班员 09, departments: [gat]}
working_hours:
  default: {every_day: ["00:00-24:00"]}
""")
    with pytest.raises(RosterError) as info:
        load_roster([a, b])
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{b}:1:22: jurisdictions[0].id: duplicate jurisdiction id 'zj' "
                               f"(first defined at {a}:2:10)")
    assert lines[1].startswith(f"{b}:3:10: departments[0].id: duplicate department id 'gat'")
    assert f"first defined at {a}:5:10" in lines[1]
    assert lines[2].startswith(f"{b}:5:12: officers[0].mxid: duplicate officer @c:example.org")


def test_conflicting_timezones_across_files(problems):
    found = problems("timezone: Asia/Shanghai\n", "timezone: Asia/Tokyo\n")
    assert len(found) == 1 and "conflicts with 'Asia/Shanghai'" in found[0]


def test_hours_assigned_twice(problems):
    found = problems(BASE, """
working_hours:
  a: {every_day: ["00:00-24:00"], departments: [gat]}
  b: {every_day: ["00:00-24:00"], departments: [gat, nope]}
""")
    assert len(found) == 2
    assert "working_hours.b.departments[0]: department 'gat' already uses working_hours 'a'" \
        in found[0]
    assert "unknown department 'nope'" in found[1]


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(RosterError, match="no roster files"):
        load_roster([])
    with pytest.raises(RosterError, match="cannot read roster file"):
        load_roster([tmp_path / "missing.yaml"])


def test_empty_files_and_sections_are_fine(write):
    r = load_roster(write("", "# only a comment\n", "departments:\nofficers: []\n"))
    assert r.departments == {} and r.officers == {}


@pytest.mark.parametrize("mxid", ["@d:example.org", "@a.b_c=d-e/f+g:matrix.example.org:8448",
                                  "@x:[::1]:8448", "@x:localhost"])
def test_valid_matrix_ids(roster, mxid):
    r = roster(f'officers: [{{mxid: "{mxid}", alias: 值班员 99, departments: [wlt]}}]')
    assert r.officer(mxid) is not None


@pytest.mark.parametrize("mxid", ["a:example.org", "@:example.org", "@a", "@a b:example.org",
                                  "@a:exa mple.org", "@A:example.org", "@a:-bad.org"])
def test_invalid_matrix_ids(problems, mxid):
    found = problems(BASE, f'officers: [{{mxid: "{mxid}", alias: 值班员 99, departments: [wlt]}}]')
    assert len(found) == 1 and "is not a Matrix user ID" in found[0]


def test_shift_time_may_cross_midnight_but_hours_may_not(problems):
    assert problems(BASE, "shifts: [{department: gat, time: '22:00-06:00', "
                          "officers: ['@c:example.org']}]") == []
    found = problems(BASE, "working_hours: {night: {every_day: ['22:00-06:00']}}")
    assert len(found) == 1 and "cannot cross midnight" in found[0]


def test_a_broken_entry_does_not_cascade_into_its_references(problems):
    found = problems("""
jurisdictions: [{id: zj, name: ""}]
departments:
  - {id: fgw, name: 发改委, jurisdiction: zj, email: nope, hours: late}
officers:
  - {mxid: "@a:example.org", alias: "", departments: [fgw]}
working_hours:
  late: {workdays: 17}
shifts:
  - {department: fgw, officers: ["@a:example.org"]}
""")
    assert [p.split(": ")[1] for p in found] == [
        "jurisdictions[0].name", "departments[0].email", "officers[0].alias",
        "working_hours.late.workdays"]


def test_a_broken_shift_still_has_its_references_checked(problems):
    found = problems(BASE, """
shifts:
  - {department: gat, time: "25:00-06:00", officers: ["@zz:example.org", "@a:example.org"]}
  - {department: fgw, rotation: {anchor: 2026-01-05, every: 2 weeks,
     groups: [["@c:example.org"], "@b:example.org"]}}
""")
    assert [p.split(": ")[1] for p in found] == [
        "shifts[0].time", "shifts[0].officers[0]", "shifts[1].rotation.groups[0][0]"]
    assert "'25:00' is not a time of day" in found[0]
    assert "unknown officer '@zz:example.org'" in found[1]
    assert "@c:example.org is not an officer of department 'fgw'" in found[2]


def test_a_department_avatar_must_be_a_small_image_beside_the_roster(problems, tmp_path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    (tmp_path / "notes.txt").write_text("not an image")
    found = problems("""
jurisdictions: [{id: zj, name: 浙江省}]
departments:
  - {id: fgw, name: 发改委, jurisdiction: zj, email: fgw@example.org, avatar: logo.png}
  - {id: gat, name: 公安厅, jurisdiction: zj, email: gat@example.org, avatar: missing.png}
  - {id: czt, name: 财政厅, jurisdiction: zj, email: czt@example.org, avatar: notes.txt}
""")
    assert [p.split(": ", 2)[1] for p in found] == ["departments[1].avatar",
                                                    "departments[2].avatar"]
    assert "cannot read image 'missing.png'" in found[0]
    assert "'notes.txt' is not a PNG or JPEG image" in found[1]
