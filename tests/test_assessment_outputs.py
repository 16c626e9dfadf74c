"""What people get from the figures: the CLI in every format, the chart PNG with real CJK glyphs
(not boxes), and an xlsx that opens with its Chinese text. No homeserver needed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from mautrix.util.async_db import Database
from openpyxl import load_workbook
from PIL import Image

from bots.assessment import render
from bots.assessment.figures import compute
from bots.assessment.periods import PeriodError, parse_period
from bridge.avatars import find_font

from .test_assessment_recount import BASE, PERIOD, ROSTER, SETTINGS, ZONE, write_history
from .test_assessment_recount import db as db  # noqa: F401 - the fixture

ROOT = Path(__file__).parent.parent
CASES = [
    {"dept": "fgw", "opened": 7 * 24 * 60 + 9 * 60, "leave": False, "claim": 5, "reply": 8,
     "close": 60, "rating": 5, "reminders": [], "email_offered": False, "emailed": False,
     "bad_then_reopen": None, "transfer_to": None},
    {"dept": "gat", "opened": 8 * 24 * 60 + 23 * 60, "leave": True, "claim": None, "reply": 40,
     "close": 90, "rating": 2, "reminders": ["reminded"], "email_offered": False, "emailed": False,
     "bad_then_reopen": (1, 10), "transfer_to": "wlt"},
]


def test_periods() -> None:
    assert parse_period("2026-11").previous().label == "2026-10"
    w = parse_period("2026-W47")
    assert (w.first.isoformat(), w.end.isoformat(), w.previous().label) == ("2026-11-16", "2026-11-23", "2026-W46")
    assert parse_period("2026-Q4").previous().label == "2026-Q3"
    assert parse_period("2026-Q1").previous().label == "2025-Q4"
    assert parse_period("2026").end.isoformat() == "2027-01-01"
    assert parse_period("2026-11-27").previous().label == "2026-11-26"
    r = parse_period("2026-11-01..2026-11-15")
    assert (r.end.isoformat(), r.previous().label) == ("2026-11-16", "2026-10-17..2026-10-31")
    for bad in ("2026-13", "november", "2026-11-15..2026-11-01", "2026-W60"):
        with pytest.raises(PeriodError):
            parse_period(bad)


async def report(db: Database):  # type: ignore[no-untyped-def]
    await write_history(db, CASES, [])
    start, end = PERIOD.bounds(ZONE)
    return await compute(db, ROSTER, SETTINGS, start, end, asof=BASE + timedelta(days=25))


def _missing_glyph_warnings(png_maker) -> tuple[bytes, list[str]]:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = png_maker()
    return data, [str(w.message) for w in caught if "missing from font" in str(w.message)]


async def test_chart_renders_cjk_and_xlsx_opens(db: Database) -> None:  # noqa: F811
    font = find_font()
    assert font, "scripts/cjk-font installs fonts-wqy-microhei"
    rep = await report(db)
    png, missing = _missing_glyph_warnings(lambda: render.chart_png(rep, "考核 2026-W47（全省）", font))
    assert missing == []
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 800
    # Without the CJK font matplotlib draws the same labels as boxes, and says so: the check above
    # would have caught it.
    _, boxed = _missing_glyph_warnings(lambda: render.chart_png(rep, "考核", None))
    assert boxed
    # The font really has glyphs for the labels (no .notdef).
    from fontTools.ttLib import TTCollection
    cmap = TTCollection(font).fonts[0].getBestCmap()
    assert all(ord(ch) in cmap for ch in "首次响应时间中位数满意率省发展改革委浙江公安厅")
    book = load_workbook(io.BytesIO(render.to_xlsx(rep, "考核 2026-W47")))
    sheet = book["考核"]
    assert sheet["A1"].value == "考核 2026-W47"
    assert sheet["C2"].value == "部门/地区" and sheet["F2"].value == "按时签收率"
    names = [sheet.cell(row=r, column=3).value for r in range(3, sheet.max_row + 1)]
    assert "浙江省发展和改革委员会" in names and names[-1] == "全省"
    csv_text = render.to_csv(rep).decode("utf-8-sig")
    assert "按时签收率" in csv_text and "浙江省文化和旅游厅" in csv_text
    assert "@c:x" not in csv_text and "@c:x" not in render.to_json(rep)  # figures, never people


async def test_cli(db: Database, database_url: str, tmp_path: Path) -> None:  # noqa: F811
    await write_history(db, CASES, [])
    config = tmp_path / "config.yaml"
    config.write_text(
        f"appservice:\n    database: {database_url}\n"
        f"rosters:\n    paths: ['{ROOT / 'tests/data/rosters/assess/roster.yaml'}']\n", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bridge", "report", "-c", str(config), *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    out = run("--period", PERIOD.label, "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    fgw = next(d for d in data["departments"] if d["dept_id"] == "fgw")
    assert (fgw["cases"], fgw["claim_on_time"], fgw["satisfaction"]) == (1, 1, 1.0)
    wlt = next(d for d in data["departments"] if d["dept_id"] == "wlt")
    assert (wlt["cases"], wlt["leave_messages"], wlt["transfers_in"], wlt["reworked"]) == (1, 1, 1, 1)
    table = run("--period", PERIOD.label, "--jurisdiction", "zj")
    assert table.returncode == 0 and "按时签收率" in table.stdout and "省发展" not in table.stdout[:0]
    assert "杭州市发展和改革委员会" not in table.stdout
    xlsx = tmp_path / "r.xlsx"
    assert run("--period", "2026-11", "--format", "xlsx", "-o", str(xlsx)).returncode == 0
    assert load_workbook(xlsx)["考核"]["A1"].value.startswith("考核 2026-11")
    bad = run("--period", "2026-13")
    assert bad.returncode == 2 and "2026-W47" in bad.stderr
    unknown = run("--period", "2026-11", "--department", "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr


async def test_upgrade_fills_in_old_cases(database_url: str) -> None:
    """Cases logged before consultation v5 get their first claim, close, bad rating, e-mail
    fallback and reminder count from their log, so old months stay computable."""
    from mautrix.util.async_db import UpgradeTable

    from bots.consultation.upgrade import upgrade_table

    old = UpgradeTable(version_table_name="consultation_version", database_name="consultations")
    old.upgrades = upgrade_table.upgrades[:4]
    db = Database.create(database_url, upgrade_table=old)
    await db.start()
    await db.execute("INSERT INTO consult_case (id, ref, dept_id, citizen, dm_room, officers_room,"
                     " opened_by_event, status, opened_at) VALUES (1, 'R', 'fgw', '@c:x', '!d', '!o', '$o', 'open', 100)")
    for i, (kind, at_ms, detail) in enumerate([("claimed", 300, None), ("claimed", 200, None),
                                                ("reminded", 150, None), ("escalated", 160, None),
                                                ("rated", 500, "5"), ("rated", 700, "1"), ("closed", 400, None),
                                                ("emailed", 180, "x@y"), ("officer_reply", 210, None)]):
        await db.execute("INSERT INTO consult_log (event_id, case_id, kind, at, detail) VALUES ($1, 1, $2, $3, $4)",
                         f"$e{i}", kind, at_ms, detail)
    await db.stop()
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        row = await db.fetchrow("SELECT claimed_at, first_closed_at, bad_rated_at, emailed_at,"
                                " email_offered_at, reminders FROM consult_case WHERE id = 1")
        assert [row[k] for k in ("claimed_at", "first_closed_at", "bad_rated_at", "emailed_at",
                                 "email_offered_at", "reminders")] == [200, 400, 700, 180, None, 2]
    finally:
        await db.stop()


async def test_upgrade_gives_reopened_cases_their_latest_rating(database_url: str) -> None:
    """Consultation v7: a case whose rating a reopening cleared gets its latest logged rating
    back; a case closed again after its rating awaits a new one (rated_at cleared). v8: a case
    open again after a bad rating has its attention clock stopped. v9: a leave-message's round is
    its follow-up's."""
    from mautrix.util.async_db import UpgradeTable

    from bots.consultation.upgrade import upgrade_table

    old = UpgradeTable(version_table_name="consultation_version", database_name="consultations")
    old.upgrades = upgrade_table.upgrades[:6]
    db = Database.create(database_url, upgrade_table=old)
    await db.start()
    cases = [(1, "open", None, None, None), (2, "closed", 900, 1, 800), (3, "closed", 900, 4, 950),
             (4, "closed", 900, None, None)]
    for case_id, status, closed_at, rating, rated_at in cases:
        await db.execute("INSERT INTO consult_case (id, ref, dept_id, citizen, dm_room, officers_room,"
                         " opened_by_event, status, opened_at, closed_at, rating, rated_at)"
                         " VALUES ($1, $2, 'fgw', '@c:x', $3, '!o', $4, $5, 100, $6, $7, $8)",
                         case_id, f"R{case_id}", f"!d{case_id}", f"$o{case_id}", status, closed_at,
                         rating, rated_at)
    for i, (case_id, at_ms, detail) in enumerate([(1, 500, "5"), (1, 300, "2"), (2, 800, "1"), (3, 950, "4")]):
        await db.execute("INSERT INTO consult_log (event_id, case_id, kind, at, detail)"
                         " VALUES ($1, $2, 'rated', $3, $4)", f"$r{i}", case_id, at_ms, detail)
    await db.execute("INSERT INTO consult_case (id, ref, dept_id, citizen, dm_room, officers_room,"
                     " opened_by_event, status, opened_at, rating, attention_since, bad_rated_at)"
                     " VALUES (5, 'R5', 'fgw', '@c:x', '!d5', '!o', '$o5', 'open', 100, 2, 100, 700)")
    await db.execute("UPDATE consult_case SET leave_message = true WHERE id = 4")
    await db.stop()
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        rows = await db.fetch("SELECT id, rating, rated_at FROM consult_case ORDER BY id")
        assert [(r["id"], r["rating"], r["rated_at"]) for r in rows] == [
            (1, 5, 500),  # reopened after its rating of 5: counted again
            (2, 1, None),  # a bad rating's rework closed again: the next number is the new rating
            (3, 4, 950),  # rated after its close: as it was
            (4, None, None),  # closed, never rated
            (5, 2, None)]
        assert await db.fetchval("SELECT attention_since FROM consult_case WHERE id = 5") is None
        # v9: a leave-message stays on the ladder it is on (the follow-up of its round 0).
        held = await db.fetch("SELECT id, held_round FROM consult_case ORDER BY id")
        assert [(r["id"], r["held_round"]) for r in held] == [(1, None), (2, None), (3, None), (4, 0), (5, None)]
    finally:
        await db.stop()


def test_bulletin_schedule() -> None:
    """Due at the configured time on the first working day at or after the weekday / day."""
    from datetime import date, datetime

    from bots.assessment.schedule import due

    def when(day: int, hour: int, minute: int = 0, holidays: tuple[date, ...] = ()):  # type: ignore[no-untyped-def]
        def working(d: date) -> bool:
            return d.weekday() < 5 and d not in holidays

        at = datetime(2026, 11, day, hour, minute, tzinfo=ZONE)
        return [(k, p.label) for k, p in due(at, working, weekly_weekday=1, weekly_time="09:00",
                                             monthly_day=1, monthly_time="09:30")]

    assert when(23, 8, 59) == [("monthly", "2026-10")]  # 1 November was a Sunday: due Monday 2nd
    assert when(23, 9) == [("weekly", "2026-W47"), ("monthly", "2026-10")]
    assert when(1, 10) == [("weekly", "2026-W43")]  # Sunday 1 November: the month waits for Monday
    holiday = (date(2026, 11, 23),)
    assert when(23, 10, holidays=holiday) == [("monthly", "2026-10")]  # a holiday Monday: Tuesday
    assert when(24, 9, holidays=holiday)[0] == ("weekly", "2026-W47")
