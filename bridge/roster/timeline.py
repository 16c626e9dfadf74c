"""One department's day cut into segments that each have a fixed answer to every query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from .fields import DAY
from .model import HoursSet, Officer, Shift
from .workcal import WorkCalendar


@dataclass(frozen=True)
class Segment:
    start: int  # seconds since local midnight, inclusive
    end: int  # exclusive; at most 86400
    working: bool  # inside the department's working hours
    officers: tuple[Officer, ...]  # on duty
    open: bool  # the department answers: working with someone on duty, or an any_day shift


def shift_applies(shift: Shift, day: date, cal: WorkCalendar) -> bool:
    """Whether the shift starts on this day; a midnight-crossing shift belongs to its first day."""
    if shift.valid_from and day < shift.valid_from:
        return False
    if shift.valid_until and day > shift.valid_until:
        return False
    if shift.dates is not None:
        return day in shift.dates
    kind = shift.days.kind
    if kind == "workdays":
        return cal.is_working_day(day)
    if kind == "rest_days":
        return not cal.is_working_day(day)
    if kind == "weekdays":
        return day.weekday() in shift.days.weekdays
    return True


def build_day(day: date, hours: HoursSet, shifts: tuple[Shift, ...],
              staff: tuple[Officer, ...], cal: WorkCalendar) -> tuple[Segment, ...]:
    working = hours.periods(cal.is_working_day(day))
    pieces: list[tuple[int, int, tuple[Officer, ...], bool]] = []
    yesterday = day - timedelta(days=1)
    for s in shifts:
        if shift_applies(s, day, cal):
            pieces.append((s.period.start, min(s.period.end, DAY), s.officers_on(day), s.any_day))
        if s.period.end > DAY and shift_applies(s, yesterday, cal):
            pieces.append((0, s.period.end - DAY, s.officers_on(yesterday), s.any_day))
    cuts = sorted({0, DAY} | {t for p in working for t in (p.start, min(p.end, DAY))}
                  | {t for p in pieces for t in p[:2]})
    out: list[Segment] = []
    for a, b in pairwise(cuts):
        is_working = any(p.start <= a < p.end for p in working)
        if shifts:
            crew: list[Officer] = []
            for start, end, officers, any_day in pieces:
                if start <= a < end and (any_day or is_working):
                    crew.extend(o for o in officers if o not in crew)
            on, is_open = tuple(crew), bool(crew)
        else:
            # Without shifts every officer of the department serves during working hours.
            on, is_open = (staff if is_working else ()), is_working
        if out and (out[-1].working, out[-1].officers, out[-1].open) == (is_working, on, is_open):
            out[-1] = Segment(out[-1].start, b, is_working, on, is_open)
        else:
            out.append(Segment(a, b, is_working, on, is_open))
    return tuple(out)
