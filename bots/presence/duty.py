"""What a department's presence should say at a moment: pure, from the roster alone."""

from __future__ import annotations

from datetime import datetime

from mautrix.types import PresenceState

from bridge.messages import Messages
from bridge.roster import Roster
from bridge.roster.text import moment_text


def presence_of(dept_id: str, roster: Roster, t: Messages, now: datetime) -> tuple[PresenceState, str]:
    """Online with until when while the department is open (as its room's topic says), and
    unavailable with when it opens next otherwise."""
    local = now.astimezone(roster.timezone)
    if roster.is_open(dept_id, local):
        until = roster.current_period_end(dept_id, local)
        if until is None:
            return PresenceState.ONLINE, t("presence.on_duty_always")
        return PresenceState.ONLINE, t("presence.on_duty",
                                       until=moment_text(until, local, t.language))
    if roster.is_working_time(dept_id, local):
        return PresenceState.UNAVAILABLE, t("presence.unstaffed")
    opening = roster.next_opening(dept_id, local)
    if opening is None:
        return PresenceState.UNAVAILABLE, t("presence.no_opening")
    when = moment_text(opening.astimezone(roster.timezone), local, t.language)
    return PresenceState.UNAVAILABLE, t("presence.closed", next=when)
