"""The notices bot's pure parts: working-time deadlines, recipients and rights, Markdown, the
notice file format, the export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bots.notices.cli import parse_file
from bots.notices.export import as_csv, as_xlsx
from bots.notices.render import to_html
from bots.notices.scope import ALL, RecipientError, resolve, sender_scope
from bots.notices.worktime import add_working, office_day, parse_deadline
from bridge.roster.loader import load_roster
from tests.conftest import DATA

SH = ZoneInfo("Asia/Shanghai")
OFFICE = office_day("08:30-17:30")
ROSTER = load_roster([DATA / "rosters" / "notices" / "departments.yaml"])


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_working_time_skips_nights_weekends_and_holidays() -> None:
    friday = at(2026, 11, 27, 16, 30)
    assert add_working(ROSTER, friday, 2, OFFICE) == at(2026, 11, 30, 9, 30)  # over the weekend
    assert add_working(ROSTER, at(2026, 11, 28, 12, 0), 1, OFFICE) == at(2026, 11, 30, 9, 30)
    assert add_working(ROSTER, at(2026, 11, 30, 9, 30), -2, OFFICE) == friday
    # 国庆: 1–7 October 2026 are holidays, so the next working hour is on the 8th.
    assert add_working(ROSTER, at(2026, 9, 30, 17, 0), 1, OFFICE) == at(2026, 10, 8, 9, 0)


def test_deadlines_in_working_days_hours_or_a_moment() -> None:
    now = at(2026, 11, 27, 10, 0)
    assert parse_deadline(ROSTER, "2个工作日", now, OFFICE) == at(2026, 12, 1, 10, 0)
    assert parse_deadline(ROSTER, "2d", now, OFFICE) == at(2026, 12, 1, 10, 0)
    assert parse_deadline(ROSTER, "4小时", now, OFFICE) == at(2026, 11, 27, 14, 0)
    assert parse_deadline(ROSTER, "2026-12-03 17:00", now, OFFICE) == at(2026, 12, 3, 17, 0)
    for bad in ("明天", "0d", "2026-11-01 17:00", ""):
        with pytest.raises(ValueError):
            parse_deadline(ROSTER, bad, now, OFFICE)


def test_recipients_within_the_senders_jurisdictions() -> None:
    zj = ["bgt", "fgw", "gat", "czt", "sjt", "tjj", "yjglt"]
    assert resolve(ROSTER, "全部", {ALL}) == zj + ["hzbgt", "hzfgw", "hzgaj", "hzczj", "hztjj"]
    assert resolve(ROSTER, "全部", {"hz"}) == ["hzbgt", "hzfgw", "hzgaj", "hzczj", "hztjj"]
    assert resolve(ROSTER, "浙江省", {"zj"}) == zj
    assert resolve(ROSTER, "直属机构", {ALL}) == ["tjj", "hztjj"]
    assert resolve(ROSTER, "直属机构@hz", {ALL}) == ["hztjj"]
    assert resolve(ROSTER, "gat，fgw gat", {"zj"}) == ["fgw", "gat"]  # roster order, once each
    for spec, scope, error in (("浙江省", {"hz"}, "scope:浙江省"), ("fgw", {"hz"}, "scope:fgw"),
                               ("nope", {ALL}, "unknown:nope"), ("直属机构@xx", {ALL}, "unknown:xx")):
        with pytest.raises(RecipientError, match=error):
            resolve(ROSTER, spec, scope)


def test_who_is_a_sender() -> None:
    config = {"admins": ["@admin:x"], "notices.senders": ["@all:x", {"mxid": "@hz:x", "jurisdiction": "hz"}],
              "notices.sender_departments": ["bgt"]}
    cfg = type("C", (), {"__getitem__": lambda self, k: config[k],
                         "get": lambda self, k, d=None: config.get(k, d)})()
    assert sender_scope(cfg, ROSTER, "@admin:x") == {ALL}
    assert sender_scope(cfg, ROSTER, "@all:x") == {ALL}
    assert sender_scope(cfg, ROSTER, "@hz:x") == {"hz"}
    assert sender_scope(cfg, ROSTER, "@citizen:x") == set()


def test_markdown_is_rendered_and_cut_to_matrix_html() -> None:
    html = to_html("**会议** <script>alert(1)</script> [链接](javascript:alert(1)) <img src=x onerror=y>\n\n"
                   "| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<strong>会议</strong>" in html and "<table>" in html
    assert "script" not in html and "javascript" not in html and "onerror" not in html


def test_a_notice_file_is_checked_before_it_is_stored(tmp_path: Path) -> None:
    good = tmp_path / "n.md"
    (tmp_path / "议程.txt").write_text("议程", encoding="utf-8")
    good.write_text('---\nkind: 会议通知\ntitle: 标题\nsender: "@a:x"\nrecipients: [fgw, gat]\n'
                    "deadline: 2d\nattachments: [议程.txt]\n---\n正文\n", encoding="utf-8")
    payload = parse_file(good)
    assert payload["kind"] == "meeting" and payload["recipients"] == "fgw gat"
    assert payload["body"] == "正文" and payload["attachments"][0]["name"] == "议程.txt"
    bad = tmp_path / "bad.md"
    bad.write_text("---\nkind: 通知\ntitle: x\ncolour: red\nattachments: [missing.pdf]\n---\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        parse_file(bad)
    for part in ("'sender' is missing", "kind must be one of", "body", "unknown keys: colour",
                 "missing.pdf not found"):
        assert part in str(e.value)


def test_exports_open_in_their_readers() -> None:
    table = [["编号", "部门"], ["TZ-0001", "省发展改革委"]]
    rows = list(csv.reader(io.StringIO(as_csv(table).decode("utf-8-sig"))))
    assert rows == table
    sheet = load_workbook(io.BytesIO(as_xlsx(table, "TZ-0001"))).active
    assert [[c.value for c in r] for r in sheet.iter_rows()] == table
