"""The bridge's rooms are room version 12 whatever the homeserver's default: their power levels
give the creator power by that version's rules. A homeserver without it is refused at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bridge.runtime import Runtime
from tests.conftest import DATA
from tests.kit.bridge import running_bridge, write_config
from tests.kit.clients import UserFactory
from tests.kit.stack import Stack, start_stack
from tests.test_directory import hierarchy, resolve, room_state
from tests.test_roster_live import officers_yaml


@pytest.fixture(scope="module")
def stack_defaulting_to_10(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("v10"), {"default_room_version": "10"})
    try:
        yield running
    finally:
        running.synapse.stop()


async def test_rooms_are_version_12_and_managed_on_a_homeserver_defaulting_to_10(
    stack_defaulting_to_10: Stack, database_url: str, prefix: str, tmp_path: Path,
) -> None:
    stack = stack_defaulting_to_10
    users = UserFactory(stack)
    try:
        officer, citizen = await users("officer"), await users("citizen")
        roster = tmp_path / "roster"
        roster.mkdir()
        (roster / "departments.yaml").write_text(
            (DATA / "rosters" / "small" / "departments.yaml").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        (roster / "officers.yaml").write_text(officers_yaml((officer.user_id, "张")),
                                              encoding="utf-8")
        settings = stack.bridge_settings(database_url, prefix, [str(roster / "*.yaml")])
        async with running_bridge(write_config(tmp_path / "config.yaml", settings)) as running:
            assert running.runtime is not None
            directory, officers = running.runtime.bots[0], running.runtime.bots[1]
            space = await resolve(citizen, f"#{prefix}space_zj:localhost")
            await citizen.join(space)
            await officer.join(officers.rooms["fgw"])
            readable = [(citizen, room) for room in [space, *directory.dept_rooms.values()]]
            for user, room in [*readable, (officer, officers.rooms["fgw"])]:
                assert (await room_state(user, room, "m.room.create"))["room_version"] == "12"
            # The bot holds power in the spaces it made, by version 12's rule: its child links are
            # there. (Without the pin Synapse refuses the first createRoom, whose override does
            # not list the creator.)
            assert directory.dept_rooms["fgw"] in await hierarchy(citizen, space)
    finally:
        for user in users.made:
            await user.close()


async def test_a_homeserver_without_version_12_is_refused_by_name() -> None:
    async def capabilities(*_: Any) -> dict[str, Any]:
        return {"capabilities": {"m.room_versions": {"default": "10",
                                                     "available": {"10": "stable", "11": "stable"}}}}

    runtime = Runtime.__new__(Runtime)
    runtime.az = SimpleNamespace(intent=SimpleNamespace(api=SimpleNamespace(request=capabilities)))
    with pytest.raises(RuntimeError, match="room version 12 .*offers 10, 11"):
        await runtime._check_room_version()
