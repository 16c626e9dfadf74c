"""The one door through which the site reads the public figures (the assessment, issue #15).

Everything else in the site (pages, chart, CSV, JSON) reads a `FiguresTable` and never asks how
its rows were computed; `last_month_figures` takes them from the assessment's `compute`, and a
rate whose denominator is 0 is None (shown as 暂无数据 / "no data").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from bots.assessment.figures import Figures, compute
from bots.assessment.settings import AssessSettings
from bridge.roster import Roster

FIELDS = ("cases", "claim_on_time_rate", "first_response_median_minutes", "followup_rate",
          "satisfaction_rate")
RATES = ("claim_on_time_rate", "followup_rate", "satisfaction_rate")


@dataclass(frozen=True)
class FiguresRow:
    # A department's row has dept_id and its jurisdiction; a jurisdiction's row dept_id None.
    dept_id: str | None
    jurisdiction: str
    cases: int | None = None
    claim_on_time_rate: float | None = None  # 0..1
    first_response_median_minutes: float | None = None
    followup_rate: float | None = None  # 0..1
    satisfaction_rate: float | None = None  # 0..1


@dataclass(frozen=True)
class FiguresTable:
    month: date  # the first day of the month the figures cover
    departments: list[FiguresRow] = field(default_factory=list)
    jurisdictions: list[FiguresRow] = field(default_factory=list)


def last_full_month(roster: Roster, now: datetime) -> tuple[date, datetime, datetime]:
    """(first day, start, end) of the last complete calendar month in the roster's time zone."""
    local = now.astimezone(roster.timezone).date()
    end_day = local.replace(day=1)
    start_day = (end_day.replace(year=end_day.year - 1, month=12) if end_day.month == 1
                 else end_day.replace(month=end_day.month - 1))
    zone = roster.timezone
    return (start_day, datetime.combine(start_day, time(), tzinfo=zone),
            datetime.combine(end_day, time(), tzinfo=zone))


async def last_month_figures(ctx: Any, now: datetime) -> FiguresTable:
    """Rows for every department and jurisdiction of the roster in force (`ctx`: the bot's
    context: `.roster`, `.db`, `.config`), from the assessment's one computation of the figures
    (bots/assessment/figures.py), so the site publishes exactly what the administrators' room,
    the bulletins and the CLI report. Rates are None where their denominator is 0."""
    roster: Roster = ctx.roster
    month, start, end = last_full_month(roster, now)
    if not await ctx.db.table_exists("consult_case"):
        return _empty(roster, month)
    report = await compute(ctx.db, roster, AssessSettings.from_config(ctx.config), start, end,
                           asof=now)
    departments = [_row(f) for f in report.departments]
    by_id = {f.jurisdiction: f for f in report.jurisdictions}
    jurisdictions = [_row(by_id[j.id]) if j.id in by_id else FiguresRow(None, j.id, cases=0)
                     for j in sorted(roster.jurisdictions.values(), key=lambda j: j.order)]
    return FiguresTable(month, departments, jurisdictions)


def _row(f: Figures) -> FiguresRow:
    return FiguresRow(f.dept_id, f.jurisdiction or "", cases=f.cases, claim_on_time_rate=f.claim_rate,
                      first_response_median_minutes=f.first_response_median,
                      followup_rate=f.followup_rate, satisfaction_rate=f.satisfaction)


def _empty(roster: Roster, month: date) -> FiguresTable:
    departments = [FiguresRow(d.id, d.jurisdiction, cases=0)
                   for d in sorted(roster.departments.values(), key=lambda d: d.order)]
    jurisdictions = [FiguresRow(None, j.id, cases=0)
                     for j in sorted(roster.jurisdictions.values(), key=lambda j: j.order)]
    return FiguresTable(month, departments, jurisdictions)
