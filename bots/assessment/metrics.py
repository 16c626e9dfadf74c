"""Per-department figures on the bridge's Prometheus endpoint (bridge/metrics.py serves it).

Gauges: open cases, leave-messages waiting for the opening, cases unanswered for longer than
`consultation.remind_after_minutes`. Counters: cases opened, ratings by level (totals since the
first case; cases are never deleted, so they only grow). The scrape happens on the metrics
server's thread and cannot query the database, so the bot refreshes a snapshot with two GROUP BY
queries each round and one collector, registered once per process, reports the latest one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from bridge.context import BotContext

LABELS = ["department", "jurisdiction"]


class _Collector:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.ratings: list[tuple[str, str, str, int]] = []

    def collect(self) -> Iterator[Any]:
        gauges = {
            "open": GaugeMetricFamily("dutyroom_dept_open_cases", "Cases not closed", labels=LABELS),
            "waiting": GaugeMetricFamily("dutyroom_dept_waiting_leave_messages",
                                         "Leave-messages waiting for the department's opening", labels=LABELS),
            "unanswered": GaugeMetricFamily("dutyroom_dept_unanswered_over_reminder",
                                            "Open cases unanswered past the reminder threshold", labels=LABELS),
        }
        cases = CounterMetricFamily("dutyroom_dept_cases", "Consultations opened", labels=LABELS)
        for r in self.rows:
            labels = [r["dept"], r["jurisdiction"]]
            for key, g in gauges.items():
                g.add_metric(labels, r[key])
            cases.add_metric(labels, r["cases"])
        ratings = CounterMetricFamily("dutyroom_dept_ratings", "好差评 ratings given, by level",
                                      labels=[*LABELS, "level"])
        for dept, jurisdiction, level, n in self.ratings:
            ratings.add_metric([dept, jurisdiction, level], n)
        yield from gauges.values()
        yield cases
        yield ratings


COLLECTOR = _Collector()
_registered = False


class CaseMetrics:
    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def unregister(self) -> None:
        """Kept registered: another bridge in the same process (tests) reuses the collector."""

    async def refresh(self) -> None:
        global _registered
        if not _registered:
            REGISTRY.register(COLLECTOR)  # type: ignore[arg-type]
            _registered = True
        roster = self.ctx.roster
        now_ms = int(self.ctx.clock.now().timestamp() * 1000)
        due = now_ms - int(float(self.ctx.config["consultation.remind_after_minutes"]) * 60_000)
        rows = await self.ctx.db.fetch(f"""
            SELECT dept_id, COUNT(*) AS cases,
                SUM(CASE WHEN status <> 'closed' THEN 1 ELSE 0 END) AS open,
                SUM(CASE WHEN waiting THEN 1 ELSE 0 END) AS waiting,
                SUM(CASE WHEN status = 'open' AND NOT waiting
                         AND attention_since <= {due} THEN 1 ELSE 0 END) AS unanswered
            FROM consult_case GROUP BY dept_id""")
        snapshot = []
        for r in rows:
            dept = roster.departments.get(r["dept_id"])
            if dept is not None:
                snapshot.append({"dept": dept.id, "jurisdiction": dept.jurisdiction,
                                 "cases": int(r["cases"]), "open": int(r["open"] or 0),
                                 "waiting": int(r["waiting"] or 0), "unanswered": int(r["unanswered"] or 0)})
        ratings = await self.ctx.db.fetch(
            "SELECT c.dept_id, l.detail, COUNT(*) AS n FROM consult_log l"
            " JOIN consult_case c ON c.id = l.case_id WHERE l.kind = 'rated'"
            " GROUP BY c.dept_id, l.detail")
        COLLECTOR.rows = snapshot
        COLLECTOR.ratings = [(r["dept_id"], roster.departments[r["dept_id"]].jurisdiction, str(r["detail"]),
                              int(r["n"])) for r in ratings if r["dept_id"] in roster.departments]
