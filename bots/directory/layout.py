"""What the directory should look like for a roster: pure functions, no Matrix calls.

Each room's desired state is a flat dict of components; the bot compares it with what it last
applied and sends only the components that differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.config import Config
from bridge.messages import Messages
from bridge.room_versions import recorded_version, with_creator
from bridge.roster import Department, Jurisdiction, Roster
from bridge.roster.status import ALWAYS, NO_OPENING, OPEN, UNSTAFFED, duty_status

# Posting needs 50; citizens have 0, the department's ghost 50, the room's creator everything.
POSTING_LEVEL = 50
ADMIN_LEVEL = 100

# A department room's creator: its ghost since issue #7 (no invite and no join to pay for), the
# bridge bot before. Rooms the bot made record no owner, so their stored state stays as it was.
GHOST_OWNER = "ghost"


def read_only_power_levels(ghost: str | None) -> dict[str, Any]:
    return {
        "users": {ghost: POSTING_LEVEL} if ghost else {},
        "users_default": 0,
        "events_default": POSTING_LEVEL,
        "state_default": ADMIN_LEVEL,
        "invite": ADMIN_LEVEL,
        "kick": ADMIN_LEVEL,
        "ban": ADMIN_LEVEL,
        "redact": ADMIN_LEVEL,
        "events": {},
        "notifications": {"room": ADMIN_LEVEL},
    }


def department_power_levels(
    config: Config, dept_id: str, owner: str | None, version: str
) -> dict[str, Any]:
    """A ghost that created its room posts as its creator: in room version 12 that is unlimited
    power without an entry in `users` (listing it is refused); before 12 it is listed at 100. A
    room the bot created lists the ghost at the posting level (and the bot, before 12)."""
    ghost = config.ghost_mxid(dept_id)
    if owner == GHOST_OWNER:
        return with_creator(read_only_power_levels(None), ghost, version)
    return with_creator(read_only_power_levels(ghost), config.bot_mxid, version)


# The top space's key in the spaces table and its alias localpart: "space" is a reserved
# jurisdiction id, so no jurisdiction can collide with it.
TOP = "space"


def space_state(
    jur: Jurisdiction, t: Messages, config: Config, version: str, avatar: str | None = None
) -> dict[str, Any]:
    """A space as the bot made it in `version` (recorded with it: rooms keep their version).

    `space` names the space it hangs from: its parent jurisdiction's, or the top space.
    """
    state = {
        "name": jur.space_name,
        "topic": jur.topic or t("directory.space_topic", jurisdiction=jur.name),
        "power_levels": with_creator(read_only_power_levels(None), config.bot_mxid, version),
        "version": version,
        "space": jur.parent or TOP,
        "order": f"{jur.order:05d}",
    }
    if avatar:
        state["avatar"] = avatar
    return state


def top_space_state(t: Messages, config: Config, version: str,
                    avatar: str | None = None) -> dict[str, Any]:
    """The space above every jurisdiction's (浙江政务通 · 网上值班室): browse everything from it."""
    state = {
        "name": t("directory.top_space_name"),
        "topic": t("directory.top_space_topic"),
        "power_levels": with_creator(read_only_power_levels(None), config.bot_mxid, version),
        "version": version,
    }
    if avatar:
        state["avatar"] = avatar
    return state


def status_text(dept: Department, roster: Roster, t: Messages, now: datetime) -> str:
    """The live line at the top of a department room's topic: on duty now, or when it opens."""
    status, lang = duty_status(roster, dept.id, now), t.language
    if status.kind == ALWAYS:
        return t("directory.status_open_always")
    if status.kind == OPEN:
        return t("directory.status_open", until=status.until_text(lang))
    if status.kind == UNSTAFFED:
        return t("directory.status_unstaffed")
    if status.kind == NO_OPENING:
        return t("directory.status_no_opening")
    return t("directory.status_closed", next=status.opens_text(lang))


def room_state(
    dept: Department, roster: Roster, config: Config, t: Messages, now: datetime,
    owner: str | None, version: str, avatar: str | None = None,
) -> dict[str, Any]:
    """`avatar`: the department's image, for its room and its account."""
    ghost = config.ghost_mxid(dept.id)
    description = dept.description.strip()
    if description and description[-1] not in "。.!！":
        description += "。" if t.language == "zh" else "."
    if description and t.language == "en":
        description += " "
    # Open now with no end in sight (a 24-hour service): no "leave a message out of hours".
    always = duty_status(roster, dept.id, now).kind == ALWAYS
    topic = t(
        "directory.room_topic_always" if always else "directory.room_topic",
        status=status_text(dept, roster, t, now),
        description=description,
        hours=roster.hours_text(dept.id, t.language),
        name=dept.name,
        ghost=ghost,
    )
    state: dict[str, Any] = {
        "dept_name": dept.name,
        "name": dept.name,
        "topic": topic,
        "power_levels": department_power_levels(config, dept.id, owner, version),
        "version": version,
        "space": dept.jurisdiction,
        "order": f"{dept.order:05d}",
        "closed": False,
    }
    if owner is not None:
        state["owner"] = owner
    if avatar:
        state["avatar"] = state["ghost_avatar"] = avatar
    return state


def closed_room_state(last: dict[str, Any], dept_id: str, config: Config, t: Messages) -> dict[str, Any]:
    """A removed department's room is kept (links and history stay valid), marked closed."""
    dept_name = last.get("dept_name", dept_id)
    return {
        **last,
        "name": t("directory.closed_name", name=dept_name),
        "topic": t("directory.closed_topic"),
        "power_levels": department_power_levels(config, dept_id, last.get("owner"),
                                                recorded_version(last)),
        "order": "z" + str(last.get("order", "")),
        "closed": True,
    }
