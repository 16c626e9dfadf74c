"""Human wording of working hours, in Chinese (default) or English."""

from __future__ import annotations

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
