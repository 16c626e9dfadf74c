"""The directory against a real Synapse: spaces, read-only department rooms, ghosts, DMs."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import nio
import pytest

from tests.kit.bridge import BridgeSettings, InProcessBridge, write_config
from tests.kit.clients import MatrixUser, UserFactory, eventually
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


async def _membership_is(user: MatrixUser, room_id: str, member: str, membership: str) -> bool:
    return (await user.members(room_id)).get(member) == membership


@pytest.fixture
async def first(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path
) -> AsyncIterator[InProcessBridge]:
    """A bridge on the roster files in `roster_dir`, so editing them changes what it applies."""
    bridge_settings.rosters = [str(roster_dir / "*.yaml")]
    running = InProcessBridge(write_config(tmp_path / "config.yaml", bridge_settings))
    await running.start()
    yield running
    await running.stop()


async def test_roster_changes_rename_and_close_rooms_and_warm_restart_creates_nothing(
    first: InProcessBridge, roster_dir: Path, users: UserFactory, prefix: str,
) -> None:
    runtime = first.runtime
    assert runtime is not None
    directory = runtime.bots[0]
    assert directory.created == 6  # two spaces and four rooms
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
    await first.stop()

    second = InProcessBridge(first.config_path)
    with count_requests(stack.url) as (counts, _):
        runtime = await second.start()
    try:
        assert runtime.bots[0].created == 0
        changed = [kind for kind in counts if kind.startswith("PUT") or "createRoom" in kind]
        assert changed == [], changed
    finally:
        await second.stop()
