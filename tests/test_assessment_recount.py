"""The report's figures equal an independent recount from the raw case log (hypothesis), on
SQLite and PostgreSQL.

The history is written as raw rows (consult_case, consult_log, mailbox_letter), the way the bots
leave them; the recount reads those rows back in Python and measures working time by overlapping
each day's hours with the interval, not through the cumulative table the SQL uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mautrix.util.async_db import Database

from bots.assessment.figures import LOG_REMINDERS, Figures, compute
from bots.assessment.periods import parse_period
from bots.assessment.settings import AssessSettings
from bots.consultation.db import ConsultationTables
from bots.consultation.upgrade import upgrade_table as consult_upgrade
from bots.mailbox.upgrade import make_upgrade_table
from bridge.roster.loader import load_roster

ROSTER = load_roster([Path(__file__).parent / "data" / "rosters" / "assess" / "roster.yaml"])
ZONE = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 9, tzinfo=ZONE)  # a Monday; the period is 16–29 November
PERIOD = parse_period("2026-11-16..2026-11-29")
DEPTS = sorted(ROSTER.departments)
SETTINGS = AssessSettings(claim_within_minutes=15, followup_working_hours=2,
                          close_within_working_hours=8)
MIN = 60_000


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def working_between(dept_id: str, a: int, b: int) -> int:
    """Working milliseconds in [a, b): each day's hours overlapped with the interval."""
    hours = ROSTER.hours[ROSTER.departments[dept_id].hours]
    total = 0
    day = datetime.fromtimestamp(a / 1000, ZONE).date() - timedelta(days=1)
    last = datetime.fromtimestamp(b / 1000, ZONE).date()
    while day <= last:
        midnight = ms(datetime.combine(day, time(), tzinfo=ZONE))
        for p in hours.periods(ROSTER.is_working_day(day)):
            lo, hi = max(a, midnight + p.start * 1000), min(b, midnight + p.end * 1000)
            total += max(0, hi - lo)
        day += timedelta(days=1)
    return total


delays = st.one_of(st.none(), st.integers(0, 5 * 24 * 60))
case_strategy = st.fixed_dictionaries({
    "dept": st.sampled_from(DEPTS),
    "opened": st.integers(0, 24 * 24 * 60),  # minutes after BASE
    "leave": st.booleans(),
    "claim": delays, "reply": delays, "close": delays,
    "rating": st.one_of(st.none(), st.integers(1, 5)),
    "reminders": st.lists(st.sampled_from(LOG_REMINDERS), max_size=3, unique=True),
    "email_offered": st.booleans(), "emailed": st.booleans(),
    "bad_then_reopen": st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(-60, 600))),
    "transfer_to": st.one_of(st.none(), st.sampled_from(DEPTS)),
})
letter_strategy = st.fixed_dictionaries({
    "to": st.sampled_from([*DEPTS, "nobody"]),
    "created": st.integers(0, 24 * 24 * 60),
    "deadline_days": st.integers(0, 10),
    "replied": st.one_of(st.none(), st.integers(0, 15 * 24 * 60)),
})


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    consult = Database.create(database_url, upgrade_table=consult_upgrade)
    mailbox = Database.create(database_url, upgrade_table=make_upgrade_table("mailbox"))
    await consult.start()
    await mailbox.start()
    await mailbox.stop()
    try:
        yield consult
    finally:
        await consult.stop()


async def write_history(db: Database, cases: list[dict], letters: list[dict]) -> list[dict]:
    for table in ("consult_case", "consult_log", "mailbox_letter"):
        await db.execute(f"DELETE FROM {table}")
    rows = []
    tables = ConsultationTables(db)
    for i, c in enumerate(cases):
        opened = ms(BASE) + c["opened"] * MIN
        claim = opened + c["claim"] * MIN if c["claim"] is not None else None
        reply = opened + c["reply"] * MIN if c["reply"] is not None else None
        closed = opened + c["close"] * MIN if c["close"] is not None else None
        status = "closed" if closed else ("claimed" if claim or reply else "open")
        rating = c["rating"] if closed else None
        dept = c["transfer_to"] or c["dept"]
        await db.execute(
            "INSERT INTO consult_case (id, ref, dept_id, citizen, dm_room, officers_room,"
            " opened_by_event, status, opened_at, first_reply_at, closed_at, rating, leave_message)"
            " VALUES ($1, $2, $3, '@c:x', '!dm', '!o', $4, $5, $6, $7, $8, $9, $10)",
            i + 1, f"R{i}", dept, f"$open{i}", status, opened, reply, closed, rating, c["leave"])
        log = [("opened", opened, None)]
        if claim is not None:
            log.append(("claimed", claim, None))
        for j, kind in enumerate(c["reminders"]):
            log.append((kind, opened + (j + 1) * 10 * MIN, None))
        if c["email_offered"]:
            log.append(("email_offered", opened + 30 * MIN, None))
        if c["emailed"]:
            log.append(("emailed", opened + 40 * MIN, "x@y"))
        if closed is not None:
            log.append(("closed", closed, None))
            if rating is not None:
                log.append(("rated", closed + MIN, str(rating)))
        if c["bad_then_reopen"] is not None:
            level, after = c["bad_then_reopen"]
            log.append(("rated", opened + 100 * MIN, str(level)))
            log.append(("reopened", opened + (100 + after) * MIN, None))
            log.append(("closed", opened + 99 * MIN, None))
        if c["transfer_to"] is not None:
            log.append(("transferred", opened + 5 * MIN, f"{c['dept']}->{c['transfer_to']}: 请处理"))
        for j, (kind, at, detail) in enumerate(log):  # as the consultation bot logs them
            await tables.log(f"$e{i}-{j}", i + 1, kind, at, detail=detail)
        rows.append({"dept": dept, "opened": opened, "claim": claim, "reply": reply,
                     "closed": closed, "status": status, "rating": rating, "leave": c["leave"],
                     "log": log})
    for i, letter in enumerate(letters):
        created = ms(BASE) + letter["created"] * MIN
        deadline = (datetime.fromtimestamp(created / 1000, ZONE).date()
                    + timedelta(days=letter["deadline_days"]))
        replied = created + letter["replied"] * MIN if letter["replied"] is not None else None
        address = (ROSTER.departments[letter["to"]].email if letter["to"] in ROSTER.departments
                   else "someone@else")
        await db.execute(
            "INSERT INTO mailbox_letter (number, created_by, kind, citizen, room_id, recipient,"
            " to_address, subject, status, created_at, deadline, replied_at)"
            " VALUES ($1, $2, 'department', '@c:x', '!r', 'x', $3, 's', 'accepted', $4, $5, $6)",
            f"BM-{i}", f"$l{i}", address, created, deadline.isoformat(), replied)
    return rows


def recount(rows: list[dict], letters: list[dict], dept_ids: set[str], asof: int) -> Figures:
    """The figures of the cases of `dept_ids`, straight from the definitions in docs/assessment.md."""
    start, end = (ms(x) for x in PERIOD.bounds(ZONE))
    f = Figures(None, None)
    claim, fu = SETTINGS.claim_within_minutes * MIN, SETTINGS.followup_working_hours * 60 * MIN
    close_limit = SETTINGS.close_within_working_hours * 60 * MIN
    waits = []
    for r in rows:
        if r["dept"] not in dept_ids or not start <= r["opened"] < end:
            continue
        f.cases += 1
        f.leave_messages += r["leave"]
        responses = [t for t in (r["claim"], r["reply"]) if t is not None]
        wait = working_between(r["dept"], r["opened"], min(responses)) if responses else None
        passed = working_between(r["dept"], r["opened"], asof) if asof > r["opened"] else 0
        if wait is not None or passed > claim:
            f.claim_due += 1
        if wait is not None and wait <= claim:
            f.claim_on_time += 1
        if wait is not None:
            f.responded += 1
            waits.append(wait / MIN)
        if r["leave"] and (wait is not None or passed > fu):
            f.followup_due += 1
        if r["leave"] and wait is not None and wait <= fu:
            f.followup_on_time += 1
        kinds = [k for k, _, _ in r["log"]]
        n = sum(k in LOG_REMINDERS for k in kinds)
        f.reminders += n
        f.reminded_cases += n > 0
        f.email_offered += "email_offered" in kinds
        f.emailed += "emailed" in kinds
        if r["status"] == "closed":
            f.closed += 1
            f.closed_on_time += working_between(r["dept"], r["opened"], r["closed"]) <= close_limit
        f.closed_ever += "closed" in kinds
        bad = [at for k, at, d in r["log"] if k == "rated" and int(d) <= SETTINGS.bad_rating_max]
        f.reworked += bool(bad)  # a bad rating reopens the case (officer_side.rated)
        if r["rating"] is not None:
            f.rated += 1
            f.satisfied += r["rating"] >= SETTINGS.satisfied_min_level
    if waits:
        f.first_response_median = float(numpy.percentile(waits, 50))
        f.first_response_p90 = float(numpy.percentile(waits, 90))
    for r in rows:
        for k, at, d in r["log"]:
            if k == "transferred" and start <= at < end:
                src, dst = d.split(": ")[0].split("->")
                f.transfers_out += src in dept_ids
                f.transfers_in += dst in dept_ids
    emails = {ROSTER.departments[d].email for d in dept_ids}
    for letter in letters:
        if letter["address"] in emails and start <= letter["created"] < end:
            f.letters += 1
            due = ms(datetime.combine(letter["deadline"] + timedelta(days=1), time(), tzinfo=ZONE))
            if letter["replied"] is not None and letter["replied"] < due:
                f.letters_on_time += 1
            elif letter["replied"] is not None or asof >= due:
                f.letters_overdue += 1
    return f.finish(SETTINGS)


async def read_letters(db: Database) -> list[dict]:
    return [{"address": r["to_address"], "created": r["created_at"],
             "deadline": date.fromisoformat(r["deadline"]), "replied": r["replied_at"]}
            for r in await db.fetch("SELECT to_address, created_at, deadline, replied_at FROM mailbox_letter")]


def same(got: Figures, want: Figures) -> None:
    for name, value in want.as_dict().items():
        if name in ("dept_id", "jurisdiction", "name"):
            continue
        if isinstance(value, float):
            assert getattr(got, name) == pytest.approx(value, abs=1e-6), name
        else:
            assert getattr(got, name) == value, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(case_strategy, max_size=40), letters=st.lists(letter_strategy, max_size=10),
       asof_minutes=st.integers(10 * 24 * 60, 30 * 24 * 60))
async def test_report_equals_recount(db: Database, cases: list[dict], letters: list[dict],
                                     asof_minutes: int) -> None:
    rows = await write_history(db, cases, letters)
    asof = BASE + timedelta(minutes=asof_minutes)
    start, end = PERIOD.bounds(ZONE)
    report = await compute(db, ROSTER, SETTINGS, start, end, asof=asof)
    raw_letters = await read_letters(db)
    for fig in report.departments:
        same(fig, recount(rows, raw_letters, {fig.dept_id}, ms(asof)))
    for fig in report.jurisdictions:
        ids = {d for d in DEPTS if ROSTER.departments[d].jurisdiction == fig.jurisdiction}
        same(fig, recount(rows, raw_letters, ids, ms(asof)))
    same(report.province, recount(rows, raw_letters, set(DEPTS), ms(asof)))
    hz = await compute(db, ROSTER, SETTINGS, start, end, "hz", asof=asof)
    assert [f.dept_id for f in hz.departments] == ["hzfgw"]
    same(hz.province, recount(rows, raw_letters, {"hzfgw"}, ms(asof)))
