"""End-to-end encryption, the devices: each department's own (bridge/crypto/ghosts.py), made for
a department added by a roster edit, made again when lost, and the bot's device standing in when
department devices are off. The conversations themselves are tests/test_e2ee.py."""

from __future__ import annotations

from pathlib import Path

from tests.kit.bridge import BridgeSettings
from tests.kit.clients import eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.e2ee import ENCRYPTION, EncryptingUser, EncryptingUserFactory
from tests.kit.stack import Stack
from tests.test_consultation import has, in_thread, is_root, send, thread_reply
from tests.test_e2ee import cross_signed_devices, the_department_encrypts_with_its_own_device


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
    for user, gone in ((as_bot, device), ({"user_id": ghost}, ghost_device)):
        async with aiohttp.ClientSession() as http, http.delete(
            f"{stack.url}/_matrix/client/v3/devices/{gone}", params=user,
            headers={"Authorization": f"Bearer {stack.as_token}"}, json={},
        ) as resp:
            assert resp.status == 200, await resp.text()
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
