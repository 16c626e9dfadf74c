"""Officers' rooms are made lazily: for staffed departments, on a roster edit, or for a case."""

from __future__ import annotations

from pathlib import Path

from tests.kit.bridge import InProcessBridge
from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom, roster_officers
from tests.test_consultation import has, is_root
from tests.test_directory import hierarchy, q, resolve


async def alias_status(user: MatrixUser, alias: str) -> int:
    status, _ = await user.request("GET", f"/_matrix/client/v3/directory/room/{q(alias)}")
    return status


async def add_officer(duty: DutyRoom, roster_dir: Path, officer: MatrixUser, dept: str) -> None:
    """Puts `officer` on `dept`'s roster next to the kit's officers, and applies the edit."""
    spec = {name: (duty.officers[name].user_id, alias, name[:3])
            for name, alias in (("fgw1", "值班员 01"), ("fgw2", "值班员 02"), ("gat1", "值班员 11"))}
    spec["new"] = (officer.user_id, "值班员 99", dept)
    (roster_dir / "officers.yaml").write_text(roster_officers(spec), encoding="utf-8")
    assert await duty.runtime.rosters.check_now()


async def test_only_staffed_departments_get_a_room_and_a_roster_edit_adds_one(
    duty: DutyRoom, roster_dir: Path, users: UserFactory, prefix: str
) -> None:
    officers_bot = duty.bot("officers")
    # fgw and gat have officers (and fgw a supervisor); czt and hzfgw have nobody.
    assert officers_bot.created == 2
    assert officers_bot.room_of("czt") is None and officers_bot.room_of("hzfgw") is None
    newcomer = await users("officer")
    assert await alias_status(newcomer, f"#{prefix}officers_czt:localhost") == 404

    await add_officer(duty, roster_dir, newcomer, "czt")
    room = officers_bot.room_of("czt")
    assert room is not None and officers_bot.created == 3
    assert await resolve(newcomer, f"#{prefix}officers_czt:localhost") == room
    assert await newcomer.wait_for_invite() == room
    assert officers_bot.room_of("hzfgw") is None

    # A warm restart makes nothing, and the room made by the edit is the one kept.
    await duty.bridge.stop()
    again = InProcessBridge(duty.bridge.config_path, duty.clock)
    runtime = await again.start()
    try:
        restarted = next(b for b in runtime.bots if b.name == "officers")
        assert restarted.created == 0 and runtime.bots[0].created == 0
        assert restarted.room_of("czt") == room and restarted.room_of("hzfgw") is None
    finally:
        await again.stop()


async def test_a_case_for_a_department_without_officers_opens_its_room_on_demand(
    duty: DutyRoom, roster_dir: Path, users: UserFactory, prefix: str
) -> None:
    citizen = await users("citizen")
    dm = await citizen.create_dm(duty.ghost("czt"))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, "请问财政票据怎么查验？")
    # Nobody on the roster yet, but the case opens (during hours) instead of failing.
    [ack] = await citizen.wait_for(dm, has("已收到您的咨询"))
    ref = ack["content"]["body"].split("编号 ")[1].split("。")[0]

    room = await resolve(citizen, f"#{prefix}officers_czt:localhost")
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case is not None and case.ref == ref and case.officers_room == room
    rows = await duty.runtime.db.fetch("SELECT room_id FROM officers_room WHERE dept_id='czt'")
    assert [r["room_id"] for r in rows] == [room]

    # The first officer put on the roster is invited to that same room and finds the case there
    # (shared history).
    officer = await users("officer")
    await add_officer(duty, roster_dir, officer, "czt")
    assert duty.bot("officers").room_of("czt") == room
    assert await officer.wait_for_invite() == room
    await officer.join(room)
    [root] = await officer.wait_for(room, is_root)
    assert ref in root["content"]["body"]
    await officer.wait_for(room, has("请问财政票据怎么查验"))


async def test_rooms_made_before_a_crash_are_adopted_not_made_again(
    duty: DutyRoom, prefix: str, users: UserFactory
) -> None:
    """As if the bridge died between createRoom and recording the room: the alias finds it."""
    directory, officers_bot = duty.bot("directory"), duty.bot("officers")
    fgw_room, officers_room = directory.dept_rooms["fgw"], officers_bot.room_of("fgw")
    await duty.runtime.db.execute("DELETE FROM directory_room WHERE dept_id='fgw'")
    await duty.runtime.db.execute("DELETE FROM officers_room WHERE dept_id='fgw'")
    await duty.bridge.stop()

    again = InProcessBridge(duty.bridge.config_path, duty.clock)
    runtime = await again.start()
    try:
        bots = {b.name: b for b in runtime.bots}
        assert bots["directory"].created == 0 and bots["officers"].created == 0
        assert bots["directory"].dept_rooms["fgw"] == fgw_room
        assert bots["officers"].room_of("fgw") == officers_room
        citizen = await users("citizen")
        assert fgw_room in await hierarchy(citizen, await resolve(citizen, f"#{prefix}space_zj:localhost"))
    finally:
        await again.stop()
