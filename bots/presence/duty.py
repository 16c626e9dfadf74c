"""What a department's presence should say at a moment: pure, from the roster alone."""

from __future__ import annotations

from datetime import datetime

from mautrix.types import PresenceState

from bridge.messages import Messages
from bridge.roster import Roster
from bridge.roster.status import ALWAYS, NO_OPENING, OPEN, UNSTAFFED, duty_status


def presence_of(dept_id: str, roster: Roster, t: Messages, now: datetime) -> tuple[PresenceState, str]:
    """Online with until when while the department is on duty (as its room's topic says), and
    unavailable with when it opens next otherwise."""
    status, lang = duty_status(roster, dept_id, now), t.language
    if status.kind == ALWAYS:
        return PresenceState.ONLINE, t("presence.on_duty_always")
    if status.kind == OPEN:
        return PresenceState.ONLINE, t("presence.on_duty", until=status.until_text(lang))
    if status.kind == UNSTAFFED:
        return PresenceState.UNAVAILABLE, t("presence.unstaffed")
    if status.kind == NO_OPENING:
        return PresenceState.UNAVAILABLE, t("presence.no_opening")
    return PresenceState.UNAVAILABLE, t("presence.closed", next=status.opens_text(lang))
