"""Whether a department is on duty at a moment, and until or from when: the one definition the
directory's topics, the presence bot and the consultation greeting all word in their own way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .roster import Roster
from .text import moment_text

OPEN, ALWAYS, UNSTAFFED, CLOSED, NO_OPENING = "open", "always", "unstaffed", "closed", "no_opening"


@dataclass(frozen=True)
class DutyStatus:
    # open: on duty until `until`; always: on duty with no end in sight (a 24-hour service);
    # unstaffed: working time but nobody on duty; closed: opens at `opens`; no_opening: none ahead
    kind: str
    local_now: datetime
    until: datetime | None = None
    opens: datetime | None = None

    @property
    def on_duty(self) -> bool:
        return self.kind in (OPEN, ALWAYS)

    def until_text(self, lang: str) -> str:
        return moment_text(self.until, self.local_now, lang) if self.until else ""

    def opens_text(self, lang: str) -> str:
        return moment_text(self.opens, self.local_now, lang) if self.opens else ""


def duty_status(roster: Roster, dept_id: str, at: datetime) -> DutyStatus:
    local = at.astimezone(roster.timezone)
    if roster.is_open(dept_id, local):
        until = roster.current_period_end(dept_id, local)
        if until is None:
            return DutyStatus(ALWAYS, local)
        return DutyStatus(OPEN, local, until=until.astimezone(roster.timezone))
    if roster.is_working_time(dept_id, local):
        return DutyStatus(UNSTAFFED, local)
    opening = roster.next_opening(dept_id, local)
    if opening is None:
        return DutyStatus(NO_OPENING, local)
    return DutyStatus(CLOSED, local, opens=opening.astimezone(roster.timezone))
