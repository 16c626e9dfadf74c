"""An officers' room: what it should look like, how it is made, where it is recorded.

Shared with the consultation bot, which makes the room on demand when a citizen writes to a
department whose roster names nobody (the officers bot makes rooms only for staffed departments).
"""

from __future__ import annotations

import json
from typing import Any

from mautrix.types import RoomCreatePreset
from mautrix.util.async_db import Database

from bridge.context import BotContext
from bridge.room_versions import with_creator
from bridge.rooms import create_or_adopt
from bridge.rooms import version_of as room_version
from bridge.roster import Department

SUPERVISOR_LEVEL = 50
TABLE = "officers_room"


def power_levels(dept: Department, creator: str, version: str) -> dict[str, Any]:
    """The bot creates the room: before room version 12 it is listed at 100 (see
    bridge/room_versions.py)."""
    return with_creator({
        "users": {mxid: SUPERVISOR_LEVEL for mxid in sorted(dept.supervisors)},
        "users_default": 0,
        "events_default": 0,
        "state_default": 100,
        "invite": 100,
        "kick": 100,
        "ban": 100,
        "redact": SUPERVISOR_LEVEL,
        "events": {},
    }, creator, version)


def members(dept: Department) -> list[str]:
    return sorted({o.mxid for o in dept.officers} | set(dept.supervisors))


# A short name that starts with its level (市公安局, 区民政局) is the same in every city or district.
AMBIGUOUS_SHORT_PREFIXES = ("市", "区", "县")


def room_name(ctx: BotContext, dept: Department) -> str:
    """The short name (省公安厅), except one that every city or district has alike (市公安局):
    then the full name (杭州市公安局), since an officer may sit in the rooms of several."""
    short = dept.short_name
    if not short or short.startswith(AMBIGUOUS_SHORT_PREFIXES):
        return dept.name
    return short


def alias_localpart(ctx: BotContext, dept_id: str) -> str:
    return f"{ctx.config.prefix}officers_{dept_id}"


def desired_state(ctx: BotContext, dept: Department, version: str | None = None,
                  avatar: str | None = None) -> dict[str, Any]:
    """What the room should look like; `version`: the room's (a new room's: the configured one).
    Recorded with the room, since a room keeps the version it was made in. `avatar`: the
    department's image (the directory's), so officers find the room by it."""
    t, version = ctx.messages, version or ctx.rooms.version
    state = {
        "name": t("officers.room_name", name=room_name(ctx, dept)),
        "topic": t("officers.room_topic", name=dept.name),
        "power_levels": power_levels(dept, ctx.config.bot_mxid, version),
        "members": members(dept),
        "version": version,
    }
    if avatar:
        state["avatar"] = avatar
    return state


async def create_room(
    ctx: BotContext, dept: Department, desired: dict[str, Any]
) -> tuple[str, dict[str, Any], bool]:
    """(room_id, what was applied, created): members are invited by createRoom itself.

    A room adopted after a crash (or after createRoom failed half-way, e.g. on one bad invite)
    has nothing recorded as applied, so all of its state is sent again.
    """
    ghost = ctx.config.ghost_mxid(dept.id)
    initial_state: list[dict[str, Any]] = [
        {"type": "m.room.history_visibility", "content": {"history_visibility": "shared"}},
    ]
    if desired.get("avatar"):
        initial_state.append({"type": "m.room.avatar", "content": {"url": desired["avatar"]}})
    if ctx.encryption is not None and ctx.config["consultation.encrypt_officers_rooms"]:
        # Everything the bots send here is then encrypted by the outbox (bridge/crypto).
        initial_state.append({"type": "m.room.encryption",
                              "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
    room_id, created = await create_or_adopt(
        ctx,
        alias_localpart(ctx, dept.id),
        preset=RoomCreatePreset.PRIVATE,
        name=desired["name"],
        topic=desired["topic"],
        power_level_override=desired["power_levels"],
        invitees=[ghost, *desired["members"]],
        initial_state=initial_state,
    )
    await ctx.ghost(dept.id).join_room_by_id(room_id)
    if created:
        applied = {k: desired[k] for k in ("name", "topic", "power_levels", "members", "version",
                                           "avatar") if k in desired}
    else:  # adopted after a crash: only its version is known (its state is sent again)
        applied = {"version": await room_version(ctx.bot_intent, room_id)}
    return room_id, applied, created


async def open_on_demand(ctx: BotContext, dept: Department) -> str:
    """The department's room, made now if missing, and recorded for the officers bot to keep."""
    room_id, applied, created = await create_room(ctx, dept, desired_state(ctx, dept))
    if created and await ctx.db.table_exists(TABLE):
        await OfficersTable(ctx.db).add(dept.id, room_id, applied)
    return room_id


class OfficersTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def rooms(self) -> dict[str, tuple[str, dict[str, Any]]]:
        rows = await self.db.fetch(f"SELECT dept_id, room_id, applied FROM {TABLE}")
        return {r["dept_id"]: (r["room_id"], json.loads(r["applied"])) for r in rows}

    async def save(self, dept_id: str, room_id: str, applied: dict[str, Any]) -> None:
        await self.db.execute(
            f"INSERT INTO {TABLE} (dept_id, room_id, applied) VALUES ($1, $2, $3)"
            " ON CONFLICT (dept_id) DO UPDATE SET room_id=excluded.room_id, applied=excluded.applied",
            dept_id, room_id, _dump(applied),
        )

    async def add(self, dept_id: str, room_id: str, applied: dict[str, Any]) -> None:
        """Records a room made on demand, unless the officers bot recorded it meanwhile (its
        record, with the members it invited, is the more complete one)."""
        await self.db.execute(
            f"INSERT INTO {TABLE} (dept_id, room_id, applied) VALUES ($1, $2, $3)"
            " ON CONFLICT (dept_id) DO NOTHING",
            dept_id, room_id, _dump(applied),
        )


def _dump(applied: dict[str, Any]) -> str:
    return json.dumps(applied, ensure_ascii=False, sort_keys=True)
