"""The staff space per jurisdiction (浙江省 · 政府版): every department's officers' room of that
jurisdiction and a staff lobby (业务交流) whose members are its officers, supervisors and the
administrators, kept in step with the roster like the officers' rooms.

Separate from the public directory's spaces (bots/directory): citizens are never invited, and
the rooms are private. What was applied is recorded per jurisdiction, so a warm restart sends
only what changed; rooms are created under aliases of their own, so a crash in between finds
them instead of making more."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventType, RoomCreatePreset

from bots.officers.rooms import TABLE as OFFICERS_TABLE
from bots.officers.rooms import members as dept_members
from bridge.rooms import create_or_adopt

if TYPE_CHECKING:
    from .bot import NoticesBot


class StaffSpaces:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.spaces: dict[str, str] = {}  # jurisdiction → space
        self.lobbies: dict[str, str] = {}

    async def officers_rooms(self) -> dict[str, str]:
        if not await self.ctx.db.table_exists(OFFICERS_TABLE):
            return {}
        rows = await self.ctx.db.fetch(f"SELECT dept_id, room_id FROM {OFFICERS_TABLE}")
        return {r["dept_id"]: r["room_id"] for r in rows}

    async def sync(self) -> None:
        if not self.ctx.config.get("notices.staff_spaces", True):
            return
        roster, rooms = self.ctx.roster, await self.officers_rooms()
        stored = {r["jurisdiction"]: r for r in await self.ctx.db.fetch(
            "SELECT jurisdiction, space_id, lobby_id, applied FROM notice_space")}
        admins = sorted(self.ctx.config["admins"] or [])
        for jur in roster.jurisdictions.values():
            depts = [d for d in roster.departments.values() if d.jurisdiction == jur.id]
            children = sorted(rooms[d.id] for d in depts if d.id in rooms)
            people = sorted({m for d in depts for m in dept_members(d)} | set(admins))
            if not children and jur.id not in stored:
                continue  # nobody staffed yet: no space to look at
            try:
                await self._sync_one(jur, children, people, stored.get(jur.id))
            except MatrixRequestError as e:
                self.ctx.log.warning("Staff space of %s not in step: %s", jur.id, e)

    async def _sync_one(self, jur: Any, children: list[str], people: list[str],
                        row: Any) -> None:
        t, prefix = self.ctx.messages, self.ctx.config.prefix
        if row is None:
            space = await self._room(f"{prefix}staff_{jur.id}", t("notices.space_name", name=jur.name),
                                     t("notices.space_topic", name=jur.name), space=True)
            lobby = await self._room(f"{prefix}staff_lobby_{jur.id}",
                                     t("notices.lobby_name", name=jur.name),
                                     t("notices.lobby_topic", name=jur.name), space=False)
            applied: dict[str, Any] = {"children": [], "members": []}
        else:
            space, lobby = row["space_id"], row["lobby_id"]
            applied = json.loads(row["applied"])
        self.spaces[jur.id], self.lobbies[jur.id] = space, lobby
        desired = {"children": sorted({lobby, *children}), "members": people}
        if applied == desired:
            return
        bot, via = self.ctx.bot_intent, [self.ctx.config.domain]
        for child in desired["children"]:
            if child in applied["children"]:
                continue
            await bot.send_state_event(space, EventType.SPACE_CHILD, {"via": via}, state_key=child)
            await bot.send_state_event(child, EventType.SPACE_PARENT, {"via": via, "canonical": False},
                                       state_key=space)
        for gone in set(applied["children"]) - set(desired["children"]):
            await bot.send_state_event(space, EventType.SPACE_CHILD, {}, state_key=gone)
        in_place = set(applied["members"])
        for mxid in people:
            if mxid in in_place:
                continue
            for room in (space, lobby):
                try:
                    await bot.invite_user(room, mxid)
                except MatrixRequestError as e:
                    if "already in the room" not in (e.message or ""):
                        self.ctx.log.info("Could not invite %s to %s: %s", mxid, room, e)
            in_place.add(mxid)
        for mxid in in_place - set(people):
            for room in (space, lobby):
                try:
                    await bot.kick_user(room, mxid, reason=t("notices.lobby_removed"))
                except MatrixRequestError as e:
                    self.ctx.log.info("Could not remove %s from %s: %s", mxid, room, e)
        await self.ctx.db.execute(
            "INSERT INTO notice_space (jurisdiction, space_id, lobby_id, applied)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (jurisdiction) DO UPDATE"
            " SET space_id=excluded.space_id, lobby_id=excluded.lobby_id, applied=excluded.applied",
            jur.id, space, lobby, json.dumps(desired, sort_keys=True))

    async def _room(self, alias: str, name: str, topic: str, *, space: bool) -> str:
        initial: list[dict[str, Any]] = [
            {"type": "m.room.history_visibility", "content": {"history_visibility": "shared"}}]
        if (not space and self.ctx.encryption is not None
                and self.ctx.config["consultation.encrypt_officers_rooms"]):
            initial.append({"type": "m.room.encryption",
                            "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        room_id, _ = await create_or_adopt(
            self.ctx, alias, preset=RoomCreatePreset.PRIVATE, name=name, topic=topic,
            initial_state=initial, creation_content={"type": "m.space"} if space else None)
        return room_id
