"""Human wording of working hours, in Chinese (default) or English."""

from __future__ import annotations

from datetime import datetime

from .fields import DAY
from .model import HoursSet, Period

LABELS = {
    "workdays": ("工作日", "Working days"),
    "rest_days": ("休息日及节假日", "Weekends and public holidays"),
    "every_day": ("每天", "Every day"),
}


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def period_text(p: Period) -> str:
    return f"{clock(p.start)}–{clock(p.end % DAY if p.end > DAY else p.end)}"


def hours_text(hours: HoursSet, lang: str = "zh") -> str:
    english = lang.lower().startswith("en")
    if english and hours.text_en:
        return hours.text_en
    if not english and hours.text_zh:
        return hours.text_zh
    parts = []
    for kind, (zh, en) in LABELS.items():
        periods: tuple[Period, ...] = getattr(hours, kind)
        if not periods:
            continue
        if len(periods) == 1 and periods[0] == Period(0, DAY):
            parts.append("24 hours" if english and kind == "every_day"
                         else f"{en} 24 hours" if english else f"{zh} 24 小时")
            continue
        spans = (", " if english else "、").join(period_text(p) for p in periods)
        parts.append(f"{en if english else zh} {spans}")
    return ("; " if english else "；").join(parts)


WEEKDAY_NAMES = {"zh": "一二三四五六日", "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}


def moment_text(at: datetime, now: datetime, lang: str) -> str:
    """'12:00' today, '11月30日（周一）08:30' / 'Mon 30 Nov 08:30' on another day."""
    if at.date() == now.date():
        return at.strftime("%H:%M")
    if lang == "zh":
        return f"{at.month}月{at.day}日（周{WEEKDAY_NAMES['zh'][at.weekday()]}）{at:%H:%M}"
    return f"{WEEKDAY_NAMES['en'][at.weekday()]} {at.day} {at:%b %H:%M}"
