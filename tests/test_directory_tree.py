"""The province-wide tree of spaces against a real Synapse (issue #18): from the top space
浙江政务通 · 网上值班室 the hierarchy API reaches every department room of the example roster,
provisioning resumes after a crash with its progress told, and moving a district to another
parent moves its space without making a room."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bots.directory import bot as directory_bot
from bots.directory.bot import SPACES
from bots.directory.layout import TOP
from bridge.rooms import create_or_adopt
from tests.kit.bridge import BridgeSettings, InProcessBridge, running_bridge, write_config
from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.stack import Stack
from tests.test_consultation import has
from tests.test_directory import q, resolve, room_state, warm_restart

ROOT = Path(__file__).resolve().parent.parent
# The example without officers and shifts: every department room and space, no officers' rooms.
FILES = ("cities.yaml", "departments.yaml", "hours.yaml", "calendar.yaml")


async def whole_hierarchy(user: MatrixUser, space_id: str) -> dict[str, dict]:
    """Every room below the space, following the server's pagination."""
    rooms: dict[str, dict] = {}
    token = ""
    while True:
        path = f"/_matrix/client/v1/rooms/{q(space_id)}/hierarchy?limit=50"
        status, body = await user.request("GET", path + (f"&from={q(token)}" if token else ""))
        assert status == 200, body
        rooms.update({room["room_id"]: room for room in body["rooms"]})
        token = body.get("next_batch") or ""
        if not token:
            return rooms


async def test_the_top_space_reaches_every_department_of_the_province_and_districts_move(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory,
    prefix: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Also: provisioning killed half-way resumes, and says so in the administrators' room."""
    roster = tmp_path / "roster"
    roster.mkdir()
    for name in FILES:
        shutil.copy(ROOT / "rosters" / "example" / name, roster / name)
    bridge_settings.rosters = [str(roster / "*.yaml")]
    admin = await users("admin")
    bridge_settings.extra["admins"] = [admin.user_id]
    config = write_config(tmp_path / "config.yaml", bridge_settings)

    # The first start dies after 60 rooms (as if killed): the next one resumes.
    made = 0

    async def dies_after_60(*args: Any, **kwargs: Any) -> Any:
        nonlocal made
        if made >= 60:
            raise RuntimeError("simulated crash while provisioning")
        made += 1
        return await create_or_adopt(*args, **kwargs)

    monkeypatch.setattr(directory_bot, "create_or_adopt", dies_after_60)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await InProcessBridge(config).start()
    monkeypatch.undo()

    async with running_bridge(config) as first:
        runtime = first.runtime
        assert runtime is not None
        directory = runtime.bots[0]
        example = runtime.rosters.current
        assert len(example.departments) == 141 and len(example.jurisdictions) == 13
        assert directory.created == 1 + 13 + 141 - 60  # only what was missing
        # Progress reached the administrators' room: resumed, and done.
        admins_room = await resolve(admin, f"#{prefix}admins:localhost")
        await admin.join(admins_room)
        await admin.wait_for(admins_room, has("共需创建 95 个（此前已创建 60 个"))
        await admin.wait_for(admins_room, has("网上值班室创建完成：本次创建 95 个房间"))
        citizen = await users("citizen")
        top = await resolve(citizen, f"#{prefix}space:localhost")
        assert top == directory.space_rooms[TOP]
        rooms = await whole_hierarchy(citizen, top)
        assert rooms[top]["name"] == "浙江政务通 · 网上值班室"
        assert rooms[top].get("room_type") == "m.space"
        for dept_id, room_id in directory.dept_rooms.items():
            assert room_id in rooms, dept_id
            assert rooms[room_id]["name"] == example.departments[dept_id].name
        # The top space's children: the provincial space first, then the cities in roster order.
        children = sorted(rooms[top]["children_state"], key=lambda e: e["content"]["order"])
        first_levels = [rooms[c["state_key"]]["name"] for c in children]
        assert first_levels[:3] == ["浙江省级部门 · 网上值班室", "杭州市 · 网上值班室",
                                    "宁波市 · 网上值班室"]
        assert len(first_levels) == 12  # the province and 11 cities; 西湖区 is below 杭州
        hz, xh = directory.space_rooms["hz"], directory.space_rooms["hzxh"]
        assert xh in {c["state_key"] for c in rooms[hz]["children_state"]}
        assert (await room_state(citizen, xh, f"m.space.parent/{q(hz)}"))["canonical"] is True
        assert rooms[hz]["topic"].startswith("杭州市市级部门的网上值班室")
        district_room = directory.dept_rooms["hzxhjyj"]
        assert district_room in await whole_hierarchy(citizen, hz)

        # 西湖区 moves under the province: its space moves, no room is made, nothing else moves.
        cities = roster / "cities.yaml"
        cities.write_text(cities.read_text(encoding="utf-8").replace(
            "    parent: hz\n", "    parent: zj\n"), encoding="utf-8")
        assert await runtime.rosters.check_now()
        assert directory.created == 1 + 13 + 141 - 60
        assert directory.space_rooms["hzxh"] == xh
        assert xh not in await whole_hierarchy(citizen, hz)
        zj_tree = await whole_hierarchy(citizen, directory.space_rooms["zj"])
        assert xh in zj_tree and district_room in zj_tree
        assert await room_state(citizen, xh, f"m.space.parent/{q(hz)}") == {}
        spaces = await directory.tables.rooms(SPACES)
        assert spaces["hzxh"][1]["space_room"] == directory.space_rooms["zj"]
    again, _ = await warm_restart(first, stack)
    await again.stop()
