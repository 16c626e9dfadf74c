"""Keeps each department's officers' room in line with the roster: members and supervisors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventType, RoomCreatePreset

from bridge.bot import Bot
from bridge.context import BotContext
from bridge.roster import Department

from .messages import MESSAGES
from .upgrade import upgrade_table

SUPERVISOR_LEVEL = 50


def power_levels(dept: Department) -> dict[str, Any]:
    return {
        "users": {mxid: SUPERVISOR_LEVEL for mxid in sorted(dept.supervisors)},
        "users_default": 0,
        "events_default": 0,
        "state_default": 100,
        "invite": 100,
        "kick": 100,
        "ban": 100,
        "redact": SUPERVISOR_LEVEL,
        "events": {},
    }


def members(dept: Department) -> list[str]:
    return sorted({o.mxid for o in dept.officers} | set(dept.supervisors))


class OfficersBot(Bot):
    name = "officers"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self._lock = asyncio.Lock()
        self.rooms: dict[str, str] = {}

    async def start(self) -> None:
        await self.sync()

    async def roster_changed(self) -> None:
        await self.sync()

    def room_of(self, dept_id: str) -> str | None:
        return self.rooms.get(dept_id)

    async def sync(self) -> None:
        async with self._lock:
            rows = await self.ctx.db.fetch("SELECT dept_id, room_id, applied FROM officers_room")
            stored = {r["dept_id"]: (r["room_id"], json.loads(r["applied"])) for r in rows}
            for dept in self.ctx.roster.departments.values():
                self.rooms[dept.id] = await self._sync_room(dept, stored.get(dept.id))

    async def _sync_room(self, dept: Department, stored: tuple[str, dict] | None) -> str:
        t, bot = self.ctx.messages, self.ctx.bot_intent
        short = dept.short_name or dept.name
        desired = {
            "name": t("officers.room_name", name=short),
            "topic": t("officers.room_topic", name=dept.name),
            "power_levels": power_levels(dept),
            "members": members(dept),
        }
        if stored is None:
            room_id, created = await self._find_or_create(dept, desired)
            # A new room already has its name, topic and power levels; an adopted one may not.
            applied: dict[str, Any] = (
                {k: desired[k] for k in ("name", "topic", "power_levels")} if created else {}
            )
        else:
            room_id, applied = stored
        if applied == desired:
            return room_id
        if applied.get("name") != desired["name"]:
            await bot.set_room_name(room_id, desired["name"])
        if applied.get("topic") != desired["topic"]:
            await bot.set_room_topic(room_id, desired["topic"])
        if applied.get("power_levels") != desired["power_levels"]:
            await bot.send_state_event(room_id, EventType.ROOM_POWER_LEVELS, desired["power_levels"])
        done = await self._sync_members(room_id, set(applied.get("members", [])), desired["members"])
        desired["members"] = done
        await self.ctx.db.execute(
            "INSERT INTO officers_room (dept_id, room_id, applied) VALUES ($1, $2, $3)"
            " ON CONFLICT (dept_id) DO UPDATE SET room_id=excluded.room_id, applied=excluded.applied",
            dept.id, room_id, json.dumps(desired, ensure_ascii=False, sort_keys=True),
        )
        return room_id

    async def _find_or_create(self, dept: Department, desired: dict[str, Any]) -> tuple[str, bool]:
        alias = f"{self.ctx.config.prefix}officers_{dept.id}"
        existing = await self.ctx.room_by_alias(alias)
        if existing is not None:
            return existing, False
        room_id = await self.ctx.bot_intent.create_room(
            alias_localpart=alias,
            preset=RoomCreatePreset.PRIVATE,
            name=desired["name"],
            topic=desired["topic"],
            power_level_override=desired["power_levels"],
            invitees=[self.ctx.config.ghost_mxid(dept.id)],
            initial_state=[
                {"type": "m.room.history_visibility", "content": {"history_visibility": "shared"}},
            ],
        )
        await self.ctx.ghost(dept.id).join_room_by_id(room_id)
        return room_id, True

    async def _sync_members(self, room_id: str, applied: set[str], desired: list[str]) -> list[str]:
        """Invite newcomers, remove departed officers; returns the members actually in place."""
        bot, reason = self.ctx.bot_intent, self.ctx.messages("officers.removed_reason")
        in_place = set(applied)
        for mxid in desired:
            if mxid in applied:
                continue
            try:
                await bot.invite_user(room_id, mxid)
                in_place.add(mxid)
            except MatrixRequestError as e:
                if "already in the room" in (e.message or ""):
                    in_place.add(mxid)
                else:
                    self.ctx.log.warning("Could not invite %s to %s: %s", mxid, room_id, e)
        for mxid in applied - set(desired):
            try:
                await bot.kick_user(room_id, mxid, reason=reason)
            except MatrixRequestError as e:
                self.ctx.log.warning("Could not remove %s from %s: %s", mxid, room_id, e)
            in_place.discard(mxid)
        return sorted(in_place)
