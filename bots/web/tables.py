"""The figures as the site shows them: sorted rows with names, the chart's bars, the CSV.

Reads only a FiguresTable (bots/web/figures.py), whatever computed it.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from bridge.roster import Roster

from .figures import FIELDS, RATES, FiguresRow, FiguresTable
from .texts import text
from .views import jurisdiction_order

SORT_KEYS = ("name",) + FIELDS


def row_view(row: FiguresRow, roster: Roster) -> dict[str, Any]:
    jur = roster.jurisdictions.get(row.jurisdiction)
    dept = roster.departments.get(row.dept_id) if row.dept_id else None
    view: dict[str, Any] = {
        "dept_id": row.dept_id,
        "jurisdiction": row.jurisdiction,
        "jurisdiction_name": jur.name if jur else row.jurisdiction,
        "name": dept.name if dept else (jur.name if jur else row.jurisdiction),
    }
    for name in FIELDS:
        view[name] = getattr(row, name)
    return view


def sorted_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sorted by a column; rows without a value stay last in either direction."""
    if key not in SORT_KEYS:
        return rows
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing


def table_view(table: FiguresTable, roster: Roster) -> dict[str, Any]:
    """Jurisdictions in the directory's order (the province first), whatever the rows' order."""
    rank = {j.id: i for i, j in enumerate(jurisdiction_order(roster))}
    jurisdictions = sorted(table.jurisdictions, key=lambda r: rank.get(r.jurisdiction, len(rank)))
    return {
        "month": table.month.strftime("%Y-%m"),
        "departments": [row_view(r, roster) for r in table.departments],
        "jurisdictions": [row_view(r, roster) for r in jurisdictions],
    }


def month_label(month: str, lang: str) -> str:
    """'2026-10' as 2026年10月 / October 2026."""
    year, number = (int(x) for x in month.split("-"))
    if lang == "zh":
        return f"{year}年{number}月"
    return date(year, number, 1).strftime("%B %Y")


def cell(value: Any, field: str, lang: str) -> str:
    """How a value reads in a table cell; None is '—' (the template says 暂无数据 to screen
    readers)."""
    if value is None:
        return "—"
    if field in RATES:
        return f"{value * 100:.1f}%"
    if field == "first_response_median_minutes":
        return f"{value:.1f}"
    return str(value)


def chart(rows: list[dict[str, Any]], width: int = 640, bar: int = 22, gap: int = 8,
          label_width: int = 120) -> dict[str, Any]:
    """Horizontal bars of cases per row, laid out for an SVG drawn by the template."""
    top = max([r["cases"] or 0 for r in rows] + [1])
    span = width - label_width - 60
    bars = []
    for i, r in enumerate(rows):
        value = r["cases"] or 0
        bars.append({"y": i * (bar + gap), "label": r["name"], "value": r["cases"],
                     "width": round(span * value / top, 1), "x": label_width,
                     "text_x": label_width + round(span * value / top, 1) + 6})
    return {"width": width, "height": max(1, len(rows)) * (bar + gap), "bar": bar,
            "label_x": label_width - 8, "bars": bars}


def csv_text(view: dict[str, Any], lang: str) -> str:
    """Both levels in one file, rates as fractions (0–1), empty where there is no data; with a
    byte-order mark so spreadsheet programs read the Chinese names right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["level", "id", text(lang, "fig.name"), "jurisdiction", *FIELDS])
    for level, rows in (("jurisdiction", view["jurisdictions"]),
                        ("department", view["departments"])):
        for r in rows:
            writer.writerow([level, r["dept_id"] or r["jurisdiction"], r["name"], r["jurisdiction"],
                             *("" if r[f] is None else (round(r[f], 4) if isinstance(r[f], float)
                                                        else r[f]) for f in FIELDS)])
    return "\ufeff" + out.getvalue()
