"""Avatars (issue #14): every department, its room and officers' room, every space and the bot
get one; a department's own image from the roster replaces the generated one."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import aiohttp

from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom
from tests.test_directory import resolve, room_state

# A 1×1 PNG, the department's own image.
OWN_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def media(user: MatrixUser, mxc: str) -> bytes:
    server, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{user.client.homeserver}/_matrix/client/v1/media/download/{server}/{quote(media_id)}"
    headers = {"Authorization": f"Bearer {user.client.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def avatar_of_user(user: MatrixUser, mxid: str) -> str | None:
    status, body = await user.request("GET", f"/_matrix/client/v3/profile/{quote(mxid)}")
    assert status == 200, body
    return body.get("avatar_url")


async def test_every_department_space_room_and_the_bot_have_an_avatar(
    duty: DutyRoom, users: UserFactory, roster_dir: Path
) -> None:
    assert duty.runtime.avatars.font, "no CJK font: ./scripts/cjk-font installs one"
    citizen, officer = await users("citizen"), duty.officers["fgw1"]
    directory = duty.bot("directory")
    space = await resolve(citizen, f"#{duty.prefix}space_zj:localhost")
    avatars = {}
    for room in [space, *directory.dept_rooms.values()]:
        avatars[room] = (await room_state(citizen, room, "m.room.avatar"))["url"]
        assert avatars[room].startswith("mxc://")
    assert len(set(avatars.values())) == len(avatars)  # one per department and space
    fgw_room = directory.dept_rooms["fgw"]
    assert (await media(citizen, avatars[fgw_room])).startswith(b"\x89PNG")
    assert await avatar_of_user(citizen, duty.ghost("fgw")) == avatars[fgw_room]
    officers_room = duty.officers_rooms["fgw"]
    assert (await room_state(officer, officers_room, "m.room.avatar"))["url"] == avatars[fgw_room]
    for account in (duty.runtime.config.bot_mxid, f"@{duty.prefix}mailbox:localhost",
                    f"@{duty.prefix}complaints:localhost"):
        assert (await avatar_of_user(citizen, account) or "").startswith("mxc://"), account

    # A department's own image, named in the roster, replaces the generated one everywhere.
    (roster_dir / "fgw.png").write_bytes(OWN_PNG)
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "    email: fgw@mail.example.gov.cn\n",
        "    email: fgw@mail.example.gov.cn\n    avatar: fgw.png\n"), encoding="utf-8")
    assert await duty.runtime.rosters.check_now()
    own = (await room_state(citizen, fgw_room, "m.room.avatar"))["url"]
    assert own != avatars[fgw_room] and await media(citizen, own) == OWN_PNG
    assert await avatar_of_user(citizen, duty.ghost("fgw")) == own
    assert (await room_state(officer, officers_room, "m.room.avatar"))["url"] == own
    # Unchanged departments were not drawn or uploaded again.
    gat_room = directory.dept_rooms["gat"]
    assert (await room_state(citizen, gat_room, "m.room.avatar"))["url"] == avatars[gat_room]
