"""The loaded roster and every question the bridge asks it, answered from precomputed days."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from . import text
from .model import CalendarYear, Department, HoursSet, Jurisdiction, Officer, Shift
from .resolve import Resolved
from .timeline import Segment, build_day
from .workcal import LocalCalendar, WorkCalendar

HORIZON_DAYS = 400


class Roster:
    """Immutable once built; a reload builds a new Roster and swaps it in whole.

    An unknown department id answers as if the department were closed, so a consultation that
    outlives its department after a reload gets an honest reply instead of an exception.
    """

    def __init__(self, timezone: ZoneInfo, example_data: bool, model: Resolved) -> None:
        self.timezone = timezone
        self.example_data = example_data
        self.jurisdictions: dict[str, Jurisdiction] = model.jurisdictions
        self.departments: dict[str, Department] = model.departments
        self.officers: dict[str, Officer] = model.officers
        self.hours: dict[str, HoursSet] = model.hours
        self.shifts: tuple[Shift, ...] = model.shifts
        self.calendar: dict[int, CalendarYear] = model.calendar
        self._cal = WorkCalendar(model.calendar)
        self._local_cals: dict[str, WorkCalendar | LocalCalendar] = {}
        self._dept_shifts = {d: tuple(s for s in model.shifts if s.department == d)
                             for d in model.departments}
        # Per instance, so a replaced roster's cache goes away with it.
        self._day = lru_cache(maxsize=8192)(self._build_day)

    # -- people -------------------------------------------------------------------------------
    def officer(self, mxid: str) -> Officer | None:
        return self.officers.get(mxid)

    def is_officer_of(self, mxid: str, dept_id: str) -> bool:
        found = self.officers.get(mxid)
        return found is not None and dept_id in found.departments

    def shifts_of(self, dept_id: str) -> tuple[Shift, ...]:
        return self._dept_shifts.get(dept_id, ())

    # -- time ---------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        return self._cal.is_working_day(day)

    def _build_day(self, dept_id: str, day: date) -> tuple[Segment, ...]:
        dept = self.departments[dept_id]
        return build_day(day, self.hours[dept.hours], self._dept_shifts[dept_id], dept.officers,
                         self.calendar_of(dept.jurisdiction))  # type: ignore[arg-type]

    def calendar_of(self, jid: str) -> WorkCalendar | LocalCalendar:
        """The working-day calendar of a jurisdiction's departments (local overrides applied)."""
        found = self._local_cals.get(jid)
        if found is None:
            chain = [self.jurisdictions[j] for j in reversed(self.jurisdiction_chain(jid))]
            overrides = [(j.holidays, j.workdays) for j in chain if j.holidays or j.workdays]
            found = LocalCalendar(self._cal, overrides) if overrides else self._cal
            self._local_cals[jid] = found
        return found

    def is_working_day_in(self, dept_id: str, day: date) -> bool:
        dept = self.departments.get(dept_id)
        return (self.calendar_of(dept.jurisdiction) if dept else self._cal).is_working_day(day)

    def _local(self, at: datetime) -> tuple[datetime, float]:
        zone = self.timezone
        local = at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)
        # Wall-clock seconds, matching the HH:MM the roster was written in.
        midnight = datetime.combine(local.date(), time())
        return local, (local.replace(tzinfo=None) - midnight).total_seconds()

    def _moment(self, day: date, seconds: int) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.timezone) + timedelta(seconds=seconds)

    def _segment(self, dept_id: str, at: datetime) -> Segment | None:
        if dept_id not in self.departments:
            return None
        local, secs = self._local(at)
        return next(s for s in self._day(dept_id, local.date()) if s.start <= secs < s.end)

    def is_working_time(self, dept_id: str, at: datetime) -> bool:
        seg = self._segment(dept_id, at)
        return seg is not None and seg.working

    def on_duty(self, dept_id: str, at: datetime) -> tuple[Officer, ...]:
        seg = self._segment(dept_id, at)
        return seg.officers if seg else ()

    def is_open(self, dept_id: str, at: datetime) -> bool:
        """Whether a citizen is answered now: the predicate next_opening searches for."""
        seg = self._segment(dept_id, at)
        return seg is not None and seg.open

    def open_periods(self, dept_id: str, day: date) -> tuple[tuple[int, int], ...]:
        """The spans of a local day (seconds since midnight) in which citizens are answered,
        adjacent segments joined: what a week's timetable shows (the public web page)."""
        if dept_id not in self.departments:
            return ()
        spans: list[tuple[int, int]] = []
        for seg in self._day(dept_id, day):
            if not seg.open:
                continue
            if spans and spans[-1][1] == seg.start:
                spans[-1] = (spans[-1][0], seg.end)
            else:
                spans.append((seg.start, seg.end))
        return tuple(spans)

    def next_opening(self, dept_id: str, at: datetime) -> datetime | None:
        if dept_id not in self.departments:
            return None
        local, secs = self._local(at)
        for i in range(HORIZON_DAYS + 1):
            day = local.date() + timedelta(days=i)
            for seg in self._day(dept_id, day):
                if not seg.open or (i == 0 and seg.end <= secs):
                    continue
                return local if i == 0 and seg.start <= secs else self._moment(day, seg.start)
        return None

    def current_period_end(self, dept_id: str, at: datetime) -> datetime | None:
        """When the open period containing `at` ends; None if closed or open past the horizon."""
        seg = self._segment(dept_id, at)
        if seg is None or not seg.open:
            return None
        local, _ = self._local(at)
        for i in range(HORIZON_DAYS + 1):
            day = local.date() + timedelta(days=i)
            for later in self._day(dept_id, day):
                if (i > 0 or later.start >= seg.end) and not later.open:
                    return self._moment(day, later.start)
        return None

    # -- jurisdictions ------------------------------------------------------------------------
    def jurisdiction_chain(self, jid: str) -> list[str]:
        """`jid`, its parent, its parent's parent… up to a top-level jurisdiction."""
        chain: list[str] = []
        while jid in self.jurisdictions and jid not in chain:
            chain.append(jid)
            jid = self.jurisdictions[jid].parent or ""
        return chain

    def jurisdiction_of(self, dept_or_jurisdiction: str) -> str | None:
        """A department's jurisdiction, or the jurisdiction itself; None if neither is known."""
        dept = self.departments.get(dept_or_jurisdiction)
        if dept is not None:
            return dept.jurisdiction
        return dept_or_jurisdiction if dept_or_jurisdiction in self.jurisdictions else None

    def inherited(self, jid: str, attr: str) -> object:
        """The first jurisdiction up the chain from `jid` that sets `attr` (e.g. the city's
        supervision office, else the province's)."""
        for at in self.jurisdiction_chain(jid):
            value = getattr(self.jurisdictions[at], attr)
            if value:
                return value
        return None

    def owner_of_address(self, address: str) -> str | None:
        """The department or jurisdiction whose e-mail address this is (a department's mailbox,
        a jurisdiction's 信箱 or supervision office), for routing what concerns the mail sent
        there; None if no one's."""
        address = address.strip().lower()
        if not address:
            return None
        for dept in self.departments.values():
            if dept.email and dept.email.lower() == address:
                return dept.id
        for jur in self.jurisdictions.values():
            if address in (jur.mailbox_email.lower(), jur.supervision_email.lower()):
                return jur.id
        return None

    # -- text and housekeeping ----------------------------------------------------------------
    def hours_text(self, dept_id: str, lang: str = "zh") -> str:
        dept = self.departments.get(dept_id)
        return text.hours_text(self.hours[dept.hours], lang) if dept else ""

    def calendar_warnings(self, today: date) -> list[str]:
        return self._cal.warnings(today)

    def fingerprint(self) -> str:
        # repr of frozen dataclasses is deterministic and leaves out source positions.
        blob = repr((self.timezone.key, self.example_data, self.jurisdictions, self.departments,
                     self.officers, self.hours, self.shifts, self.calendar))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
