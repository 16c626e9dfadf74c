"""End-to-end encryption, the devices: each department's own (bridge/crypto/ghosts.py), made for
a department added by a roster edit, made again when lost, and the bot's device standing in when
department devices are off. The conversations themselves are tests/test_e2ee.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.kit.bridge import BridgeSettings
from tests.kit.clients import eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.e2ee import ENCRYPTION, EncryptingUser, EncryptingUserFactory
from tests.kit.stack import Stack
from tests.test_consultation import body_of, has, in_thread, is_root, send, thread_reply
from tests.test_e2ee import cross_signed_devices, the_department_encrypts_with_its_own_device


async def delete_device(stack: Stack, user: str, device: str) -> None:
    """What a homeserver administrator does to one of the bridge's accounts' devices."""
    import aiohttp

    async with aiohttp.ClientSession() as http, http.delete(
        f"{stack.url}/_matrix/client/v3/devices/{device}", params={"user_id": user},
        headers={"Authorization": f"Bearer {stack.as_token}"}, json={},
    ) as resp:
        assert resp.status == 200, await resp.text()


async def dm_is_named_after(citizen: EncryptingUser, dm: str, ghost: str) -> None:
    """With the bot in it, Element would call the DM "<department> and 网上值班室": the
    department names it after itself, with its avatar (bridge/crypto/manager.py: _keep_name).
    Only where a department has no device of its own (encryption.department_devices: false)."""
    _, profile = await citizen.request("GET", f"/_matrix/client/v3/profile/{ghost}")

    async def named() -> bool:
        status, name = await citizen.request(
            "GET", f"/_matrix/client/v3/rooms/{dm}/state/m.room.name/")
        return status == 200 and name.get("name") == profile["displayname"]
    await eventually(named)
    if profile.get("avatar_url"):
        _, avatar = await citizen.request(
            "GET", f"/_matrix/client/v3/rooms/{dm}/state/m.room.avatar/")
        assert avatar.get("url") == profile["avatar_url"]


async def test_without_department_devices_the_bot_reads_dms(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory,
) -> None:
    """encryption.department_devices: false (or a department whose device could not be made):
    the bot's device joins a DM as soon as encryption is turned on in it, reads the citizen's
    next message and encrypts the department's answers; the department names the DM after
    itself, so that Element does not call it "<department> and 网上值班室"."""
    bridge_settings.extra["encryption.department_devices"] = False
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users)  # type: ignore[arg-type]
    try:
        citizen = await e2ee_users("citizen")
        dm = await citizen.create_dm(duty.ghost("fgw"))
        await citizen.wait_for(dm, has("网上值班室"))
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        status, _ = await citizen.request(
            "PUT", f"/_matrix/client/v3/rooms/{dm}/state/m.room.encryption/", ENCRYPTION["content"])
        assert status == 200
        bot = duty.runtime.config.bot_mxid
        await citizen.wait_for(dm, lambda e: e.get("state_key") == bot
                               and e["content"].get("membership") == "join")
        await dm_is_named_after(citizen, dm, duty.ghost("fgw"))
        await citizen.sync(0)  # the bot's device, as a client learns it before its next message
        await citizen.send_text(dm, "加密后的第一条")
        [root] = await officer.wait_for(room, is_root)
        await officer.wait_for(room, in_thread(root["event_id"], "加密后的第一条"))
        await send(officer, room, thread_reply(root["event_id"], "收到加密消息"))
        [answer] = await citizen.wait_for(dm, has("收到加密消息"))
        encrypted = [e for e in await citizen.history(dm) if e["sender"] == duty.ghost("fgw")
                     and e["type"] == "m.room.encrypted"]
        _, keys = await citizen.request("POST", "/_matrix/client/v3/keys/query",
                                        {"device_keys": {bot: [], duty.ghost("fgw"): []}})
        assert not keys["device_keys"].get(duty.ghost("fgw"))  # no device of its own
        assert encrypted and all(e["content"]["device_id"] in keys["device_keys"][bot]
                                 for e in encrypted)
    finally:
        await duty.bridge.stop()


async def test_a_department_added_by_a_roster_edit_gets_its_device(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, roster_dir: Path,
) -> None:
    """A new department in the roster gets a cross-signed device without a restart, so that the
    first citizen to write to it gets an encrypted chat; its first answer comes from it."""
    duty = e2ee_duty
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8") + """  - id: sjt
    name: 浙江省审计厅
    short_name: 省审计厅
    jurisdiction: zj
    email: sjt@mail.example.gov.cn
    description: 负责审计监督咨询
""", encoding="utf-8")
    assert await duty.runtime.rosters.check_now()
    citizen = await e2ee_users("citizen")
    ghost = duty.ghost("sjt")

    async def has_device() -> bool:
        _, keys = await citizen.request("POST", "/_matrix/client/v3/keys/query",
                                        {"device_keys": {ghost: []}})
        return bool(keys["device_keys"].get(ghost)) and ghost in keys.get("self_signing_keys", {})
    await eventually(has_device, timeout=60)
    await cross_signed_devices(citizen, ghost)
    dm = await citizen.create_encrypted_dm(ghost)
    await citizen.wait_for(dm, has("网上值班室"))
    await the_department_encrypts_with_its_own_device(citizen, dm, ghost,
                                                      duty.runtime.config.bot_mxid)


async def test_a_long_chinese_message_gets_through_encrypted_both_ways(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory,
) -> None:
    """A citizen's message as long as Element lets them send (its encrypted event under the
    homeserver's 64 KiB): the bridge's encrypted copy must fit too, and so must a transfer's
    history of several. mautrix serialises the
    plaintext with `\\uXXXX` escapes, 6 bytes a Chinese character where Element uses 3, so a
    message of 9,000 characters was 72 KB before encryption and refused (M_TOO_LARGE)."""
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await officer.sync(0)
    long = "长" * 9000 + "完"
    await citizen.send_text(dm, long)
    [root] = await officer.wait_for(room, is_root)
    [copy] = await officer.wait_for(room, in_thread(root["event_id"], long))
    answer = "答" * 9000 + "毕"
    await send(officer, room, thread_reply(root["event_id"], answer))
    await citizen.wait_for(dm, has(answer))
    # Transferred after three such messages: the history in the receiving department's root is
    # cut to fit one event (27,000 characters whole would be refused, and the case never seen).
    for more in ("二" * 9000, "三" * 9000):
        await citizen.send_text(dm, more)
        await officer.wait_for(room, in_thread(root["event_id"], more))
    await send(officer, room, thread_reply(root["event_id"], "!转办 gat 长信"))
    [moved] = await duty.officers["gat1"].wait_for(duty.officers_rooms["gat"], has("转入咨询"))
    assert "三" * 200 in body_of(moved) and len(body_of(moved)) < 1500


async def test_a_department_device_deleted_while_running_is_made_again_mid_conversation(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, stack: Stack,
) -> None:
    """An administrator deletes a department's device on the homeserver while the bridge runs
    (the homeserver would refuse everything sent as it): the device-list change in the next
    transaction has the bridge make a new, cross-signed one, and the conversation goes on."""

    duty = e2ee_duty
    ghost = duty.ghost("fgw")
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(ghost)
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "删设备之前")
    [root] = await officer.wait_for(room, is_root)
    ghosts = duty.runtime.encryption.ghosts
    old = ghosts.get(ghost).device_id
    await delete_device(stack, ghost, old)
    await eventually(lambda: ghosts.get(ghost) is not None and ghosts.get(ghost).device_id != old,
                     timeout=30)
    new = ghosts.get(ghost).device_id
    await citizen.sync(0)
    await send(officer, room, thread_reply(root["event_id"], "设备换了也能收到"))
    [answer] = await citizen.wait_for(dm, has("设备换了也能收到"))
    devices = await cross_signed_devices(citizen, ghost)
    assert set(devices) == {new}
    encrypted = [e for e in await citizen.history(dm) if e["event_id"] == answer["event_id"]]
    assert encrypted[0]["content"]["device_id"] == new


async def test_a_department_left_without_a_device_reaches_the_administrators(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, stack: Stack,
    e2ee_users: EncryptingUserFactory,
) -> None:
    """Nothing silent: a department account whose device the homeserver would not make (here a
    path the homeserver does not serve, as behind a misconfigured proxy) is named to the
    administrators, with the error and what it means (the bot's device stands in); the try
    that makes it after all says so too."""
    admin = await e2ee_users("admin")
    bridge_settings.extra["admins"] = [admin.user_id]
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users)  # type: ignore[arg-type]
    try:
        admin_room = duty.bot("admin").room_id
        await admin.join(admin_room)
        ghosts = duty.runtime.encryption.ghosts
        ghosts.base_url = f"{stack.url}/not-the-client-api"
        departments = roster_dir / "departments.yaml"
        entry = """  - id: sjt
    name: 浙江省审计厅
    short_name: 省审计厅
    jurisdiction: zj
    email: sjt@mail.example.gov.cn
    description: 负责审计监督咨询
"""
        departments.write_text(departments.read_text(encoding="utf-8") + entry, encoding="utf-8")
        assert await duty.runtime.rosters.check_now()
        [told] = await admin.wait_for(admin_room, has("没能建立自己的加密设备"), timeout=60)
        assert duty.ghost("sjt") in body_of(told) and "404" in body_of(told)
        assert ghosts.get(duty.ghost("sjt")) is None

        ghosts.base_url = stack.url  # the proxy mended; the next roster change tries again
        departments.write_text(departments.read_text(encoding="utf-8").replace(
            "负责审计监督咨询", "负责审计监督、审计结果公告咨询"), encoding="utf-8")
        assert await duty.runtime.rosters.check_now()
        await admin.wait_for(admin_room, has("现已都有自己的设备"), timeout=60)
        assert ghosts.get(duty.ghost("sjt")) is not None
    finally:
        await duty.bridge.stop()


async def test_the_bots_device_deleted_while_running_is_made_again_mid_conversation(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, stack: Stack,
) -> None:
    """The bot's device reads the encrypted officers' rooms. Deleted on the homeserver while
    the bridge runs, it is made again (cross-signed) from the device-list change, and the
    officers' next answer is read and relayed, instead of every answer waiting for a restart."""

    duty = e2ee_duty
    enc = duty.runtime.encryption
    bot = duty.runtime.config.bot_mxid
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "删机器人设备之前")
    [root] = await officer.wait_for(room, is_root)
    old = enc.device_id
    await delete_device(stack, bot, old)
    admin_db = duty.bot("admin").ctx.db

    async def settled() -> Any:
        """Told, of the device the bot has now, and that device is the account's one, signed.
        (Now and then Synapse answers the first new device's cross-signing with a 500 and the
        bridge makes a second one, told twice: see the session 12 note.)"""
        told = await admin_db.fetch(
            "SELECT content FROM outbox WHERE key LIKE 'admin/problem/bot_device_made/%'")
        if not told or enc.device_id not in told[-1]["content"]:
            return None
        try:
            return told if set(await cross_signed_devices(officer, bot)) == {enc.device_id} else None
        except AssertionError:  # not signed yet
            return None
    told = await eventually(settled, timeout=60)
    assert enc.device_id != old
    await officer.sync(0)  # (a client learns the new device before its next message)
    await send(officer, room, thread_reply(root["event_id"], "机器人设备换了也能转达"))
    await citizen.wait_for(dm, has("机器人设备换了也能转达"))
    await citizen.send_text(dm, "市民再问一句")
    await officer.wait_for(room, in_thread(root["event_id"], "市民再问一句"))
    # The administrators heard what happened and what it means.
    assert old in told[0]["content"] and enc.device_id in told[-1]["content"]


async def test_a_lost_device_or_database_means_a_new_device_never_a_crash(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path,
) -> None:
    """The homeserver forgetting the bot's or a department's device, or the bridge losing its
    database: the bridge starts with new devices (and deletes the stale ones), cross-signed, and
    does not refuse to start."""
    import aiohttp

    from tests.kit.bridge import InProcessBridge, write_config

    as_bot = {"user_id": "@dutyroom_bot:localhost"}  # the bot, not the appservice's own user

    async def bot_devices() -> set[str]:
        async with aiohttp.ClientSession() as http, http.get(
            f"{stack.url}/_matrix/client/v3/devices", params=as_bot,
            headers={"Authorization": f"Bearer {stack.as_token}"},
        ) as resp:
            return {d["device_id"] for d in (await resp.json())["devices"]}

    async def cross_signed(mxid: str) -> bool:
        """Every device of the account signed by the account's self-signing key."""
        async with aiohttp.ClientSession() as http, http.post(
            f"{stack.url}/_matrix/client/v3/keys/query", params=as_bot,
            headers={"Authorization": f"Bearer {stack.as_token}"},
            json={"device_keys": {mxid: []}},
        ) as resp:
            keys = await resp.json()
        ssk = list(keys.get("self_signing_keys", {}).get(mxid, {}).get("keys", {}).values())
        devices = keys["device_keys"].get(mxid) or {}
        return bool(ssk and devices) and all(
            f"ed25519:{ssk[0]}" in d["signatures"][mxid] for d in devices.values())

    ghost = f"@{bridge_settings.prefix}fgw:localhost"
    first = InProcessBridge(write_config(tmp_path / "config.yaml", bridge_settings))
    runtime = await first.start()
    try:
        device = runtime.encryption.device_id
        assert await bot_devices() == {device}
        assert await cross_signed(runtime.config.bot_mxid) and await cross_signed(ghost)
    finally:
        await first.stop()

    ghost_device = runtime.encryption.ghosts.get(ghost).device_id
    for user, gone in ((as_bot["user_id"], device), (ghost, ghost_device)):
        await delete_device(stack, user, gone)
    again = InProcessBridge(first.config_path)
    runtime = await again.start()
    try:
        second = runtime.encryption.device_id
        assert second != device and await bot_devices() == {second}
        assert runtime.encryption.ghosts.get(ghost).device_id != ghost_device
        # Signed by the identities they kept.
        assert await cross_signed(runtime.config.bot_mxid) and await cross_signed(ghost)
    finally:
        await again.stop()

    bridge_settings.database = f"sqlite:{tmp_path}/fresh.db"
    fresh = InProcessBridge(write_config(tmp_path / "fresh.yaml", bridge_settings))
    runtime = await fresh.start()
    try:
        third = runtime.encryption.device_id
        assert third not in (device, second) and await bot_devices() == {third}
        # A new identity (the old one's private keys were in the lost database).
        assert await cross_signed(runtime.config.bot_mxid) and await cross_signed(ghost)
    finally:
        await fresh.stop()


async def test_a_transfer_in_an_encrypted_dm_speaks_with_both_departments_devices(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory,
) -> None:
    """The seam of transfers and department devices: after `!转办`, two departments' accounts,
    each with its own device, are in one encrypted DM. The citizen reads both departments'
    words (each from its own device), the receiving officers read the citizen's next message
    (the bridge decrypts it with whichever of its devices got the key), and a transfer back
    does the same the other way."""
    duty = e2ee_duty
    bot = duty.runtime.config.bot_mxid
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    fgw, fgw_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    gat, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    for officer in (fgw, gat):
        await officer.sync(0)
    await citizen.send_text(dm, "我的身份证丢了，怎么补办")
    [root] = await fgw.wait_for(fgw_room, is_root)
    await send(fgw, fgw_room, thread_reply(root["event_id"], "!转办 gat 证件补办属公安"))

    await citizen.wait_for(dm, has("已转交「浙江省公安厅」"))
    [welcome] = await citizen.wait_for(dm, has("已由「浙江省发展和改革委员会」转来"))
    assert welcome["sender"] == duty.ghost("gat")
    [gat_root] = await gat.wait_for(gat_room, has("转入咨询"))
    # The history is shown under the receiving department's pseudonym of the citizen, not the
    # sending one's (which, in gat, may be another citizen's number).
    who = re.search(r"· (市民 #\d+) ·", body_of(gat_root))
    assert who and f"{who[1]}：我的身份证丢了" in body_of(gat_root)
    await citizen.send_text(dm, "补充：我在杭州")
    await gat.wait_for(gat_room, in_thread(gat_root["event_id"], "补充：我在杭州"))
    await send(gat, gat_room, thread_reply(gat_root["event_id"], "请到就近派出所办理。"))
    [answer] = await citizen.wait_for(dm, has("请到就近派出所办理"))
    assert answer["sender"] == duty.ghost("gat")
    # The gat officer signs in on a new device: what came before is undecryptable there, and
    # `!历史` reposts the case's record (both departments' parts) where that device reads it.
    gat_new = await e2ee_users.another_device(gat)

    async def cannot_read_the_past() -> bool:
        await gat_new.sync(0)
        return bool(gat_new.undecrypted(gat_room))
    await eventually(cannot_read_the_past, timeout=20)
    await send(gat_new, gat_room, thread_reply(gat_root["event_id"], "!历史"))
    [record] = await gat_new.wait_for(gat_room, in_thread(gat_root["event_id"], "的记录"))
    lines = body_of(record).splitlines()
    assert any(line.endswith(f"{who[1]}：我的身份证丢了，怎么补办") for line in lines)
    assert any("转交「浙江省公安厅」，说明：证件补办属公安" in line for line in lines)
    assert any(line.endswith(f"值班员 11 → {who[1]}：请到就近派出所办理。") for line in lines)
    assert not any("!历史" in line for line in lines)

    await send(gat, gat_room, thread_reply(gat_root["event_id"], "!转办 fgw 退回"))
    await citizen.wait_for(dm, has("已转交「浙江省发展和改革委员会」"))
    [back] = await fgw.wait_for(fgw_room, in_thread(root["event_id"], "转入咨询"))
    who = re.search(r"· (市民 #\d+) ·", body_of(back))
    assert who and f"{who[1]}：补充：我在杭州" in body_of(back) and who[1] in body_of(root)
    await citizen.send_text(dm, "再问一个投资项目的问题")
    await fgw.wait_for(fgw_room, in_thread(root["event_id"], "再问一个投资项目的问题"))
    await send(fgw, fgw_room, thread_reply(root["event_id"], "投资项目请在线备案。"))
    await citizen.wait_for(dm, has("投资项目请在线备案"))

    assert not citizen.undecrypted(dm)
    assert not fgw.undecrypted(fgw_room) and not gat.undecrypted(gat_room)
    assert not any("以下是最近" in body_of(e) or "!历史" in body_of(e) for e in citizen.events[dm])
    assert bot not in await citizen.members(dm)
    for dept in ("fgw", "gat"):  # each department's words from its own, cross-signed device
        ghost = duty.ghost(dept)
        devices = await cross_signed_devices(citizen, ghost)
        sent = [e for e in await citizen.history(dm)
                if e["type"] == "m.room.encrypted" and e["sender"] == ghost]
        assert sent and all(e["content"]["device_id"] in devices for e in sent)
