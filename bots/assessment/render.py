"""A report as people read it: a text table, CSV, XLSX, JSON and a chart PNG. The columns are
defined once here, so the admin room's attachments, the CLI and the mailed bulletin agree."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .figures import Figures, Report


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    kind: str  # int | rate | minutes | text


COLUMNS = (
    Column("name", "部门/地区", "text"),
    Column("cases", "咨询量", "int"),
    Column("leave_messages", "留言", "int"),
    Column("claim_rate", "按时签收率", "rate"),
    Column("first_response_median", "首次响应中位(工作分钟)", "minutes"),
    Column("first_response_p90", "首次响应P90(工作分钟)", "minutes"),
    Column("followup_rate", "留言跟进率", "rate"),
    Column("reminders", "催办次数", "int"),
    Column("reminded_share", "催办率", "rate"),
    Column("close_rate", "办结率", "rate"),
    Column("close_on_time_rate", "按时办结率", "rate"),
    Column("rework_rate", "重办率", "rate"),
    Column("satisfaction", "满意率", "rate"),
    Column("participation", "参评率", "rate"),
    Column("emailed", "改用邮件", "int"),
    Column("letters", "来信", "int"),
    Column("letters_on_time", "按期答复", "int"),
    Column("letters_overdue", "逾期", "int"),
    Column("transfers_in", "转入", "int"),
    Column("transfers_out", "转出", "int"),
)
FLAG_ZH = {"satisfaction": "满意率偏低", "claim_rate": "按时签收率偏低"}


def cell(fig: Figures, col: Column) -> str:
    value = getattr(fig, col.key)
    if value is None:
        return "—"
    if col.kind == "rate":
        return f"{value * 100:.1f}%"
    if col.kind == "minutes":
        return f"{value:.1f}"
    return str(value)


def all_rows(report: Report) -> list[tuple[str, Figures]]:
    """Every row in reading order: departments, then jurisdictions, then the total."""
    return ([("部门", f) for f in report.departments] + [("地区合计", f) for f in report.jurisdictions]
            + [("总计", report.province)])


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["层级", "编号", *(c.zh for c in COLUMNS), "预警"])
    for level, f in all_rows(report):
        w.writerow([level, f.dept_id or f.jurisdiction or "", *(cell(f, c) for c in COLUMNS),
                    "、".join(FLAG_ZH[x] for x in f.flags)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def to_xlsx(report: Report, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "考核"
    ws.append([title])
    ws.append(["层级", "编号", *(c.zh for c in COLUMNS), "预警"])
    for c in ws[2]:
        c.font = Font(bold=True)
    for level, f in all_rows(report):
        values: list[Any] = [level, f.dept_id or f.jurisdiction or ""]
        for col in COLUMNS:
            v = getattr(f, col.key)
            values.append(round(v, 4) if isinstance(v, float) else v)
        values.append("、".join(FLAG_ZH[x] for x in f.flags))
        ws.append(values)
        for c, col in zip(ws[ws.max_row][2:], COLUMNS, strict=False):
            if col.kind == "rate":
                c.number_format = "0.0%"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_json(report: Report) -> str:
    return json.dumps({
        "start": report.start.isoformat(), "end": report.end.isoformat(),
        "asof": report.asof.isoformat(), "scope": report.scope,
        "departments": [f.as_dict() for f in report.departments],
        "jurisdictions": [f.as_dict() for f in report.jurisdictions],
        "province": report.province.as_dict(),
        "complaints": {"received": report.complaints, "on_time": report.complaints_on_time,
                       "overdue": report.complaints_overdue},
    }, ensure_ascii=False, indent=1)


def to_table(report: Report, columns: tuple[Column, ...] = COLUMNS) -> str:
    """Every row, aligned for a terminal (CJK characters count double)."""
    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    rows = [[c.zh for c in columns]] + [[cell(f, c) for c in columns] for _, f in all_rows(report)]
    widths = [max(width(r[i]) for r in rows) for i in range(len(columns))]
    return "\n".join("  ".join(v + " " * (widths[i] - width(v)) for i, v in enumerate(r)).rstrip()
                     for r in rows)


def summary(report: Report, title: str, t: Callable[..., str], previous: Report | None = None,
            top: int = 5) -> str:
    """The admin room's reading: totals (with the change from the previous period), the best and
    the last departments by 按时签收率 then 满意率, and the flagged ones."""
    p = report.province
    lines = [title, t("assess.totals", cases=p.cases, leave=p.leave_messages, claim=cell(p, COLUMNS[3]),
                      median=cell(p, COLUMNS[4]), followup=cell(p, COLUMNS[6]),
                      satisfaction=cell(p, COLUMNS[12]), close=cell(p, COLUMNS[9]),
                      letters=p.letters, overdue=p.letters_overdue)]
    if previous is not None:
        q = previous.province
        lines.append(t("assess.change", cases=_delta(p.cases, q.cases), claim=_pp(p.claim_rate, q.claim_rate),
                       satisfaction=_pp(p.satisfaction, q.satisfaction)))
    ranked = sorted((f for f in report.departments if f.cases),
                    key=lambda f: (f.claim_rate or 0, f.satisfaction or 0), reverse=True)
    if ranked:
        lines.append(t("assess.top") + "；".join(_brief(f) for f in ranked[:top]))
        if len(ranked) > top:
            lines.append(t("assess.bottom") + "；".join(_brief(f) for f in ranked[-top:][::-1]))
    flagged = [f for f in report.departments if f.flags]
    lines.append(t("assess.flagged") + ("；".join(
        f"{f.name}（{'、'.join(FLAG_ZH[x] for x in f.flags)}）" for f in flagged) or "无"))
    if len(report.jurisdictions) > 1:
        lines.append(t("assess.by_jurisdiction") + "；".join(_brief(f) for f in report.jurisdictions))
    return "\n".join(lines)


def _brief(f: Figures) -> str:
    return (f"{f.name} 咨询{f.cases} 签收{cell(f, COLUMNS[3])} 满意{cell(f, COLUMNS[12])}")


def _delta(a: int, b: int) -> str:
    return f"{a - b:+d}"


def _pp(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    return f"{(a - b) * 100:+.1f} 个百分点"


def chart_png(report: Report, title: str, font_path: str | None) -> bytes:
    """First-response median and 满意率 by department (the 20 with most cases), as a PNG.
    Matplotlib's Agg backend with the project's CJK font, so the labels are glyphs, not boxes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    prop = font_manager.FontProperties(fname=font_path) if font_path else None
    depts = sorted((f for f in report.departments if f.cases), key=lambda f: -f.cases)[:20]
    names = [f.name for f in depts] or ["（无咨询）"]
    fig = Figure(figsize=(10, 1.5 + 0.4 * len(names)), dpi=100)
    left, right = fig.subplots(1, 2, sharey=True)
    ys = list(range(len(names)))
    left.barh(ys, [f.first_response_median or 0 for f in depts] or [0], color="#3b7dd8")
    right.barh(ys, [(f.satisfaction or 0) * 100 for f in depts] or [0], color="#2aa876")
    left.set_yticks(ys, names, fontproperties=prop)
    left.invert_yaxis()
    left.set_title("首次响应时间中位数（工作分钟）", fontproperties=prop)
    right.set_title("满意率（%）", fontproperties=prop)
    right.set_xlim(0, 100)
    fig.suptitle(title, fontproperties=prop)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
