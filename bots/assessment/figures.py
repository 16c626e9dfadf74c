"""The assessment figures (docs/assessment.md defines each one), computed in SQL.

`compute` is the one entry point: the `!考核` command, the bulletins, the CLI, the metrics and
the public web page all call it, so a figure means the same everywhere. The work happens in the
database: the roster's working days go into a small temporary table (worktime.py), each case of the
period becomes one row of working-time stamps in another (three equality joins on the day), and the figures are GROUP BYs and
window functions over it. Python only sees a few rows per department.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from mautrix.util.async_db import Database, Scheme

from bridge.roster import Roster

from .settings import AssessSettings
from .worktime import days, sql_day, sql_w, working_ms

LOG_REMINDERS = ("reminded", "escalated", "followup_reminded", "followup_escalated")
LETTER_TABLES = ("mailbox_letter",)  # letters to departments, attributed by address
COMPLAINT_TABLE = "complaints_letter"  # complaints go to the supervision office: province only
PROVINCE = "*"


@dataclass
class Figures:
    """One department's, one jurisdiction's or the province's figures for the period.

    Counts are ints; durations are working minutes (None without cases to measure); rates are
    floats in 0..1, None when their denominator is 0. `dept_id` is None for totals."""

    dept_id: str | None
    jurisdiction: str | None
    name: str = ""
    cases: int = 0
    leave_messages: int = 0
    letters: int = 0
    letters_on_time: int = 0
    letters_overdue: int = 0
    claim_due: int = 0
    claim_on_time: int = 0
    responded: int = 0
    first_response_median: float | None = None
    first_response_p90: float | None = None
    followup_due: int = 0
    followup_on_time: int = 0
    reminders: int = 0
    reminded_cases: int = 0
    closed: int = 0
    closed_on_time: int = 0
    closed_ever: int = 0
    reworked: int = 0
    rated: int = 0
    satisfied: int = 0
    email_offered: int = 0
    emailed: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    # rates, filled by finish()
    claim_rate: float | None = None  # 按时签收率
    followup_rate: float | None = None  # 留言跟进率
    reminded_share: float | None = None  # 催办率
    close_rate: float | None = None  # 办结率
    close_on_time_rate: float | None = None  # 按时办结率
    rework_rate: float | None = None  # 重办率
    satisfaction: float | None = None  # 满意率
    participation: float | None = None  # 参评率
    letters_on_time_rate: float | None = None  # 信件按期答复率
    flags: list[str] = field(default_factory=list)

    def finish(self, settings: AssessSettings) -> Figures:
        def rate(a: int, b: int) -> float | None:
            return a / b if b else None

        self.claim_rate = rate(self.claim_on_time, self.claim_due)
        self.followup_rate = rate(self.followup_on_time, self.followup_due)
        self.reminded_share = rate(self.reminded_cases, self.cases)
        self.close_rate = rate(self.closed, self.cases)
        self.close_on_time_rate = rate(self.closed_on_time, self.closed)
        self.rework_rate = rate(self.reworked, self.closed_ever)
        self.satisfaction = rate(self.satisfied, self.rated)
        self.participation = rate(self.rated, self.closed_ever)
        self.letters_on_time_rate = rate(self.letters_on_time, self.letters_on_time + self.letters_overdue)
        self.flags = []
        if self.satisfaction is not None and self.satisfaction < settings.flag_satisfaction_below:
            self.flags.append("satisfaction")
        if self.claim_rate is not None and self.claim_rate < settings.flag_claim_rate_below:
            self.flags.append("claim_rate")
        return self

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Counted per department outside the case table; each belongs to one department, so they add up.
SUMMED = ("transfers_in", "transfers_out", "letters", "letters_on_time", "letters_overdue")
COUNTS = [f.name for f in fields(Figures) if f.type == "int" and f.name not in SUMMED]


@dataclass
class Report:
    start: datetime
    end: datetime
    asof: datetime
    scope: str | None
    departments: list[Figures]
    jurisdictions: list[Figures]
    province: Figures
    complaints: int = 0
    complaints_on_time: int = 0
    complaints_overdue: int = 0


FIRST_RESPONSE = ("(CASE WHEN c.claimed_at IS NOT NULL AND (c.first_reply_at IS NULL"
                  " OR c.claimed_at < c.first_reply_at) THEN c.claimed_at ELSE c.first_reply_at END)")


def schedule_of(roster: Roster, dept: Any) -> str:
    """The name of a department's working-time table: its hours set, and its jurisdiction where
    that has a calendar of its own."""
    calendar = roster.calendar_of(dept.jurisdiction)
    return dept.hours if calendar is roster.calendar_of("") else f"{dept.hours}@{dept.jurisdiction}"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def compute(db: Database, roster: Roster, settings: AssessSettings, start: datetime,
                  end: datetime, scope: str | None = None, *, asof: datetime | None = None) -> Report:
    """The figures of every department in `scope` for cases opened in [start, end).

    scope: None for the whole province, a jurisdiction id (with the jurisdictions below it), or
    a department id. `asof` (default:
    now) is the moment the figures describe: a case not yet answered counts against 按时签收 only
    once its allowance has passed by then. Departments are those of the roster; a case whose
    department is no longer in it is left out. Returns per-department rows (roster order), one
    row per jurisdiction and the province total (`Report.province`), all as `Figures`.
    Raises ValueError for an unknown scope."""
    asof = asof or datetime.now(roster.timezone)
    depts = [d for d in sorted(roster.departments.values(), key=lambda d: (d.order, d.id))
             if scope in (None, d.id) or scope in roster.jurisdiction_chain(d.jurisdiction)]
    if scope is not None and not depts and scope not in roster.jurisdictions:
        raise ValueError(f"unknown jurisdiction or department: {scope}")
    zone = roster.timezone
    first = start.astimezone(zone).date() - timedelta(days=1)
    # The day table reaches the latest moment any of the period's cases needs (normally before
    # asof = now; a report "as of" an earlier moment may meet later answers).
    row = await db.fetchrow(
        "SELECT MAX(first_reply_at) AS a, MAX(claimed_at) AS b, MAX(closed_at) AS c FROM consult_case"
        f" WHERE opened_at >= {_ms(start)} AND opened_at < {_ms(end)}")
    latest = max([_ms(asof), _ms(end), *(int(row[k]) for k in ("a", "b", "c") if row and row[k] is not None)])
    last = datetime.fromtimestamp(latest / 1000, zone).date() + timedelta(days=2)
    # One day table per hours set and working-day calendar: a city's own rest and working
    # days (its `holidays:`/`workdays:`) are its departments' working time, as for their ladder.
    tables: dict[str, list] = {}
    schedules = {d.id: schedule_of(roster, d) for d in depts}
    for d in depts:
        if schedules[d.id] not in tables:
            calendar = roster.calendar_of(d.jurisdiction)
            tables[schedules[d.id]] = days(roster.hours[d.hours], calendar.is_working_day, zone, first, last)
    asof_ms = _ms(asof)
    w_asof = {name: working_ms(t, asof_ms) for name, t in tables.items()}
    async with db.acquire() as conn:
        try:
            return await _compute(conn, db.scheme, roster, settings, depts, tables, w_asof,
                                  start, end, asof, scope, first, last)
        finally:
            for table in ("assess_case", "assess_wday", "assess_dept", "assess_day"):
                await conn.execute(f"DROP TABLE IF EXISTS {table}")


async def _compute(conn: Any, scheme: Scheme, roster: Roster, settings: AssessSettings,
                   depts: list, tables: dict[str, list], w_asof: dict[str, int], start: datetime,
                   end: datetime, asof: datetime, scope: str | None, first: Any, last: Any) -> Report:
    s_ms, e_ms, asof_ms = _ms(start), _ms(end), _ms(asof)
    await conn.execute("CREATE TEMP TABLE assess_dept (dept_id TEXT PRIMARY KEY, jurisdiction TEXT,"
                       " schedule TEXT, email TEXT, w_asof BIGINT)")
    width = max((len(w.periods) for t in tables.values() for w in t), default=0)
    cols = "".join(f", p{k}s BIGINT, p{k}e BIGINT" for k in range(width))
    await conn.execute("CREATE TEMP TABLE assess_wday (schedule TEXT, day_idx BIGINT, start_ms BIGINT,"
                       f" cum_ms BIGINT{cols}, PRIMARY KEY (schedule, day_idx))")
    await conn.executemany("INSERT INTO assess_dept VALUES ($1, $2, $3, $4, $5)",
                           [(d.id, d.jurisdiction, schedule_of(roster, d), d.email,
                             w_asof[schedule_of(roster, d)]) for d in depts])
    marks = ", ".join(f"${i + 1}" for i in range(4 + 2 * width))
    await conn.executemany(f"INSERT INTO assess_wday VALUES ({marks})", [
        (name, w.index, w.start_ms, w.cum_ms,
         *(x for k in range(width) for x in (w.periods[k] if k < len(w.periods) else (0, 0))))
        for name, t in tables.items() for w in t])
    base_ms = next(iter(tables.values()))[0].start_ms if tables else 0
    await conn.execute("CREATE TEMP TABLE assess_day (day TEXT PRIMARY KEY, end_ms BIGINT)")
    deadline_days, day = [], first
    while day < last + timedelta(days=120):  # deadlines fall a few working days after the period
        deadline_days.append((day.isoformat(), _ms(datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                                           tzinfo=roster.timezone))))
        day += timedelta(days=1)
    await conn.executemany("INSERT INTO assess_day VALUES ($1, $2)", deadline_days)
    if scheme == Scheme.SQLITE:
        await conn.execute("""CREATE TEMP TABLE assess_case (dept_id TEXT, jurisdiction TEXT,
        is_leave INTEGER, w_open BIGINT, w_resp BIGINT, w_close BIGINT, w_asof BIGINT, rating INTEGER,
        reminders INTEGER, email_offered INTEGER, emailed INTEGER, closed_ever INTEGER, reworked INTEGER)""")
    in_period = f"c.opened_at >= {s_ms} AND c.opened_at < {e_ms}"

    def day_of(alias: str, moment: str) -> str:
        return (f"assess_wday {alias} ON {alias}.schedule = x.schedule"
                f" AND {alias}.day_idx = {sql_day(moment, base_ms)}")

    case_rows = f"""
        SELECT x.dept_id AS dept_id, x.jurisdiction AS jurisdiction, x.is_leave AS is_leave,
            {sql_w('x.opened_at', 'wo', width)} AS w_open, {sql_w('x.resp_at', 'wr', width)} AS w_resp,
            {sql_w('x.close_at', 'wc', width)} AS w_close, x.w_asof AS w_asof, x.rating AS rating,
            x.reminders AS reminders, x.email_offered AS email_offered, x.emailed AS emailed,
            x.closed_ever AS closed_ever, x.reworked AS reworked
        FROM (
            SELECT c.dept_id, d.jurisdiction, d.schedule, d.w_asof, c.opened_at, c.rating, c.reminders,
                CASE WHEN c.email_offered_at IS NULL THEN 0 ELSE 1 END AS email_offered,
                CASE WHEN c.emailed_at IS NULL THEN 0 ELSE 1 END AS emailed,
                CASE WHEN c.first_closed_at IS NULL THEN 0 ELSE 1 END AS closed_ever,
                CASE WHEN c.bad_rated_at IS NULL THEN 0 ELSE 1 END AS reworked,
                CASE WHEN c.leave_message THEN 1 ELSE 0 END AS is_leave,
                {FIRST_RESPONSE} AS resp_at,
                CASE WHEN c.status = 'closed' THEN c.closed_at END AS close_at
            FROM consult_case c JOIN assess_dept d ON d.dept_id = c.dept_id
            WHERE {in_period}
        ) x
        JOIN {day_of('wo', 'x.opened_at')}
        LEFT JOIN {day_of('wr', 'x.resp_at')}
        LEFT JOIN {day_of('wc', 'x.close_at')}"""
    claim = int(settings.claim_within_minutes * 60_000)
    fu = int(settings.followup_working_hours * 3_600_000)
    close = int(settings.close_within_working_hours * 3_600_000)
    sat = int(settings.satisfied_min_level)
    sums = f"""
        COUNT(*) AS cases, SUM(is_leave) AS leave_messages,
        SUM(CASE WHEN w_resp IS NOT NULL OR w_asof - w_open > {claim} THEN 1 ELSE 0 END) AS claim_due,
        SUM(CASE WHEN w_resp IS NOT NULL AND w_resp - w_open <= {claim} THEN 1 ELSE 0 END) AS claim_on_time,
        SUM(CASE WHEN w_resp IS NOT NULL THEN 1 ELSE 0 END) AS responded,
        SUM(CASE WHEN is_leave = 1 AND (w_resp IS NOT NULL OR w_asof - w_open > {fu}) THEN 1 ELSE 0 END)
            AS followup_due,
        SUM(CASE WHEN is_leave = 1 AND w_resp IS NOT NULL AND w_resp - w_open <= {fu} THEN 1 ELSE 0 END)
            AS followup_on_time,
        SUM(CASE WHEN w_close IS NOT NULL THEN 1 ELSE 0 END) AS closed,
        SUM(CASE WHEN w_close IS NOT NULL AND w_close - w_open <= {close} THEN 1 ELSE 0 END)
            AS closed_on_time,
        SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated,
        SUM(CASE WHEN rating >= {sat} THEN 1 ELSE 0 END) AS satisfied,
        SUM(reminders) AS reminders, SUM(CASE WHEN reminders > 0 THEN 1 ELSE 0 END) AS reminded_cases,
        SUM(email_offered) AS email_offered, SUM(emailed) AS emailed,
        SUM(closed_ever) AS closed_ever, SUM(reworked) AS reworked"""
    by_dept = {d.id: Figures(d.id, d.jurisdiction, d.name) for d in depts}
    juris_ids = list(dict.fromkeys(d.jurisdiction for d in depts))
    by_juris = {j: Figures(None, j, roster.jurisdictions[j].name if j in roster.jurisdictions else j)
                for j in juris_ids}
    province = Figures(None, None, "全省" if scope is None else _scope_name(roster, scope))
    if scheme == Scheme.POSTGRES:
        # One pass: the case rows feed every count and percentile_cont for departments,
        # jurisdictions and the total at once (grouping sets; NULLs, the unanswered, are ignored).
        rows = await conn.fetch(f"""
            SELECT dept_id, jurisdiction, GROUPING(dept_id) AS gd, GROUPING(jurisdiction) AS gj, {sums},
                percentile_cont(0.5) WITHIN GROUP (ORDER BY w_resp - w_open) AS p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY w_resp - w_open) AS p90
            FROM ({case_rows}) a GROUP BY GROUPING SETS ((dept_id), (jurisdiction), ())""")
        for row in rows:
            fig = (by_dept.get(row["dept_id"]) if row["gd"] == 0 else
                   by_juris.get(row["jurisdiction"]) if row["gj"] == 0 else province)
            if fig is None:
                continue
            for name in COUNTS:
                setattr(fig, name, int(row[name] or 0))
            if row["p50"] is not None:
                fig.first_response_median = float(row["p50"]) / 60_000
                fig.first_response_p90 = float(row["p90"]) / 60_000
        summed: tuple[str, ...] = SUMMED
    else:
        await conn.execute(f"INSERT INTO assess_case {case_rows}")
        for row in await conn.fetch(f"SELECT dept_id AS k, {sums} FROM assess_case GROUP BY dept_id"):
            fig = by_dept.get(row["k"])
            if fig is not None:
                for name in COUNTS:
                    setattr(fig, name, int(row[name] or 0))
        for key, target in (("dept_id", by_dept), ("jurisdiction", by_juris), ("'*'", {PROVINCE: province})):
            await _percentiles(conn, key, target)
        summed = (*COUNTS, *SUMMED)
    await _transfers(conn, scheme, s_ms, e_ms, by_dept)
    await _letters(conn, s_ms, e_ms, asof_ms, by_dept)
    for d in depts:
        j = by_juris[d.jurisdiction]
        for name in summed:
            setattr(j, name, getattr(j, name) + getattr(by_dept[d.id], name))
            setattr(province, name, getattr(province, name) + getattr(by_dept[d.id], name))
    report = Report(start, end, asof, scope, [by_dept[d.id].finish(settings) for d in depts],
                    [f.finish(settings) for f in by_juris.values()], province.finish(settings))
    if scope is None and await _exists(conn, scheme, COMPLAINT_TABLE):
        row = await conn.fetchrow(_letter_sql(COMPLAINT_TABLE, s_ms, e_ms, asof_ms, None))
        report.complaints, report.complaints_on_time, report.complaints_overdue = (
            int(row["received"] or 0), int(row["on_time"] or 0), int(row["overdue"] or 0))
    return report


def _scope_name(roster: Roster, scope: str) -> str:
    if scope in roster.departments:
        return roster.departments[scope].name
    return roster.jurisdictions[scope].name if scope in roster.jurisdictions else scope


async def _percentiles(conn: Any, key: str, target: dict[str, Figures]) -> None:
    """SQLite: median and 90th percentile of first-response time, interpolated between the two
    nearest ranks exactly as PostgreSQL's percentile_cont, with window functions."""
    part = f"PARTITION BY {key}" if key != "'*'" else ""
    rows = await conn.fetch(f"""
        SELECT k, n, rn, v FROM (
            SELECT {key} AS k, w_resp - w_open AS v,
                ROW_NUMBER() OVER ({part} ORDER BY w_resp - w_open) AS rn,
                COUNT(*) OVER ({part}) AS n
            FROM assess_case WHERE w_resp IS NOT NULL) s
        WHERE rn IN ((n - 1) / 2 + 1, (n - 1) / 2 + 2, ((n - 1) * 9) / 10 + 1, ((n - 1) * 9) / 10 + 2)
    """)
    values: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    for r in rows:
        values.setdefault(r["k"], {})[int(r["rn"])] = int(r["v"])
        counts[r["k"]] = int(r["n"])
    for k, n in counts.items():
        fig = target.get(k)
        if fig is not None:
            fig.first_response_median = percentile(values[k], n, 0.5)
            fig.first_response_p90 = percentile(values[k], n, 0.9)


def percentile(ranked: dict[int, int], n: int, p: float) -> float:
    """percentile_cont over values by 1-based rank, in working minutes."""
    pos = (n - 1) * p
    lo = int(pos)
    frac = pos - lo
    low = ranked[lo + 1]
    high = ranked.get(lo + 2, low)
    return (low + frac * (high - low)) / 60_000


async def _transfers(conn: Any, scheme: Scheme, s_ms: int, e_ms: int, by_dept: dict[str, Figures]) -> None:
    """Transfers logged in the period; the log's detail reads `<from>-><to>: <note>`."""
    find = "instr" if scheme == Scheme.SQLITE else "strpos"
    arrow, colon = f"{find}(detail, '->')", f"{find}(detail, ': ')"
    rows = await conn.fetch(f"""
        SELECT substr(detail, 1, {arrow} - 1) AS src,
               substr(detail, {arrow} + 2, {colon} - {arrow} - 2) AS dst, COUNT(*) AS n
        FROM consult_log WHERE kind = 'transferred' AND at >= {s_ms} AND at < {e_ms}
            AND {arrow} > 0 AND {colon} > {arrow}
        GROUP BY substr(detail, 1, {arrow} - 1), substr(detail, {arrow} + 2, {colon} - {arrow} - 2)
    """)
    for r in rows:
        if r["src"] in by_dept:
            by_dept[r["src"]].transfers_out += int(r["n"])
        if r["dst"] in by_dept:
            by_dept[r["dst"]].transfers_in += int(r["n"])


def _letter_sql(table: str, s_ms: int, e_ms: int, asof_ms: int, join: str | None) -> str:
    group = "d.dept_id" if join else "NULL"
    joined = "JOIN assess_dept d ON d.email = l.to_address" if join else ""
    return f"""
        SELECT {group} AS k, COUNT(*) AS received,
            SUM(CASE WHEN l.replied_at IS NOT NULL AND l.replied_at < y.end_ms THEN 1 ELSE 0 END) AS on_time,
            SUM(CASE WHEN (l.replied_at IS NOT NULL AND l.replied_at >= y.end_ms)
                     OR (l.replied_at IS NULL AND {asof_ms} >= y.end_ms) THEN 1 ELSE 0 END) AS overdue
        FROM {table} l {joined} LEFT JOIN assess_day y ON y.day = l.deadline
        WHERE l.created_at >= {s_ms} AND l.created_at < {e_ms}
        {"GROUP BY d.dept_id" if join else ""}"""


async def _letters(conn: Any, s_ms: int, e_ms: int, asof_ms: int, by_dept: dict[str, Figures]) -> None:
    """Letters to a department (attributed by its address) received in the period."""
    for table in LETTER_TABLES:
        if not await _exists(conn, None, table):
            continue
        for r in await conn.fetch(_letter_sql(table, s_ms, e_ms, asof_ms, "dept")):
            fig = by_dept.get(r["k"])
            if fig is not None:
                fig.letters += int(r["received"] or 0)
                fig.letters_on_time += int(r["on_time"] or 0)
                fig.letters_overdue += int(r["overdue"] or 0)


async def _exists(conn: Any, scheme: Scheme | None, table: str) -> bool:
    try:
        await conn.fetchrow(f"SELECT 1 FROM {table} LIMIT 1")
    except Exception:  # noqa: BLE001 - the bot that owns it has not run here
        return False
    return True
