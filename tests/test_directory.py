"""The directory against a real Synapse: spaces, read-only department rooms, ghosts, DMs."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nio
import pytest

from bots.directory import DirectoryBot
from bots.directory.bot import ROOMS
from bridge.avatars import department_avatar
from bridge.roster import Department
from bridge.runtime import Runtime
from tests.conftest import HOMESERVER_ROOM_VERSION
from tests.kit.bridge import BridgeSettings, InProcessBridge, running_bridge, write_config
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import ALWAYS_OPEN
from tests.kit.requests import count_requests
from tests.kit.stack import Stack


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


async def resolve(user: MatrixUser, alias: str) -> str:
    status, body = await user.request("GET", f"/_matrix/client/v3/directory/room/{q(alias)}")
    assert status == 200, body
    return body["room_id"]


async def hierarchy(user: MatrixUser, space_id: str) -> dict[str, dict]:
    status, body = await user.request(
        "GET", f"/_matrix/client/v1/rooms/{q(space_id)}/hierarchy?limit=100"
    )
    assert status == 200, body
    return {room["room_id"]: room for room in body["rooms"]}


async def room_state(user: MatrixUser, room_id: str, event_type: str) -> dict:
    status, body = await user.request(
        "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/{event_type}"
    )
    assert status == 200, body
    return body


async def sender_of(user: MatrixUser, room_id: str, event_type: str) -> str:
    """Who sent the current state event (`type` or `type/state_key`): which of our users acted."""
    status, body = await user.request(
        "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/{event_type}?format=event"
    )
    assert status == 200, body
    return body["sender"]


async def members(user: MatrixUser, room_id: str) -> dict[str, str]:
    """Every membership in the room's current state, invites and leaves included."""
    status, body = await user.request("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state")
    assert status == 200, body
    return {e["state_key"]: e["content"]["membership"] for e in body
            if e["type"] == "m.room.member"}


async def applied(bridge: InProcessBridge, dept_id: str) -> dict[str, Any]:
    """What the directory bot recorded as applied to a department's room."""
    assert bridge.runtime is not None
    directory: DirectoryBot = bridge.runtime.bots[0]
    return (await directory.tables.rooms(ROOMS))[dept_id][1]


async def test_citizen_finds_space_joins_room_cannot_post_and_can_dm(
    stack: Stack, bridge: InProcessBridge, users: UserFactory, prefix: str
) -> None:
    citizen = await users("citizen")
    space_id = await resolve(citizen, f"#{prefix}space_zj:localhost")

    # The space is listed in the public room directory, under its name.
    status, listing = await citizen.request(
        "POST", "/_matrix/client/v3/publicRooms",
        {"filter": {"generic_search_term": f"{prefix}space_zj"}, "limit": 10},
    )
    assert status == 200
    [entry] = [r for r in listing["chunk"] if r["room_id"] == space_id]
    assert entry["name"] == "浙江政务通 · 网上值班室"
    assert entry.get("room_type") == "m.space"

    rooms = await hierarchy(citizen, space_id)
    names = {room.get("name") for rid, room in rooms.items() if rid != space_id}
    assert names == {"浙江省发展和改革委员会", "浙江省公安厅", "浙江省财政厅"}

    fgw_room = await resolve(citizen, f"#{prefix}fgw:localhost")
    assert fgw_room in rooms
    topic = rooms[fgw_room]["topic"]
    assert "08:30" in topic and f"@{prefix}fgw:localhost" in topic

    # Anyone may join a department room, but nobody but the department may post in it.
    await citizen.join(fgw_room)
    resp = await citizen.send_text(fgw_room, "你好")
    assert isinstance(resp, nio.RoomSendError) and resp.status_code == "M_FORBIDDEN"
    # Never a two-member room holding the department, which some clients take for "the DM":
    # the bot joins when the first citizen does.
    bot = bridge.runtime.config.bot_mxid  # type: ignore[union-attr]
    await eventually(lambda: _membership_is(citizen, fgw_room, bot, "join"))
    joined = [m for m, state in (await members(citizen, fgw_room)).items() if state == "join"]
    assert len(joined) == 3
    # ... and the department pins a welcome that says how to ask.
    await eventually(lambda: _pinned(citizen, fgw_room))
    [welcome_id] = (await room_state(citizen, fgw_room, "m.room.pinned_events"))["pinned"]
    status, welcome = await citizen.request(
        "GET", f"/_matrix/client/v3/rooms/{q(fgw_room)}/event/{q(welcome_id)}")
    assert status == 200 and welcome["sender"] == f"@{prefix}fgw:localhost"
    assert "如何咨询" in welcome["content"]["body"]
    # Its account is a pill (Element opens the account's card; a bare ID left for matrix.to).
    assert (f'点击部门账号<a href="https://matrix.to/#/@{prefix}fgw:localhost">浙江省发展和改革委员会</a>开始私聊'
            in welcome["content"]["formatted_body"]), welcome["content"]
    assert f"「浙江省发展和改革委员会」（@{prefix}fgw:localhost）" in welcome["content"]["body"]
    assert "<br>" in welcome["content"]["formatted_body"]

    # The department's ghost carries its name and accepts a DM.
    ghost = f"@{prefix}fgw:localhost"
    status, profile = await citizen.request("GET", f"/_matrix/client/v3/profile/{q(ghost)}")
    assert status == 200 and profile["displayname"] == "浙江省发展和改革委员会"
    dm = await citizen.create_dm(ghost)
    await eventually(lambda: _membership_is(citizen, dm, ghost, "join"))

    # The other jurisdiction has its own space.
    hz_space = await resolve(citizen, f"#{prefix}space_hz:localhost")
    hz_rooms = await hierarchy(citizen, hz_space)
    assert {r.get("name") for r in hz_rooms.values()} >= {"杭州市发展和改革委员会"}


async def test_a_24_hour_departments_welcome_offers_no_other_times(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory, prefix: str
) -> None:
    """Its pinned welcome says someone is always on duty, as its topic does (it said "at
    other times leave a message", seen in Element Web on the example's 24-hour 公安厅)."""
    (roster_dir / "hours.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    bridge_settings.rosters = [str(roster_dir / "*.yaml")]
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings)):
        citizen = await users("citizen")
        room = await resolve(citizen, f"#{prefix}gat:localhost")
        await citizen.join(room)
        await eventually(lambda: _pinned(citizen, room))
        [welcome_id] = (await room_state(citizen, room, "m.room.pinned_events"))["pinned"]
        _, welcome = await citizen.request(
            "GET", f"/_matrix/client/v3/rooms/{q(room)}/event/{q(welcome_id)}")
        body = welcome["content"]["body"]
        assert "如何咨询" in body and "有人值班" in body and "留言" not in body


async def _pinned(user: MatrixUser, room_id: str) -> bool:
    status, _ = await user.request(
        "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/m.room.pinned_events")
    return status == 200


async def _membership_is(user: MatrixUser, room_id: str, member: str, membership: str) -> bool:
    return (await user.members(room_id)).get(member) == membership


@asynccontextmanager
async def roster_bridge(
    settings: BridgeSettings, roster_dir: Path, tmp_path: Path
) -> AsyncIterator[InProcessBridge]:
    """A bridge on the roster files in `roster_dir`, so editing them changes what it applies."""
    settings.rosters = [str(roster_dir / "*.yaml")]
    async with running_bridge(write_config(tmp_path / "config.yaml", settings)) as running:
        yield running


@pytest.fixture
async def first(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path
) -> AsyncIterator[InProcessBridge]:
    async with roster_bridge(bridge_settings, roster_dir, tmp_path) as running:
        yield running


async def _sync_department_as_before(
    self: DirectoryBot,
    dept: Department,
    existing: tuple[str, dict[str, Any]] | None,
    ghost_name: str | None,
) -> None:
    """How department rooms were made before issue #7: by the bot, the ghost invited in
    createRoom and joining after, no owner recorded (the rooms existing deployments have)."""
    if ghost_name != dept.name:
        await self._ensure_ghost(dept.id, dept.name)
    desired = self._department_state(dept, None, self.ctx.rooms.version,
                                     await department_avatar(self.ctx, dept))
    if existing is None:
        existing = await self._create(ROOMS, dept.id, dept.id, desired)
    self.dept_rooms[dept.id] = await self._ensure(ROOMS, dept.id, desired, existing)


@pytest.fixture
async def made_by_the_bot(
    monkeypatch: pytest.MonkeyPatch, bridge_settings: BridgeSettings, roster_dir: Path,
    tmp_path: Path,
) -> AsyncIterator[InProcessBridge]:
    """Like `first`, but its department rooms are made the old way; `monkeypatch.undo()` lets a
    later bridge run today's code on them."""
    monkeypatch.setattr(DirectoryBot, "_sync_department", _sync_department_as_before)
    async with roster_bridge(bridge_settings, roster_dir, tmp_path) as running:
        yield running


async def warm_restart(first: InProcessBridge, stack: Stack) -> tuple[InProcessBridge, Runtime]:
    """The same bridge started again: it must create no room and send no state (no PUT)."""
    again = InProcessBridge(first.config_path)
    with count_requests(stack.url) as (counts, _):
        runtime = await again.start()
    created = runtime.bots[0].created
    changed = [kind for kind in counts
               if kind.startswith("PUT") or "createRoom" in kind or "media/v3/upload" in kind]
    if created or changed:
        await again.stop()
        raise AssertionError(f"a warm restart created {created} rooms and sent {changed}")
    return again, runtime


def edit_roster(roster_dir: Path) -> None:
    """Rename gat, move hzfgw from the hz space to zj, and remove czt."""
    roster_file = roster_dir / "departments.yaml"
    text = roster_file.read_text(encoding="utf-8")
    text = text.replace("name: 浙江省公安厅", "name: 浙江省公安厅（测试更名）")
    text = text.replace("    jurisdiction: hz\n", "    jurisdiction: zj\n")
    start = text.index("  - id: czt")
    end = text.index("  - id: hzfgw")
    roster_file.write_text(text[:start] + text[end:], encoding="utf-8")


async def test_a_new_department_room_is_created_by_its_ghost_without_invite_or_join(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory, prefix: str,
) -> None:
    running = InProcessBridge(write_config(tmp_path / "config.yaml", bridge_settings))
    with count_requests(stack.url) as (counts, _):
        runtime = await running.start()
    try:
        directory = runtime.bots[0]
        assert directory.created == 7  # the top space, two spaces and four rooms
        # No invite inside createRoom, no join after it, and no no-op join by any creator.
        joins = {kind: n for kind, n in counts.items() if "join" in kind or "invite" in kind}
        assert joins == {}, joins
        citizen = await users("citizen")
        room = await resolve(citizen, f"#{prefix}fgw:localhost")
        assert directory.dept_rooms["fgw"] == room
        ghost, bot = f"@{prefix}fgw:localhost", runtime.config.bot_mxid
        create = await room_state(citizen, room, "m.room.create")
        assert create["room_version"] == HOMESERVER_ROOM_VERSION
        assert await sender_of(citizen, room, "m.room.create") == ghost
        # The ghost alone is in the room: the bot is not needed there.
        assert await members(citizen, room) == {ghost: "join"}
        # A creator is never listed in power_levels in version 12 (it refuses it), and must be
        # before it.
        levels = await room_state(citizen, room, "m.room.power_levels")
        expected = {} if HOMESERVER_ROOM_VERSION == "12" else {ghost: 100}
        assert levels["users"] == expected and levels["events_default"] == 50
        await citizen.join(room)
        assert not [e for e in await citizen.history(room) if e["type"] == "m.room.member"
                    and e["content"].get("membership") == "invite"]
        assert (await applied(running, "fgw"))["owner"] == "ghost"
        # Still listed in the public room directory, and a child of its space.
        status, listing = await citizen.request(
            "GET", f"/_matrix/client/v3/directory/list/room/{q(room)}"
        )
        assert status == 200 and listing["visibility"] == "public"
        space = await resolve(citizen, f"#{prefix}space_zj:localhost")
        assert room in await hierarchy(citizen, space)
        assert await sender_of(citizen, space, f"m.space.child/{q(room)}") == bot
    finally:
        await running.stop()


async def test_roster_changes_rename_and_close_rooms_and_warm_restart_creates_nothing(
    first: InProcessBridge, roster_dir: Path, users: UserFactory, prefix: str,
) -> None:
    runtime = first.runtime
    assert runtime is not None
    directory = runtime.bots[0]
    assert directory.created == 7  # the top space, two spaces and four rooms
    citizen = await users("citizen")
    gat_room = await resolve(citizen, f"#{prefix}gat:localhost")
    czt_room = await resolve(citizen, f"#{prefix}czt:localhost")

    roster_file = roster_dir / "departments.yaml"
    text = roster_file.read_text(encoding="utf-8")
    text = text.replace("name: 浙江省公安厅", "name: 浙江省公安厅（测试更名）")
    start = text.index("  - id: czt")
    end = text.index("  - id: hzfgw")
    roster_file.write_text(text[:start] + text[end:], encoding="utf-8")
    assert await runtime.rosters.check_now()

    name = await room_state(citizen, gat_room, "m.room.name")
    assert name["name"] == "浙江省公安厅（测试更名）"
    closed = await room_state(citizen, czt_room, "m.room.name")
    assert closed["name"] == "浙江省财政厅（已停止服务）"
    assert "不在网上值班室" in (await room_state(citizen, czt_room, "m.room.topic"))["topic"]
    # Each room was changed by its ghost, which created it; the bot is not in these rooms.
    assert await sender_of(citizen, gat_room, "m.room.name") == f"@{prefix}gat:localhost"
    assert await sender_of(citizen, czt_room, "m.room.name") == f"@{prefix}czt:localhost"
    status, listing = await citizen.request(
        "GET", f"/_matrix/client/v3/directory/list/room/{q(czt_room)}"
    )
    assert status == 200 and listing["visibility"] == "private"
    await first.stop()

    second = InProcessBridge(first.config_path)
    runtime = await second.start()
    try:
        assert runtime.bots[0].created == 0
        assert runtime.bots[0].dept_rooms["gat"] == gat_room
        # A DM to the closed department's ghost is refused, not left hanging.
        dm = await citizen.create_dm(f"@{prefix}czt:localhost")
        await eventually(
            lambda: _membership_is(citizen, dm, f"@{prefix}czt:localhost", "leave")
        )
    finally:
        await second.stop()


async def test_rooms_are_born_in_their_space_move_between_spaces_and_warm_restart_sends_nothing(
    first: InProcessBridge, stack: Stack, roster_dir: Path, users: UserFactory, prefix: str,
) -> None:
    runtime = first.runtime
    assert runtime is not None
    citizen = await users("citizen")
    room = await resolve(citizen, f"#{prefix}hzfgw:localhost")
    zj = await resolve(citizen, f"#{prefix}space_zj:localhost")
    hz = await resolve(citizen, f"#{prefix}space_hz:localhost")
    # The parent link came with createRoom; the space's child link followed.
    parent = await room_state(citizen, room, f"m.space.parent/{q(hz)}")
    assert parent == {"via": ["localhost"], "canonical": True}
    assert room in await hierarchy(citizen, hz)

    roster_file = roster_dir / "departments.yaml"
    text = roster_file.read_text(encoding="utf-8")
    roster_file.write_text(text.replace("    jurisdiction: hz\n", "    jurisdiction: zj\n"),
                           encoding="utf-8")
    assert await runtime.rosters.check_now()
    assert room in await hierarchy(citizen, zj)
    assert room not in await hierarchy(citizen, hz)
    assert await room_state(citizen, room, f"m.space.parent/{q(hz)}") == {}
    assert (await room_state(citizen, room, f"m.space.parent/{q(zj)}"))["canonical"] is True
    # The room's links are its ghost's to change, the spaces' links the bot's.
    ghost = f"@{prefix}hzfgw:localhost"
    assert await sender_of(citizen, room, f"m.space.parent/{q(hz)}") == ghost
    assert await sender_of(citizen, room, f"m.space.parent/{q(zj)}") == ghost
    assert await sender_of(citizen, zj, f"m.space.child/{q(room)}") == runtime.config.bot_mxid
    await first.stop()

    second, _ = await warm_restart(first, stack)
    await second.stop()


async def test_a_room_made_before_a_crash_is_adopted_with_its_ghost_as_owner(
    first: InProcessBridge, stack: Stack, users: UserFactory, prefix: str,
) -> None:
    """As if the bridge died between the ghost's createRoom and recording the room."""
    runtime = first.runtime
    assert runtime is not None
    room = runtime.bots[0].dept_rooms["gat"]
    recorded = await applied(first, "gat")
    await runtime.db.execute("DELETE FROM directory_room WHERE dept_id='gat'")
    await first.stop()

    again = InProcessBridge(first.config_path)
    with count_requests(stack.url) as (counts, _):
        runtime = await again.start()
    try:
        directory = runtime.bots[0]
        assert directory.created == 0
        assert directory.dept_rooms["gat"] == room
        # One createRoom, refused because the alias is taken; nothing made twice.
        assert counts["POST /_matrix/client/v3/createRoom"] == 1
        assert await applied(again, "gat") == recorded
        citizen = await users("citizen")
        ghost = f"@{prefix}gat:localhost"
        assert await resolve(citizen, f"#{prefix}gat:localhost") == room
        # Its state was sent again, by the ghost that owns it.
        assert await sender_of(citizen, room, "m.room.power_levels") == ghost
        assert await members(citizen, room) == {ghost: "join"}
    finally:
        await again.stop()


async def test_rooms_the_bot_made_before_stay_the_bots_to_manage(
    made_by_the_bot: InProcessBridge, monkeypatch: pytest.MonkeyPatch, stack: Stack,
    roster_dir: Path, users: UserFactory, prefix: str,
) -> None:
    first = made_by_the_bot
    assert first.runtime is not None
    bot = first.runtime.config.bot_mxid
    citizen = await users("citizen")
    rooms = {d: await resolve(citizen, f"#{prefix}{d}:localhost") for d in ("gat", "czt", "hzfgw")}
    ghost = f"@{prefix}gat:localhost"
    assert await sender_of(citizen, rooms["gat"], "m.room.create") == bot
    assert await members(citizen, rooms["gat"]) == {bot: "join", ghost: "join"}
    assert "owner" not in await applied(first, "gat")
    await first.stop()
    monkeypatch.undo()

    # Today's code on them: a warm restart changes nothing, the recorded state included.
    second, runtime = await warm_restart(first, stack)
    try:
        edit_roster(roster_dir)
        assert await runtime.rosters.check_now()
        renamed = await room_state(citizen, rooms["gat"], "m.room.name")
        assert renamed["name"] == "浙江省公安厅（测试更名）"
        assert await sender_of(citizen, rooms["gat"], "m.room.name") == bot
        assert (await room_state(citizen, rooms["czt"], "m.room.name"))["name"] == (
            "浙江省财政厅（已停止服务）"
        )
        assert await sender_of(citizen, rooms["czt"], "m.room.name") == bot
        zj = await resolve(citizen, f"#{prefix}space_zj:localhost")
        assert rooms["hzfgw"] in await hierarchy(citizen, zj)
        assert await sender_of(citizen, rooms["hzfgw"], f"m.space.parent/{q(zj)}") == bot
        for dept_id in ("gat", "czt", "hzfgw"):
            assert "owner" not in await applied(second, dept_id)
        # A crash between the bot's createRoom and its record, under the earlier version: the
        # adopted room is still the bot's.
        await runtime.db.execute("DELETE FROM directory_room WHERE dept_id='gat'")
    finally:
        await second.stop()

    third = InProcessBridge(first.config_path)
    runtime = await third.start()
    try:
        assert runtime.bots[0].created == 0
        assert runtime.bots[0].dept_rooms["gat"] == rooms["gat"]
        assert "owner" not in await applied(third, "gat")
        assert await sender_of(citizen, rooms["gat"], "m.room.power_levels") == bot
        levels = await room_state(citizen, rooms["gat"], "m.room.power_levels")
        creator = {} if HOMESERVER_ROOM_VERSION == "12" else {bot: 100}
        assert levels["users"] == {ghost: 50, **creator}
    finally:
        await third.stop()
