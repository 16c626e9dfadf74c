"""Which room version the bridge's rooms get, and what that means for their power levels.

Kept apart from rooms.py (which needs the bot context) so the context can hold the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Rooms recorded before their version was recorded were all made in room version 12.
RECORDED_BEFORE = "12"
ADMIN_LEVEL = 100
# Older clients cannot read a version-12 create event (nheko 0.11 cannot parse it, so the province
# space never shows as a space), so the version is a choice; these are the ones whose power rules
# the bridge knows.
SUPPORTED = ("10", "11", "12")


@dataclass
class RoomSettings:
    """The room version new rooms get: `appservice.room_version`, or the homeserver's default
    when that is empty. Worked out against the homeserver's capabilities at start."""

    version: str = "12"


def creator_has_power(version: str) -> bool:
    """Room version 12 gives a room's creators unlimited power and refuses a power-levels
    content that lists them in `users`; before it, a creator is an ordinary user who must be
    listed at 100 (an override that leaves it out makes it powerless, and Synapse refuses it)."""
    return not version.isdigit() or int(version) >= 12


def with_creator(levels: dict[str, Any], creator: str, version: str) -> dict[str, Any]:
    """Power levels for a room `creator` made in `version`: the creator listed where needed."""
    if creator_has_power(version):
        return levels
    return {**levels, "users": {**levels.get("users", {}), creator: ADMIN_LEVEL}}


def choose_version(configured: str, capabilities: dict[str, Any]) -> str:
    """The version to create rooms in, from the config and the homeserver's /capabilities;
    a clear error when the homeserver does not offer it."""
    versions = capabilities.get("capabilities", {}).get("m.room_versions", {})
    available = versions.get("available")
    offered = sorted(available) if isinstance(available, dict) else []
    version = str(configured or "").strip() or str(versions.get("default") or RECORDED_BEFORE)
    if version not in SUPPORTED:
        source = "appservice.room_version" if configured else "the homeserver's default"
        raise RuntimeError(
            f"Room version {version} ({source}) is not one the bridge supports "
            f"({', '.join(SUPPORTED)}); set appservice.room_version to one of them."
        )
    if offered and version not in offered:
        raise RuntimeError(
            f"The homeserver does not offer room version {version} (it offers "
            f"{', '.join(offered)}). Set appservice.room_version to one it offers, or upgrade "
            "the homeserver."
        )
    return version


def recorded_version(applied: dict[str, Any]) -> str:
    """The version a room was recorded with (rooms recorded before versions were: 12)."""
    return str(applied.get("version") or RECORDED_BEFORE)
