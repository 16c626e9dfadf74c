"""What the public site shows, as plain dicts built from the roster and the clock: the pages'
templates and the JSON API read the same ones, so the two never disagree.

Only public facts leave this module: names, descriptions, mailboxes, hours, the departments'
own accounts and rooms, and whether someone is on duty. Officers are never named, counted or
identified (Roster.officers and Department.officers/supervisors are not read here).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import chinese_calendar

from bridge.config import Config
from bridge.roster import Department, Jurisdiction, Roster
from bridge.roster.status import ALWAYS, CLOSED, NO_OPENING, OPEN, UNSTAFFED, duty_status
from bridge.roster.text import clock

from .texts import LANGS, text

WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def matrix_to(identifier: str) -> str:
    """A matrix.to link, which opens the user's own client (or offers one)."""
    return "https://matrix.to/#/" + quote(identifier, safe="@:")


def status_view(roster: Roster, dept_id: str, now: datetime) -> dict[str, Any]:
    """The duty status in both languages, worded from bridge.roster.status (the definition the
    room topics and the presence bot use)."""
    status = duty_status(roster, dept_id, now)
    texts = {}
    for lang in LANGS:
        if status.kind == OPEN:
            texts[lang] = text(lang, "status.open", until=status.until_text(lang))
        elif status.kind == CLOSED:
            texts[lang] = text(lang, "status.closed", next=status.opens_text(lang))
        else:
            key = {ALWAYS: "status.always", UNSTAFFED: "status.unstaffed",
                   NO_OPENING: "status.no_opening"}[status.kind]
            texts[lang] = text(lang, key)
    return {
        "kind": status.kind,
        "on_duty": status.on_duty,
        "until": status.until.isoformat() if status.until else None,
        "opens": status.opens.isoformat() if status.opens else None,
        "text": texts,
    }


def department_view(dept: Department, roster: Roster, config: Config, now: datetime,
                    room_ids: dict[str, str]) -> dict[str, Any]:
    account = config.ghost_mxid(dept.id)
    alias = config.dept_alias(dept.id)
    jur = roster.jurisdictions.get(dept.jurisdiction)
    return {
        "id": dept.id,
        "name": dept.name,
        "short_name": dept.short_name,
        "category": dept.category,
        "jurisdiction": dept.jurisdiction,
        "jurisdiction_name": jur.name if jur else dept.jurisdiction,
        "description": dept.description.strip(),
        "email": dept.email,
        "hours": {lang: roster.hours_text(dept.id, lang) for lang in LANGS},
        "account": account,
        "room_alias": alias,
        "room_id": room_ids.get(dept.id),
        "chat_url": matrix_to(account),
        "room_url": matrix_to(alias),
        "status": status_view(roster, dept.id, now),
    }


def jurisdiction_order(roster: Roster) -> list[Jurisdiction]:
    """The province (the jurisdiction with the most departments) first, then roster order: the
    roster's files load in name order, which puts cities.yaml before the province."""
    counts: dict[str, int] = {}
    for dept in roster.departments.values():
        counts[dept.jurisdiction] = counts.get(dept.jurisdiction, 0) + 1
    ordered = sorted(roster.jurisdictions.values(), key=lambda j: j.order)
    if ordered:
        home = max(ordered, key=lambda j: counts.get(j.id, 0))
        ordered.remove(home)
        ordered.insert(0, home)
    return ordered


def directory_view(roster: Roster, config: Config, now: datetime,
                   room_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Jurisdictions (jurisdiction_order), each with its departments grouped by category
    (categories in the order they first appear, departments in roster order)."""
    out = []
    by_jur: dict[str, list[Department]] = {}
    for dept in sorted(roster.departments.values(), key=lambda d: d.order):
        by_jur.setdefault(dept.jurisdiction, []).append(dept)
    for jur in jurisdiction_order(roster):
        categories: dict[str, list[dict[str, Any]]] = {}
        for dept in by_jur.get(jur.id, []):
            view = department_view(dept, roster, config, now, room_ids)
            categories.setdefault(dept.category, []).append(view)
        depts = [d for group in categories.values() for d in group]
        out.append({
            "id": jur.id, "name": jur.name, "space_alias": f"#{config.prefix}space_{jur.id}:"
            f"{config.domain}",
            "categories": [{"name": name, "departments": group}
                           for name, group in categories.items()],
            "count": len(depts),
            "on_duty": sum(1 for d in depts if d["status"]["on_duty"]),
        })
    return out


def day_mark(roster: Roster, dept_id: str, day: date) -> tuple[str | None, str | None]:
    """("holiday" | "adjusted" | None, the holiday's name in Chinese if known), on the
    department's calendar (a city's own rest and working days included)."""
    working = roster.is_working_day_in(dept_id, day)
    name = None
    try:
        _, found = chinese_calendar.get_holiday_detail(day)
        if found:
            name = chinese_calendar.Holiday(found).chinese
    except (NotImplementedError, ValueError):
        pass
    if not working and (day.weekday() < 5 or name):
        return "holiday", name
    if working and day.weekday() >= 5:
        return "adjusted", name
    return None, None


def week_view(roster: Roster, dept_id: str, now: datetime) -> list[dict[str, Any]]:
    """This week (Monday to Sunday, local time): open periods per day, holidays and 调休
    make-up working days marked."""
    today = now.astimezone(roster.timezone).date()
    monday = today - timedelta(days=today.weekday())
    days = []
    for i in range(7):
        day = monday + timedelta(days=i)
        mark, holiday = day_mark(roster, dept_id, day)
        periods = [f"{clock(a)}–{clock(b)}" for a, b in roster.open_periods(dept_id, day)]
        days.append({
            "date": day.isoformat(),
            "label": {"zh": f"{day.month}月{day.day}日 周{WEEKDAYS['zh'][i]}",
                      "en": f"{WEEKDAYS['en'][i]} {day.day} {day:%b}"},
            "today": day == today,
            "working_day": roster.is_working_day_in(dept_id, day),
            "mark": mark,
            "holiday_name": holiday,
            "open": periods,
        })
    return days
