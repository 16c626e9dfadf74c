"""What the directory should look like for a roster: pure functions, no Matrix calls.

Each room's desired state is a flat dict of components; the bot compares it with what it last
applied and sends only the components that differ.
"""

from __future__ import annotations

from typing import Any

from bridge.config import Config
from bridge.messages import Messages
from bridge.roster import Department, Jurisdiction, Roster

# Posting needs 50; citizens have 0, the department's ghost 50, the bot is the room's creator.
POSTING_LEVEL = 50
ADMIN_LEVEL = 100


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


def space_state(jur: Jurisdiction, t: Messages) -> dict[str, Any]:
    return {
        "name": jur.space_name,
        "topic": t("directory.space_topic", jurisdiction=jur.name),
        "power_levels": read_only_power_levels(None),
    }


def room_state(dept: Department, roster: Roster, config: Config, t: Messages) -> dict[str, Any]:
    ghost = config.ghost_mxid(dept.id)
    description = dept.description.strip()
    if description and description[-1] not in "。.!！":
        description += "。" if t.language == "zh" else "."
    if description and t.language == "en":
        description += " "
    topic = t(
        "directory.room_topic",
        description=description,
        hours=roster.hours_text(dept.id, t.language),
        name=dept.name,
        ghost=ghost,
    )
    return {
        "dept_name": dept.name,
        "name": dept.name,
        "topic": topic,
        "power_levels": read_only_power_levels(ghost),
        "space": dept.jurisdiction,
        "order": f"{dept.order:05d}",
        "closed": False,
    }


def closed_room_state(last: dict[str, Any], dept_id: str, config: Config, t: Messages) -> dict[str, Any]:
    """A removed department's room is kept (links and history stay valid), marked closed."""
    dept_name = last.get("dept_name", dept_id)
    return {
        **last,
        "name": t("directory.closed_name", name=dept_name),
        "topic": t("directory.closed_topic"),
        "power_levels": read_only_power_levels(config.ghost_mxid(dept_id)),
        "order": "z" + str(last.get("order", "")),
        "closed": True,
    }
