"""Room versions 10, 11 and 12: the bridge creates rooms in `appservice.room_version`, or the
homeserver's default, with power levels right for that version (before 12 the creator must be
listed at 100; from 12 it must not be). Older clients cannot read version 12 (issue #14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bridge.room_versions import RoomSettings, choose_version, with_creator
from bridge.runtime import Runtime
from tests.kit.clients import UserFactory
from tests.kit.duty import start_duty_room
from tests.kit.stack import Stack, start_stack
from tests.test_consultation import body_of, has, in_thread, open_case, send, thread_reply
from tests.test_directory import hierarchy, resolve, room_state


@pytest.fixture(scope="module")
def stack_defaulting_to_10(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("v10"), {"default_room_version": "10"})
    try:
        yield running
    finally:
        running.synapse.stop()


@pytest.mark.parametrize("configured", ["", "11", "12"])
async def test_directory_officers_and_relay_in_each_version(
    stack_defaulting_to_10: Stack, database_url: str, prefix: str, tmp_path: Path,
    roster_dir: Path, configured: str,
) -> None:
    """On a homeserver defaulting to 10: the default follows it; 11 and 12 when configured.
    The space lists its rooms (the bot holds power in it), the department's ghost posts in its
    read-only room and can rename it, and a case is relayed both ways."""
    stack, version = stack_defaulting_to_10, configured or "10"
    users = UserFactory(stack)
    settings = stack.bridge_settings(database_url, prefix, [str(roster_dir / "*.yaml")])
    settings.extra["appservice.room_version"] = configured
    duty = await start_duty_room(settings, roster_dir, tmp_path, users)
    try:
        directory, citizen = duty.bot("directory"), await users("citizen")
        space = await resolve(citizen, f"#{prefix}space_zj:localhost")
        fgw_room = directory.dept_rooms["fgw"]
        for room in (space, fgw_room, duty.officers_rooms["fgw"]):
            reader = citizen if room != duty.officers_rooms["fgw"] else duty.officers["fgw1"]
            assert (await room_state(reader, room, "m.room.create"))["room_version"] == version
        assert fgw_room in await hierarchy(citizen, space)
        levels = await room_state(citizen, fgw_room, "m.room.power_levels")
        listed = levels["users"].get(duty.ghost("fgw"))
        assert listed == (None if version == "12" else 100)  # the ghost made it: its creator
        officer_levels = await room_state(duty.officers["fgw1"], duty.officers_rooms["fgw"],
                                          "m.room.power_levels")
        bot = duty.runtime.config.bot_mxid
        assert officer_levels["users"].get(bot) == (None if version == "12" else 100)

        # The ghost, as the room's creator, can change it: a rename from the roster applies.
        departments = roster_dir / "departments.yaml"
        departments.write_text(departments.read_text(encoding="utf-8").replace(
            "浙江省发展和改革委员会", "浙江省发展和改革委员会（改名）"), encoding="utf-8")
        assert await duty.runtime.rosters.check_now()
        await directory.sync()
        assert "（改名）" in (await room_state(citizen, fgw_room, "m.room.name"))["name"]

        dm, root, _ = await open_case(duty, citizen, "fgw", "请问版本测试")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        await send(officer, room, thread_reply(root, "已收到，版本测试答复"))
        [answer] = await citizen.wait_for(dm, has("版本测试答复"))
        assert answer["sender"] == duty.ghost("fgw")
        await citizen.send_text(dm, "谢谢")
        await officer.wait_for(room, in_thread(root, "谢谢"))
        assert body_of(answer)
    finally:
        await duty.bridge.stop()
        for user in users.made:
            await user.close()


def test_power_levels_list_the_creator_only_before_version_12() -> None:
    levels = {"users": {"@a:x": 50}, "users_default": 0}
    assert with_creator(levels, "@bot:x", "12") is levels
    for version in ("10", "11"):
        assert with_creator(levels, "@bot:x", version)["users"] == {"@a:x": 50, "@bot:x": 100}
    assert levels["users"] == {"@a:x": 50}  # not changed in place


def test_the_version_is_chosen_from_config_and_capabilities() -> None:
    caps = {"capabilities": {"m.room_versions": {"default": "10",
                                                 "available": {"10": "stable", "11": "stable"}}}}
    assert choose_version("", caps) == "10"
    assert choose_version("11", caps) == "11"
    with pytest.raises(RuntimeError, match="room version 12 .*offers 10, 11"):
        choose_version("12", caps)
    old = {"capabilities": {"m.room_versions": {"default": "9", "available": {"9": "stable"}}}}
    with pytest.raises(RuntimeError, match="Room version 9 .*homeserver's default.*10, 11, 12"):
        choose_version("", old)


async def test_a_homeserver_without_the_configured_version_is_refused_by_name() -> None:
    async def capabilities(*_: Any) -> dict[str, Any]:
        return {"capabilities": {"m.room_versions": {"default": "10",
                                                     "available": {"10": "stable", "11": "stable"}}}}

    runtime = Runtime.__new__(Runtime)
    runtime.az = SimpleNamespace(intent=SimpleNamespace(api=SimpleNamespace(request=capabilities)))
    runtime.config = {"appservice.room_version": "12"}  # type: ignore[assignment]
    runtime.room_settings = RoomSettings()
    with pytest.raises(RuntimeError, match="room version 12 .*offers 10, 11"):
        await runtime._choose_room_version()
