"""Keeps each department's officers' room in line with the roster: members and supervisors."""

from __future__ import annotations

import asyncio
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventType

from bridge.avatars import department_avatar
from bridge.bot import Bot
from bridge.context import BotContext
from bridge.parallel import bounded, provision_concurrency
from bridge.room_versions import recorded_version
from bridge.roster import Department

from .messages import MESSAGES
from .rooms import (
    OfficersTable,
    create_room,
    desired_state,
    members,
)
from .upgrade import upgrade_table


class OfficersBot(Bot):
    name = "officers"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.table = OfficersTable(ctx.db)
        self._lock = asyncio.Lock()
        self.rooms: dict[str, str] = {}
        self.created = 0  # rooms created since start; a warm restart must leave this at 0

    async def start(self) -> None:
        await self.sync()

    async def roster_changed(self) -> None:
        await self.sync()

    def room_of(self, dept_id: str) -> str | None:
        return self.rooms.get(dept_id)

    async def sync(self) -> None:
        async with self._lock:
            stored = await self.table.rooms()
            # A room nobody is on the roster to read is not made (most departments of a large
            # roster have no one yet); the consultation bot makes one when a citizen writes.
            # A room that exists keeps following the roster, also when its last officer leaves.
            depts = [d for d in self.ctx.roster.departments.values()
                     if d.id in stored or members(d)]
            await bounded(provision_concurrency(self.ctx),
                          (self._sync_dept(dept, stored.get(dept.id)) for dept in depts))

    async def _sync_dept(self, dept: Department, stored: tuple[str, dict[str, Any]] | None) -> None:
        self.rooms[dept.id] = await self._sync_room(dept, stored)

    async def _sync_room(self, dept: Department, stored: tuple[str, dict[str, Any]] | None) -> str:
        bot = self.ctx.bot_intent
        avatar = await department_avatar(self.ctx, dept)
        if stored is None:
            room_id, applied, created = await create_room(
                self.ctx, dept, desired_state(self.ctx, dept, avatar=avatar))
            self.created += created
        else:
            room_id, applied = stored
        desired = desired_state(self.ctx, dept, recorded_version(applied), avatar)  # the room's version
        if applied == desired:
            if stored is None:
                await self.table.save(dept.id, room_id, applied)
            return room_id
        if applied.get("name") != desired["name"]:
            await bot.set_room_name(room_id, desired["name"])
        if applied.get("topic") != desired["topic"]:
            await bot.set_room_topic(room_id, desired["topic"])
        if applied.get("power_levels") != desired["power_levels"]:
            await bot.send_state_event(room_id, EventType.ROOM_POWER_LEVELS, desired["power_levels"])
        if desired.get("avatar") and applied.get("avatar") != desired["avatar"]:
            await bot.send_state_event(room_id, EventType.ROOM_AVATAR, {"url": desired["avatar"]})
        done = await self._sync_members(room_id, set(applied.get("members", [])), desired["members"])
        desired["members"] = done
        await self.table.save(dept.id, room_id, desired)
        return room_id

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
