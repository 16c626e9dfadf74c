"""The validated roster model: frozen, hashable, and built once per load."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

DayKind = str  # "every_day" | "workdays" | "rest_days" | "weekdays"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Jurisdiction:
    """A province, city, district or county: one space in the directory's tree (issue #18).

    `parent` places it under another jurisdiction's space (a district under its city); without
    it the space hangs from the top space. The optional per-jurisdiction settings below apply to
    the jurisdiction's departments and, unless a lower level sets its own, to those below it.
    """

    id: str
    name: str
    space_name: str
    order: int
    parent: str | None = None
    topic: str = ""
    # Its own administrators' room and who is invited to it; the province's sees everything.
    admins: tuple[str, ...] = ()
    # Supervisors of every department here that names none itself.
    supervisors: tuple[str, ...] = ()
    # Working hours (a working_hours name) of its departments that name none.
    hours: str | None = None
    # Where complaints about its agencies go (监督投诉): never to the accused agency.
    supervision_name: str = ""
    supervision_email: str = ""
    # Its head's mailbox (市长信箱), offered by the mailbox bot next to the governor's.
    mailbox_name: str = ""
    mailbox_email: str = ""
    # Local calendar overrides for its departments (and those below it): a city's own rest day
    # (e.g. a typhoon closure) or make-up working day, on top of the province-wide calendar.
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class Officer:
    mxid: str
    alias: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short_name: str
    category: str
    jurisdiction: str
    email: str
    description: str
    order: int
    hours: str
    supervisors: tuple[str, ...]
    officers: tuple[Officer, ...]
    show_citizen_id: bool
    sign_replies_with_alias: bool
    # The department's own avatar image (an absolute path), instead of the generated one.
    avatar: str | None = None


@dataclass(frozen=True)
class Period:
    """Seconds since local midnight; a shift's end may exceed 86400 when it crosses midnight."""

    start: int
    end: int


@dataclass(frozen=True)
class HoursSet:
    name: str
    workdays: tuple[Period, ...] = ()
    rest_days: tuple[Period, ...] = ()
    every_day: tuple[Period, ...] = ()
    text_zh: str | None = None
    text_en: str | None = None

    def periods(self, working_day: bool) -> tuple[Period, ...]:
        own = self.workdays if working_day else self.rest_days
        return tuple(sorted(own + self.every_day, key=lambda p: p.start))


@dataclass(frozen=True)
class DaySpec:
    kind: DayKind
    weekdays: tuple[int, ...] = ()  # 0 = Monday, only for kind "weekdays"


@dataclass(frozen=True)
class Rotation:
    anchor: date
    every_days: int
    groups: tuple[tuple[Officer, ...], ...]

    def group(self, day: date) -> tuple[Officer, ...]:
        # Floor division keeps the cycle correct for days before the anchor too.
        return self.groups[((day - self.anchor).days // self.every_days) % len(self.groups)]


@dataclass(frozen=True)
class Shift:
    department: str
    name: str
    days: DaySpec
    dates: tuple[date, ...] | None  # when set, replaces `days`
    period: Period
    officers: tuple[Officer, ...]
    rotation: Rotation | None
    any_day: bool
    valid_from: date | None
    valid_until: date | None
    # file:line for `roster show`; left out of comparison so moving a shift is not a change.
    where: str = field(default="", repr=False, compare=False)

    def officers_on(self, day: date) -> tuple[Officer, ...]:
        return self.rotation.group(day) if self.rotation else self.officers


@dataclass(frozen=True)
class CalendarYear:
    year: int
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]
    provisional: bool
