"""The one door through which the site reads the public figures (the assessment, issue #15).

Everything else in the site (pages, chart, CSV, JSON) reads a `FiguresTable` and never asks how
its rows were computed, so wiring the assessment module in replaces only `last_month_figures`.
Until then the cases are counted straight from `consult_case`, and the rates this simple count
cannot define honestly are None (shown as 暂无数据 / "no data").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

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
    context: `.roster` and `.db`)."""
    roster: Roster = ctx.roster
    month, start, end = last_full_month(roster, now)
    counts: dict[str, int] = {}
    if await ctx.db.table_exists("consult_case"):
        rows = await ctx.db.fetch(
            "SELECT dept_id, COUNT(*) AS n FROM consult_case"
            " WHERE opened_at >= $1 AND opened_at < $2 GROUP BY dept_id",
            int(start.timestamp() * 1000), int(end.timestamp() * 1000),
        )
        counts = {r["dept_id"]: int(r["n"]) for r in rows}
    departments = [
        FiguresRow(dept.id, dept.jurisdiction, cases=counts.get(dept.id, 0))
        for dept in sorted(roster.departments.values(), key=lambda d: d.order)
    ]
    jurisdictions = [
        FiguresRow(None, jur.id, cases=sum(r.cases or 0 for r in departments
                                            if r.jurisdiction == jur.id))
        for jur in sorted(roster.jurisdictions.values(), key=lambda j: j.order)
    ]
    return FiguresTable(month, departments, jurisdictions)
