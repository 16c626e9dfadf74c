"""Roster edits while the bridge runs against Synapse: officers' rooms, live status, refusals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge.clock import FixedClock
from tests.kit.bridge import BridgeSettings, InProcessBridge, running_bridge, write_config
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.stack import Stack
from tests.test_directory import q, resolve, room_state

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def officers_yaml(*officers: tuple[str, str]) -> str:
    lines = ["officers:"]
    for mxid, alias in officers:
        lines += [f'  - mxid: "{mxid}"', f"    alias: {alias}", "    departments: [fgw]"]
    return "\n".join(lines) + "\n"


async def membership(user: MatrixUser, room_id: str, member: str) -> str | None:
    status, body = await user.request(
        "GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/m.room.member/{q(member)}"
    )
    return body.get("membership") if status == 200 else None


async def test_roster_edits_follow_live_and_broken_edits_are_refused(
    stack: Stack, bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    users: UserFactory, prefix: str,
) -> None:
    first, second, admin = await users("officer"), await users("officer"), await users("admin")
    officers_file = roster_dir / "officers.yaml"
    officers_file.write_text(officers_yaml((first.user_id, "值班员 01")), encoding="utf-8")
    bridge_settings.rosters = [str(roster_dir / "*.yaml")]
    bridge_settings.extra["admins"] = [admin.user_id]
    bridge_settings.extra["rosters.poll_interval"] = 0.2  # the real hot-reload loop
    clock = FixedClock(FRIDAY_10)
    running = InProcessBridge(write_config(tmp_path / "config.yaml", bridge_settings), clock)
    runtime = await running.start()
    try:
        officers_bot = next(b for b in runtime.bots if b.name == "officers")
        directory = next(b for b in runtime.bots if b.name == "directory")
        admin_bot = next(b for b in runtime.bots if b.name == "admin")
        room = officers_bot.room_of("fgw")
        await first.join(room)
        assert await membership(first, room, first.user_id) == "join"

        citizen = await users("citizen")
        fgw_room = await resolve(citizen, f"#{prefix}fgw:localhost")
        topic = (await room_state(citizen, fgw_room, "m.room.topic"))["topic"]
        assert topic.startswith("【值班中】") and "12:00" in topic

        # The first officer leaves the roster, the second joins it: saving the file is enough.
        officers_file.write_text(officers_yaml((second.user_id, "值班员 02")), encoding="utf-8")
        await eventually(lambda: _is(membership(first, room, first.user_id), "leave"))
        assert await second.wait_for_invite() == room
        await second.join(room)
        assert await membership(second, room, second.user_id) == "join"

        # A broken edit is refused with its location; the running roster stays as it was.
        officers_file.write_text(
            officers_yaml((second.user_id, "值班员 02")) + "    shift_colour: red\n",
            encoding="utf-8",
        )
        before = runtime.rosters.current
        await eventually(lambda: runtime.rosters.last_error is not None)
        assert runtime.rosters.current is before
        assert "officers.yaml:5:5: officers[0].shift_colour" in str(runtime.rosters.last_error)
        await admin.join(admin_bot.room_id)
        notices = await admin.wait_for(
            admin_bot.room_id, lambda e: "shift_colour" in e.get("content", {}).get("body", "")
        )
        assert "未生效" in notices[0]["content"]["body"]
        assert await membership(second, room, second.user_id) == "join"

        # After hours the department room says when it opens next.
        clock.set(datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI))
        await directory.sync()
        topic = (await room_state(citizen, fgw_room, "m.room.topic"))["topic"]
        assert topic.startswith("【休息中】下次开放：11月30日（周一）08:30")
    finally:
        await running.stop()


async def test_english_messages(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory, prefix: str
) -> None:
    bridge_settings.language = "en"
    clock = FixedClock(datetime(2026, 2, 17, 10, 0, tzinfo=SHANGHAI))  # Spring Festival
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings), clock):
        citizen = await users("citizen")
        room = await resolve(citizen, f"#{prefix}gat:localhost")
        topic = (await room_state(citizen, room, "m.room.topic"))["topic"]
        assert topic.startswith("[Closed] Opens next: Tue 24 Feb 08:30"), topic


async def _is(value, expected: str) -> bool:
    return (await value) == expected
