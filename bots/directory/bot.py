"""The directory bot: keeps spaces, department rooms and ghosts in line with the roster."""

from __future__ import annotations

import asyncio
from typing import Any

from mautrix.appservice import IntentAPI
from mautrix.errors import MForbidden
from mautrix.types import (
    EventType,
    Membership,
    RoomCreatePreset,
    RoomDirectoryVisibility,
    StateEvent,
)

from bridge.avatars import SPACE_COLOUR, department_avatar, label_for
from bridge.bot import Bot, on
from bridge.context import BotContext
from bridge.parallel import bounded, provision_concurrency
from bridge.room_versions import recorded_version
from bridge.rooms import create_or_adopt
from bridge.roster import Department, Jurisdiction, Roster

from .db import DirectoryTables
from .layout import GHOST_OWNER, TOP, closed_room_state, room_state, space_state, top_space_state
from .messages import MESSAGES
from .progress import Progress
from .upgrade import upgrade_table
from .welcome import first_visitor

SPACES, ROOMS = "directory_space", "directory_room"
STATUS_CHECK_INTERVAL = 30.0


class DirectoryBot(Bot):
    name = "directory"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = DirectoryTables(ctx.db)
        self._lock = asyncio.Lock()
        self.space_rooms: dict[str, str] = {}
        self.dept_rooms: dict[str, str] = {}
        self._status_task: asyncio.Task[None] | None = None
        self.created = 0  # rooms created since start; a warm restart must leave this at 0
        self._progress: Progress | None = None

    async def start(self) -> None:
        await self.sync()
        self._status_task = asyncio.create_task(self._keep_status_current())

    async def stop(self) -> None:
        if self._status_task is not None:
            self._status_task.cancel()
            await asyncio.gather(self._status_task, return_exceptions=True)

    async def _keep_status_current(self) -> None:
        """Re-check the on-duty lines; a sync sends only the topics whose status changed."""
        while True:
            await asyncio.sleep(STATUS_CHECK_INTERVAL)
            try:
                await self.sync()
            except Exception:
                self.ctx.log.exception("Updating department status failed")

    async def roster_changed(self) -> None:
        await self.sync()

    async def sync(self) -> None:
        """Make Matrix match the roster; only what differs from the last applied state is sent."""
        async with self._lock:
            await self._sync()

    async def _sync(self) -> None:
        roster = self.ctx.roster
        spaces = await self.tables.rooms(SPACES)
        rooms = await self.tables.rooms(ROOMS)
        ghost_names = await self.tables.ghost_names()
        limit = provision_concurrency(self.ctx)
        missing = (TOP not in spaces) + sum(j not in spaces for j in roster.jurisdictions) + sum(
            d not in rooms for d in roster.departments)
        self._progress = None
        if missing:
            self._progress = Progress(self.ctx, missing, len(spaces) + len(rooms))
            await self._progress.begin()
        # Spaces first, top-down: each space (and then each department room) is created with its
        # m.space.parent already in place, so the tree never has to be patched afterwards.
        self.space_rooms[TOP] = await self._sync_top(spaces.get(TOP))
        for level in _levels(roster):
            space_ids = await bounded(limit, (
                self._sync_space(jur, spaces.get(jur.id)) for jur in level
            ))
            self.space_rooms.update(zip((jur.id for jur in level), space_ids, strict=True))
        await bounded(limit, (
            self._sync_department(dept, rooms.get(dept.id), ghost_names.get(dept.id))
            for dept in roster.departments.values()
        ))
        gone = [(dept_id, room_id, applied) for dept_id, (room_id, applied) in rooms.items()
                if dept_id not in roster.departments and not applied.get("closed")]
        await bounded(limit, (self._close(*room) for room in gone))
        if self._progress is not None:
            await self._progress.finish()
            self._progress = None

    async def _sync_top(self, existing: tuple[str, dict[str, Any]] | None) -> str:
        config, t = self.ctx.config, self.ctx.messages
        avatar = await self._avatar(label_for(t("directory.top_space_name"))[:4], SPACE_COLOUR)
        if existing is None:
            new = top_space_state(t, config, self.ctx.rooms.version, avatar)
            existing = await self._create(SPACES, TOP, TOP, new, is_space=True)
        desired = top_space_state(t, config, recorded_version(existing[1]), avatar)
        return await self._ensure(SPACES, TOP, desired, existing, is_space=True)

    async def _sync_space(
        self, jur: Jurisdiction, existing: tuple[str, dict[str, Any]] | None
    ) -> str:
        config, t = self.ctx.config, self.ctx.messages
        avatar = await self._avatar(label_for(jur.name), SPACE_COLOUR)
        if existing is None:
            new = space_state(jur, t, config, self.ctx.rooms.version, avatar)
            existing = await self._create(SPACES, jur.id, f"space_{jur.id}", new, is_space=True)
        # A space keeps the version it was made in, whatever the config says now.
        desired = space_state(jur, t, config, recorded_version(existing[1]), avatar)
        return await self._ensure(SPACES, jur.id, desired, existing, is_space=True)

    async def _sync_department(
        self, dept: Department, existing: tuple[str, dict[str, Any]] | None, ghost_name: str | None
    ) -> None:
        if ghost_name != dept.name:
            # Before the room is made: a profile change after joining is copied into every room.
            await self._ensure_ghost(dept.id, dept.name)
        avatar = await department_avatar(self.ctx, dept)
        if existing is None:
            # The ghost creates its own room: no invite in createRoom and no join after it, the
            # two costliest requests after createRoom itself (issue #7).
            existing = await self._create(
                ROOMS, dept.id, dept.id,
                self._department_state(dept, GHOST_OWNER, self.ctx.rooms.version, avatar),
            )
        # Rooms made by the bot before record no owner and stay the bot's to manage; every room
        # keeps the version it was made in.
        desired = self._department_state(dept, existing[1].get("owner"), recorded_version(existing[1]),
                                         avatar)
        self.dept_rooms[dept.id] = await self._ensure(ROOMS, dept.id, desired, existing)

    def _department_state(self, dept: Department, owner: str | None, version: str,
                          avatar: str | None = None) -> dict[str, Any]:
        return room_state(dept, self.ctx.roster, self.ctx.config, self.ctx.messages,
                          self.ctx.clock.now(), owner, version, avatar)

    async def _avatar(self, label: str, colour: str) -> str | None:
        avatars = self.ctx.avatars
        return await avatars.generated(self.ctx.bot_intent, label, colour) if avatars else None

    async def _close(self, dept_id: str, room_id: str, applied: dict[str, Any]) -> None:
        self.ctx.log.info("Department %s left the roster: marking its room closed", dept_id)
        closed = self._with_placement(
            closed_room_state(applied, dept_id, self.ctx.config, self.ctx.messages), is_space=False
        )
        await self._apply(room_id, dept_id, applied, closed)
        await self.tables.save_room(ROOMS, dept_id, room_id, closed)

    async def _ensure_ghost(self, dept_id: str, name: str) -> None:
        intent = self.ctx.ghost(dept_id)
        await intent.ensure_registered()
        # No read-before-write: the name is known to differ from the one recorded (a new ghost
        # has none), so the check would cost a request per department and save nothing.
        await intent.set_displayname(name, check_current=False)
        await self.tables.save_ghost_name(dept_id, name)

    async def _ensure(
        self,
        table: str,
        key: str,
        desired: dict[str, Any],
        existing: tuple[str, dict[str, Any]],
        *,
        is_space: bool = False,
    ) -> str:
        room_id, applied = existing
        expected = self._with_placement(desired, is_space)
        if applied != expected:
            await self._apply(room_id, None if is_space else key, applied, expected)
            await self.tables.save_room(table, key, room_id, expected)
        return room_id

    def _with_placement(self, desired: dict[str, Any], is_space: bool) -> dict[str, Any]:
        """The desired state plus where the room must stand: listed, ghost joined, in its space."""
        expected = {**desired, "listed": not desired.get("closed", False)}
        if not is_space:
            expected["ghost_joined"] = True
        if "space" in desired:  # every department room and every space but the top one
            expected["space_room"] = self.space_rooms.get(desired["space"])
        return expected

    async def _create(
        self, table: str, key: str, alias: str, desired: dict[str, Any], *, is_space: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Everything createRoom can carry goes in it; records and returns the room and what it
        applied (for a room adopted after a crash only its owner, and all its state is sent
        again)."""
        config = self.ctx.config
        ghost_owned = desired.get("owner") == GHOST_OWNER
        initial_state: list[dict[str, Any]] = [
            {"type": "m.room.history_visibility", "content": {"history_visibility": "world_readable"}},
            {"type": "m.room.guest_access", "content": {"guest_access": "can_join"}},
        ]
        if desired.get("avatar"):
            initial_state.append({"type": "m.room.avatar", "content": {"url": desired["avatar"]}})
        if desired.get("ghost_avatar"):  # before the room, for the same reason as the name
            await self.ctx.ghost(key).set_avatar_url(desired["ghost_avatar"], check_current=False)
        space_room = self.space_rooms.get(desired["space"]) if desired.get("space") else None
        if space_room is not None:
            initial_state.append({
                "type": str(EventType.SPACE_PARENT), "state_key": space_room,
                "content": {"via": [config.domain], "canonical": True},
            })
        room_id, created = await create_or_adopt(
            self.ctx,
            config.prefix + alias,
            intent=self.ctx.ghost(key) if ghost_owned else None,
            visibility=RoomDirectoryVisibility.PUBLIC,
            preset=RoomCreatePreset.PUBLIC,
            name=desired["name"],
            topic=desired["topic"],
            initial_state=initial_state,
            creation_content={"type": "m.space"} if is_space else None,
            invitees=[] if is_space or ghost_owned else [config.ghost_mxid(key)],
            power_level_override=desired["power_levels"],
        )
        if created:
            self.created += 1
            if self._progress is not None:
                await self._progress.made()
            applied = {k: desired[k] for k in ("name", "topic", "power_levels", "owner", "version",
                                               "avatar", "ghost_avatar") if k in desired}
            applied["listed"] = True
            if ghost_owned:
                applied["ghost_joined"] = True  # as the room's creator
            else:
                applied["ghost_invited"] = not is_space
            if space_room is not None:
                applied["space_parent"] = space_room  # the child link in the space is still to send
        else:
            applied = await self._adopted(room_id, None if is_space else key)
        await self.tables.save_room(table, key, room_id, applied)
        return room_id, applied

    async def _adopted(self, room_id: str, dept_id: str | None) -> dict[str, Any]:
        """What stands applied in a room adopted after a crash: its version, and for a
        department room who owns it.

        Its creator decides which of our users can change it. A room whose creation crashed
        under an earlier version is the bot's, so the create event is read rather than assumed;
        the room is world-readable, so this works whether or not the ghost is in it.
        """
        intent = self.ctx.ghost(dept_id) if dept_id else self.ctx.bot_intent
        create = await intent.get_state_event(
            room_id, EventType.ROOM_CREATE, format="event", ensure_joined=False
        )
        applied: dict[str, Any] = {"version": str(create.content.room_version or "1")}
        if dept_id is not None and create.sender == intent.mxid:
            applied["owner"] = GHOST_OWNER
        return applied

    async def _apply(
        self, room_id: str, dept_id: str | None, applied: dict[str, Any], desired: dict[str, Any]
    ) -> None:
        # Changes are sent by the room's creator, the one of our users sure to have the power:
        # the bot for spaces and for department rooms it made, the ghost for rooms it made (the
        # bot is not even a member of those).
        ghost_owned = desired.get("owner") == GHOST_OWNER
        owner = self.ctx.ghost(dept_id) if ghost_owned and dept_id else self.ctx.bot_intent
        if applied.get("name") != desired["name"]:
            await owner.set_room_name(room_id, desired["name"])
        if applied.get("topic") != desired["topic"]:
            await owner.set_room_topic(room_id, desired["topic"])
        if applied.get("power_levels") != desired["power_levels"]:
            await owner.send_state_event(
                room_id, EventType.ROOM_POWER_LEVELS, desired["power_levels"]
            )
        if desired.get("avatar") and applied.get("avatar") != desired["avatar"]:
            await owner.send_state_event(room_id, EventType.ROOM_AVATAR, {"url": desired["avatar"]})
        if dept_id and desired.get("ghost_avatar") and (
                applied.get("ghost_avatar") != desired["ghost_avatar"]):
            await self.ctx.ghost(dept_id).set_avatar_url(desired["ghost_avatar"],
                                                         check_current=False)
        if applied.get("listed") != desired["listed"]:
            visibility = RoomDirectoryVisibility.PUBLIC if desired["listed"] else (
                RoomDirectoryVisibility.PRIVATE
            )
            await owner.set_room_directory_visibility(room_id, visibility)
        if dept_id is None:  # a space: the bot owns it and is in it
            if "space_room" in desired:
                await self._place_in_space(room_id, owner, applied, desired)
            return
        # A ghost that created its room is in it; only a bot-made room has it invited and joined.
        if not ghost_owned and not applied.get("ghost_joined"):
            if not applied.get("ghost_invited"):
                try:
                    await self.ctx.bot_intent.invite_user(room_id, self.ctx.config.ghost_mxid(dept_id))
                except MForbidden:
                    pass  # already a member: the room was adopted after a crash
            await self.ctx.ghost(dept_id).join_room_by_id(room_id)
        await self._place_in_space(room_id, owner, applied, desired)

    async def _place_in_space(
        self, room_id: str, owner: IntentAPI, applied: dict[str, Any], desired: dict[str, Any]
    ) -> None:
        """m.space.parent goes into the room as its owner; m.space.child into the space as the
        bot, which owns every space."""
        bot, via = self.ctx.bot_intent, [self.ctx.config.domain]
        space_room = desired["space_room"]
        old_child = applied.get("space_room")
        # A room created with its m.space.parent records that apart until the child link is sent.
        old_parent = applied.get("space_parent", old_child)
        if old_child and old_child != space_room:
            await bot.send_state_event(old_child, EventType.SPACE_CHILD, {}, state_key=room_id)
        if old_parent and old_parent != space_room:
            await owner.send_state_event(room_id, EventType.SPACE_PARENT, {}, state_key=old_parent)
        if space_room is None:
            return
        if old_parent != space_room:
            await owner.send_state_event(
                room_id, EventType.SPACE_PARENT, {"via": via, "canonical": True}, state_key=space_room
            )
        if old_child != space_room or applied.get("order") != desired["order"]:
            await bot.send_state_event(
                space_room,
                EventType.SPACE_CHILD,
                {"via": via, "order": desired["order"], "suggested": True},
                state_key=room_id,
            )
        desired["space_room"] = space_room

    @on(EventType.ROOM_MEMBER)
    async def invited(self, event: StateEvent) -> None:
        """A citizen opening a DM with a department invites its ghost: accept (or refuse)."""
        if event.content.membership == Membership.JOIN:
            await self._first_visitor(event)
            return
        if event.content.membership != Membership.INVITE:
            return
        dept_id = self.ctx.config.ghost_dept_id(event.state_key)
        if dept_id is None:
            return
        ghost = self.ctx.ghost(dept_id)
        if dept_id in self.ctx.roster.departments:
            await ghost.join_room_by_id(event.room_id)
        else:
            known = dept_id in self.dept_rooms or dept_id in await self.tables.ghost_names()
            reason = "directory.closed_dm_refused" if known else "directory.unknown_dm_refused"
            await ghost.leave_room(event.room_id, reason=self.ctx.messages(reason))

    async def _first_visitor(self, event: StateEvent) -> None:
        """A citizen joined a department room (bots/directory/welcome.py)."""
        if self.ctx.config.is_own_user(event.state_key):
            return
        dept_id = self._dept_of_room(event.room_id)
        if dept_id is not None:
            await first_visitor(self.ctx, event.room_id, dept_id)

    def _dept_of_room(self, room_id: str) -> str | None:
        for dept_id, dept_room in self.dept_rooms.items():
            if dept_room == room_id:
                return dept_id
        return None


def _levels(roster: Roster) -> list[list[Jurisdiction]]:
    """Jurisdictions by depth in the tree (cities before their districts), each in file order."""
    levels: dict[int, list[Jurisdiction]] = {}
    for jur in roster.jurisdictions.values():
        levels.setdefault(len(roster.jurisdiction_chain(jur.id)), []).append(jur)
    return [levels[depth] for depth in sorted(levels)]
