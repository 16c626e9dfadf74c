"""Receipts and attendees of one notice as a table: .csv (UTF-8 with BOM, which Excel opens
with the Chinese intact) and .xlsx (openpyxl)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from openpyxl import Workbook

from .db import Notice, Receipt

if TYPE_CHECKING:
    from .delivery import Delivery

HEADER_ZH = ["编号", "部门编码", "部门", "回执", "回执人", "回执时间", "参会人员"]


def rows(delivery: Delivery, notice: Notice, receipts: dict[str, Receipt]) -> list[list[str]]:
    t = delivery.ctx.messages
    out = [HEADER_ZH]
    for dept_id in notice.copies:
        dept = delivery.ctx.roster.departments.get(dept_id)
        r = receipts.get(dept_id)
        out.append([notice.ref, dept_id, dept.name if dept else dept_id,
                    t("notices.yes") if r else t("notices.no"),
                    r.officer if r else "", delivery.when(r.at) if r else "",
                    "、".join(r.attendees) if r else ""])
    return out


def as_csv(table: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(table: list[list[str]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "回执"
    for row in table:
        sheet.append(row)
    for column, width in zip("ABCDEFG", (10, 10, 28, 6, 32, 18, 30), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
