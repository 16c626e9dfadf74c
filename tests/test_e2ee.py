"""End-to-end encryption: citizens and officers whose clients encrypt (matrix-nio[e2e]) against
the real homeserver, with the bridge's own Olm device (bridge/crypto)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.kit.bridge import BridgeProcess, BridgeSettings, write_config
from tests.kit.clients import UserFactory, eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.e2ee import ENCRYPTION, EncryptingUser, EncryptingUserFactory
from tests.kit.stack import Stack
from tests.test_consultation import body_of, has, in_thread, is_root, send, thread_reply


async def cross_signed_devices(reader: EncryptingUser, mxid: str) -> dict[str, Any]:
    """The account's devices, each signed by the account's own cross-signing identity: Element
    shows no red "Encrypted by a device not verified by its owner" shield on their messages
    (bridge/crypto/cross_signing.py)."""
    _, keys = await reader.request("POST", "/_matrix/client/v3/keys/query",
                                   {"device_keys": {mxid: []}})
    devices: dict[str, Any] = keys["device_keys"].get(mxid) or {}
    assert devices, keys
    [ssk] = keys["self_signing_keys"][mxid]["keys"].values()
    assert keys["master_keys"][mxid]["keys"]
    for device in devices.values():
        assert f"ed25519:{ssk}" in device["signatures"][mxid], device
    return devices


async def the_department_encrypts_with_its_own_device(
    citizen: EncryptingUser, dm: str, ghost: str, bot: str
) -> None:
    """What Element needs (bridge/crypto/ghosts.py): the department has a device with keys, so
    a new DM with it is encrypted; the device is cross-signed by the department; its messages
    come from that device (no red "sender does not match the device owner"); and the bot is not
    in the DM (no "<department> and 网上值班室")."""
    devices = await cross_signed_devices(citizen, ghost)
    sent = [e for e in await citizen.history(dm)
            if e["type"] == "m.room.encrypted" and e["sender"] == ghost]
    assert sent
    for event in sent:
        device = devices[event["content"]["device_id"]]
        assert event["content"]["sender_key"] == device["keys"][f"curve25519:{device['device_id']}"]
    assert bot not in await citizen.members(dm)


async def test_encrypted_dm_and_encrypted_officers_room(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    [greeting] = await citizen.wait_for(dm, has("网上值班室"))  # decrypted by the citizen
    assert greeting["sender"] == duty.ghost("fgw")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await officer.sync(0)
    await citizen.send_text(dm, "你好，我想咨询企业投资项目备案")
    [root] = await officer.wait_for(room, is_root)
    [relayed] = await officer.wait_for(room, in_thread(root["event_id"], "企业投资项目备案"))
    relayed_id = relayed["event_id"]
    ref = body_of(root).split()[1]
    await citizen.wait_for(dm, has(ref))  # the acknowledgement

    await send(officer, room, thread_reply(root["event_id"], "您好，请通过在线平台备案。"))
    [reply] = await citizen.wait_for(dm, has("请通过在线平台备案"))
    assert reply["sender"] == duty.ghost("fgw")
    await the_department_encrypts_with_its_own_device(citizen, dm, duty.ghost("fgw"),
                                                      duty.runtime.config.bot_mxid)
    await cross_signed_devices(officer, duty.runtime.config.bot_mxid)  # the officers' rooms'

    # Nothing readable went over the wire: every message in both rooms is encrypted.
    for user, room_id in ((citizen, dm), (officer, room)):
        sent = [e for e in await user.history(room_id) if e["type"].startswith("m.room.message")
                or e["type"] == "m.room.encrypted"]
        assert sent and all(e["type"] == "m.room.encrypted" for e in sent), json.dumps(sent)[:500]
    assert not citizen.undecrypted(dm) and not officer.undecrypted(room)
    assert not [e for e in citizen.events[dm] if "端到端加密" in body_of(e)]

    # An encrypted reaction claims, an encrypted command closes, the citizen's rating counts.
    await send(officer, room, {"m.relates_to": {"rel_type": "m.annotation",
                                                "event_id": root["event_id"], "key": "👍"}},
               "m.reaction")
    await officer.wait_for(room, in_thread(root["event_id"], "已认领"))
    await send(officer, room, thread_reply(root["event_id"], "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"))
    await citizen.send_text(dm, "5")
    await citizen.wait_for(dm, has("感谢您的评价（5 分）"))
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.rating == 5

    # The citizen's data rights in the encrypted DM (#20): the export is an encrypted file the
    # citizen's client decrypts; erasure withdraws the encrypted copy in the officers' room.
    await citizen.send_text(dm, "!我的数据")
    [export] = await citizen.wait_for(dm, lambda e: e["content"].get("msgtype") == "m.file")
    assert "url" not in export["content"]  # encrypted like the room
    data = json.loads(await citizen.download_decrypted(export["content"]["file"]))
    assert [c["your_rating"] for c in data["consultations"]] == [5]
    assert "企业投资项目备案" in json.dumps(data, ensure_ascii=False)
    await citizen.send_text(dm, "!删除我的数据 确认")
    await citizen.wait_for(dm, has("已按您的要求删除"))

    async def withdrawn() -> bool:
        [copy] = [e for e in await officer.history(room) if e["event_id"] == relayed_id]
        return bool(copy.get("unsigned", {}).get("redacted_because"))
    await eventually(withdrawn)
    db = duty.runtime.db  # and no key that could read the homeserver's copies of the DM again
    for table in ("crypto_megolm_inbound_session", "crypto_megolm_outbound_session"):
        async def forgotten(t: str = table) -> bool:
            return not await db.fetchval(f"SELECT COUNT(*) FROM {t} WHERE room_id=$1", dm)
        await eventually(forgotten)


async def test_what_cannot_be_decrypted_is_answered_plainly(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    """A message whose key the bridge never gets (here: forged) is not lost silently: after
    key_wait_seconds the citizen is told to send it again; nothing reaches the officers."""
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(e2ee_duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    status, _ = await citizen.request(
        "PUT", f"/_matrix/client/v3/rooms/{dm}/send/m.room.encrypted/enc1",
        {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAc", "sender_key": "x",
         "session_id": "y", "device_id": "TESTDEVICE"},
    )
    assert status == 200
    await citizen.wait_for(dm, has("未能解密"), timeout=60)
    officer, room = e2ee_duty.officers["fgw1"], e2ee_duty.officers_rooms["fgw"]
    assert not [e for e in await officer.history(room) if e["type"] == "m.room.encrypted"]


async def test_an_officer_added_by_a_roster_edit_reads_new_cases(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, roster_dir: Path
) -> None:
    from tests.test_officers import add_officer

    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    room = duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "第一个问题")
    await duty.officers["fgw1"].wait_for(room, is_root)

    newcomer = await e2ee_users("officer")
    await add_officer(duty, roster_dir, newcomer, "fgw")
    assert await newcomer.wait_for_invite() == room
    await newcomer.join(room)
    await newcomer.sync(0)
    await duty.officers["fgw1"].wait_for(room, lambda e: e.get("state_key") == newcomer.user_id
                                         and e["content"].get("membership") == "join")
    second = await e2ee_users("citizen")
    dm2 = await second.create_encrypted_dm(duty.ghost("fgw"))
    await second.wait_for(dm2, has("网上值班室"))
    await second.send_text(dm2, "第二个问题")
    roots = await newcomer.wait_for(room, is_root)
    await newcomer.wait_for(room, in_thread(roots[-1]["event_id"], "第二个问题"))
    assert not newcomer.undecrypted(room) or all(
        e["origin_server_ts"] < roots[-1]["origin_server_ts"] for e in newcomer.undecrypted(room))


async def test_an_officer_who_first_signs_in_while_invited_reads_the_cases(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, users: UserFactory,
    roster_dir: Path, tmp_path: Path, stack: Stack,
) -> None:
    """Seen in Element: an officer's account exists (no device keys) and is invited to the
    encrypted officers' room, a session is shared then, and the officer signs in to Element for
    the first time while still invited. The homeserver reports that new device only to those
    sharing a joined room, so the bridge kept "no devices" for the officer and every case stayed
    "Unable to decrypt". Now it looks again when they join and whenever it shares a session with
    a member it knows no device of."""
    from tests.kit.e2ee import EncryptingUser
    from tests.test_officers import add_officer

    duty = e2ee_duty
    room = duty.officers_rooms["fgw"]
    account = await users("officer")  # signed up, never used an encrypting client
    await add_officer(duty, roster_dir, account, "fgw")
    assert await account.wait_for_invite() == room
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, "第一个问题")  # shared with the invited account: no devices
    await duty.officers["fgw1"].wait_for(room, is_root)

    element = EncryptingUser(stack.url, account.user_id, tmp_path / "element-store")
    await element.login("secret-password")  # the first device with keys, while invited
    try:
        await element.join(room)
        await element.sync(0)
        await citizen.send_text(dm, "第二个问题")
        await element.wait_for(room, lambda e: "第二个问题" in body_of(e), timeout=60)
    finally:
        await element.close()


@asynccontextmanager
async def encrypted_case_in_a_process(
    stack: Stack, bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory, prefix: str, question: str,
) -> AsyncIterator[tuple[BridgeProcess, EncryptingUser, str, EncryptingUser, str, str]]:
    """A bridge process (to be killed or stopped) with encrypted officers' rooms, and one case:
    (process, officer, officers' room, citizen, DM, the case's root event)."""
    from tests.kit.duty import prepare_roster
    from tests.test_directory import resolve

    bridge_settings.extra["consultation.encrypt_officers_rooms"] = True
    officers = await prepare_roster(bridge_settings, roster_dir, e2ee_users,  # type: ignore[arg-type]
                                    always_open=True)
    process = BridgeProcess(write_config(tmp_path / "config.yaml", bridge_settings), stack.port)
    await process.astart()
    try:
        officer = officers["fgw1"]
        room = await resolve(officer, f"#{prefix}officers_fgw:localhost")
        await officer.join(room)
        citizen = await e2ee_users("citizen")
        dm = await citizen.create_encrypted_dm(f"@{prefix}fgw:localhost")
        await citizen.wait_for(dm, has("网上值班室"))
        await citizen.send_text(dm, question)
        [root] = await officer.wait_for(room, is_root)
        yield process, officer, room, citizen, dm, root["event_id"]
    finally:
        process.stop()


async def test_kill_mid_encrypted_conversation_relays_everything_once(
    stack: Stack, bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory, prefix: str,
) -> None:
    """SIGKILL between storing and processing/sending: every message is decrypted and relayed
    exactly once after the restart (keys and sessions survive in the bridge's database; a key
    whose push the kill cut off is read from the bot device's inbox, and a kill while it was
    being stored leaves it whole: tests/test_to_device_atomic.py)."""
    from tests.test_consultation_restart import converse_across_a_kill

    async with encrypted_case_in_a_process(stack, bridge_settings, roster_dir, tmp_path,
                                           e2ee_users, prefix, "问题 0") as case:
        process, officer, room, citizen, dm, root = case
        asked = [f"问题 {i}" for i in range(1, 9)]
        answered = [f"答复 {i}" for i in range(1, 9)]
        questions, answers = await converse_across_a_kill(
            process, officer, room, root, citizen, dm, asked, answered, kill_after=3)
        assert questions == ["问题 0", *asked]
        assert answers == answered
        assert not citizen.undecrypted(dm) and not officer.undecrypted(room)
        assert not [e for e in citizen.events[dm] if "未能解密" in body_of(e)]


async def test_a_key_shared_while_the_bridge_is_down_is_read_after_the_restart(
    stack: Stack, bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory, prefix: str,
) -> None:
    """A restart (a deploy): the officer's client shares its first Megolm session with the
    bridge's devices while the bridge is down, and the citizen's client a new one (Element makes
    one a week) with the department's device. The homeserver pushes no to-device message to an
    appservice it counts as down and keeps none for the retry; the keys wait in the devices'
    inboxes, which the bridge reads, and both messages get through."""
    async with encrypted_case_in_a_process(stack, bridge_settings, roster_dir, tmp_path,
                                           e2ee_users, prefix, "停机前的问题") as case:
        process, officer, room, citizen, dm, root = case
        process.stop()
        await send(officer, room, thread_reply(root, "停机时写的答复"))
        citizen.client.olm.outbound_group_sessions.pop(dm, None)
        await citizen.send_text(dm, "停机时的追问")
        await asyncio.sleep(1)  # the homeserver's pushes of the keys fail
        await process.astart()
        [answer] = await citizen.wait_for(dm, has("停机时写的答复"))
        assert answer["sender"] == f"@{prefix}fgw:localhost"
        await officer.wait_for(room, in_thread(root, "停机时的追问"))
        assert not officer.undecrypted(room)
        assert not [e for e in officer.events[room] if "未能解密" in body_of(e)]
        assert not [e for e in citizen.events[dm] if "未能解密" in body_of(e)]


async def test_with_encryption_off_an_encrypted_dm_is_told_plainly(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
) -> None:
    """`encryption.enabled: false`: the department says it cannot read encrypted chats."""
    bridge_settings.extra["encryption.enabled"] = False
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    try:
        citizen = await users("citizen")
        resp = await citizen.client.room_create(
            invite=[duty.ghost("fgw")], is_direct=True, initial_state=[ENCRYPTION],
        )
        dm = resp.room_id
        await citizen.wait_for(dm, has("端到端加密"))
        status, _ = await citizen.request(
            "PUT", f"/_matrix/client/v3/rooms/{dm}/send/m.room.encrypted/enc1",
            {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAc", "sender_key": "x",
             "session_id": "y", "device_id": "TESTDEVICE"},
        )
        assert status == 200
        await citizen.wait_for(dm, has("端到端加密"), count=2)
        assert not [e for e in await duty.officers["fgw1"].history(duty.officers_rooms["fgw"])
                    if "新咨询" in body_of(e)]
    finally:
        await duty.bridge.stop()


async def test_images_both_ways_are_decrypted_and_encrypted_again(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "请看图片")
    [root] = await officer.wait_for(room, is_root)

    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    await citizen.send_encrypted_image(dm, photo, "证件.png")
    [relayed] = await officer.wait_for(room, lambda e: e["content"].get("msgtype") == "m.image")
    assert "url" not in relayed["content"], relayed  # an encrypted attachment, new key and upload
    assert await officer.download_decrypted(relayed["content"]["file"]) == photo

    answer = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 30
    await officer.send_encrypted_image(room, answer, "回执.png", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": root["event_id"], "is_falling_back": True,
        "m.in_reply_to": {"event_id": root["event_id"]}}})
    [back] = await citizen.wait_for(dm, lambda e: e["content"].get("msgtype") == "m.image"
                                    and e["sender"] == duty.ghost("fgw"))
    assert "url" not in back["content"]
    assert await citizen.download_decrypted(back["content"]["file"]) == answer


async def test_privacy_corpus_through_encrypted_rooms_leaks_nothing(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    """tests/test_consultation_privacy.py's corpus again, encrypted both sides: what the citizen
    decrypts holds no officer, no other citizen and nothing pointing into the officers' room."""
    import random

    from tests.test_consultation_privacy import MESSAGES, corpus

    duty = e2ee_duty
    officer, second = duty.officers["fgw1"], duty.officers["fgw2"]
    await officer.client.set_displayname("张科长")
    await second.client.set_displayname("李四")
    room = duty.officers_rooms["fgw"]
    other = await e2ee_users("citizen")
    other_dm = await other.create_encrypted_dm(duty.ghost("fgw"))
    await other.wait_for(other_dm, has("网上值班室"))
    await other.send_text(other_dm, "另一位市民的问题")
    await officer.wait_for(room, is_root)
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, "我的问题")
    root = (await officer.wait_for(room, is_root, count=2))[-1]["event_id"]
    await second.sync(0)
    rng = random.Random(4821)
    people = [(officer.user_id, "张科长"), (second.user_id, "李四"),
              (duty.officers["chief"].user_id, "值班员 02")]
    earlier: list[str] = []
    for i, content in enumerate(corpus(people, other.user_id, room, root, earlier, rng)):
        sender = officer if i % 2 == 0 else second
        relates = content.pop("m.relates_to", {})
        threaded = thread_reply(root, "")["m.relates_to"]
        if "m.in_reply_to" in relates:
            threaded.update(is_falling_back=False, **relates)
        content["m.relates_to"] = threaded
        earlier.append(await send(sender, room, content))
        if i % 40 == 39:  # a sync holds at most so many events: read as they come
            await citizen.sync(0)
    await citizen.wait_for(dm, has(f"答复第{MESSAGES - 1}条"), timeout=240)
    relayed = [e for e in citizen.events[dm] if e["sender"] == duty.ghost("fgw")]
    answers = [e for e in relayed if "答复第" in body_of(e)]
    import re
    got = sorted({int(m) for e in answers for m in re.findall(r"答复第(\d+)条", body_of(e))})
    assert len(answers) == MESSAGES and not citizen.undecrypted(dm), (len(citizen.undecrypted(dm)), [i for i in range(MESSAGES) if i not in got][:30])
    text = json.dumps(relayed, ensure_ascii=False)
    forbidden = [officer.user_id, second.user_id, duty.officers["chief"].user_id, "张科长",
                 "李四", other.user_id, room, root, "matrix.to", "mx-reply", "evil.example",
                 officer.user_id.split(":")[0][1:], other.user_id.split(":")[0][1:]]
    assert [f for f in forbidden if f in text] == []
    assert all("值班员 0" in body_of(e) for e in answers)
    # And the ciphertext events' clear parts (relations, txn marker) point nowhere either.
    outer = json.dumps([e for e in await citizen.history(dm)
                        if e["sender"] == duty.ghost("fgw")], ensure_ascii=False)
    assert [f for f in forbidden if f in outer] == []


async def test_an_encrypted_letter_with_an_image_and_its_answer(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory,
) -> None:
    """The mailbox bot in an encrypted DM: the guided steps, an encrypted photo that reaches the
    office's mail decrypted, and the office's answer with its attachment, encrypted again, by
    the mailbox account's own device."""
    from devstack import MailSink
    from tests.test_mailbox import Chat, enable_mail, office_replies, wait_mail

    with MailSink() as sink:
        enable_mail(bridge_settings, sink.port, **{"mailbox.require_phone": True,
                                                   "encryption.key_wait_seconds": 3})
        duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users)  # type: ignore[arg-type]
        duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
        try:
            citizen = await e2ee_users("citizen")
            bot = f"@{duty.prefix}mailbox:localhost"
            chat = Chat(citizen, await citizen.create_encrypted_dm(bot), bot)
            await citizen.wait_for(chat.room, chat._from_bot("请选择收信人"))
            await chat.say("1", "请输入主题")
            await chat.say("关于公交线路的建议", "请输入正文")
            await chat.say("建议增加班次。", "已记录")
            photo = b"\x89PNG encrypted photo" * 10
            before = len([e for e in citizen.events[chat.room] if chat._from_bot("已添加附件")(e)])
            await citizen.send_encrypted_image(chat.room, photo, "现场照片.png")
            await citizen.wait_for(chat.room, chat._from_bot("已添加附件"), count=before + 1)
            await chat.say("完成", "请输入您的姓名")
            await chat.say("张三", "联系电话")
            await chat.say("13812345678", "请核对")
            await chat.say("确认", "已提交")

            [received] = await wait_mail(sink, 1)
            [attached] = list(received.message.iter_attachments())
            assert attached.get_content() == photo  # decrypted for the office

            await office_replies(duty, received, "governor@mail.example.gov.cn", "已研究。")
            [pdf] = await citizen.wait_for(
                chat.room, lambda e: e["content"].get("msgtype") == "m.file")
            assert "url" not in pdf["content"]
            assert await citizen.download_decrypted(pdf["content"]["file"]) == b"%PDF-1.4 reply"
            assert not citizen.undecrypted(chat.room)
            # The mailbox account has a device of its own too: Element encrypts a chat with it.
            await the_department_encrypts_with_its_own_device(citizen, chat.room, bot,
                                                              duty.runtime.config.bot_mxid)

            status, _ = await citizen.request(  # one the bridge cannot decrypt: it says so
                "PUT", f"/_matrix/client/v3/rooms/{chat.room}/send/m.room.encrypted/enc1",
                {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnAc",
                 "sender_key": "x", "session_id": "y", "device_id": "TESTDEVICE"})
            assert status == 200
            await citizen.wait_for(chat.room, chat._from_bot("未能解密"))
        finally:
            await duty.bridge.stop()


async def test_a_citizen_who_turns_encryption_on_later_is_served_on(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    """A plain DM turned encrypted (as Element offers on every unencrypted DM): the department's
    own device is in it already, so the citizen's next message is read and relayed (before,
    it was shared with nobody on our side and the citizen was asked to send it again); from then
    on everything is encrypted both ways. Found with Element Web 1.12.7. (Without department
    devices the bot's device joins at once: test_without_department_devices_the_bot_reads_dms.)"""
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "明文的问题")
    [root] = await officer.wait_for(room, is_root)

    status, _ = await citizen.request(
        "PUT", f"/_matrix/client/v3/rooms/{dm}/state/m.room.encryption/", ENCRYPTION["content"])
    assert status == 200
    await citizen.wait_for(dm, lambda e: e["type"] == "m.room.encryption")
    await citizen.sync(0)  # the department's device, as a client learns it
    await citizen.send_text(dm, "加密后的第一条")
    await officer.wait_for(room, in_thread(root["event_id"], "加密后的第一条"))
    assert not [e for e in await citizen.history(dm) if "未能解密" in body_of(e)]
    await send(officer, room, thread_reply(root["event_id"], "收到加密消息"))
    [answer] = await citizen.wait_for(dm, has("收到加密消息"))
    assert answer["sender"] == duty.ghost("fgw")
    assert [e["type"] for e in await citizen.history(dm)
            if e["sender"] == duty.ghost("fgw")][-1] == "m.room.encrypted"
    await the_department_encrypts_with_its_own_device(citizen, dm, duty.ghost("fgw"),
                                                      duty.runtime.config.bot_mxid)


async def test_a_citizens_new_device_reads_the_next_answer(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, tmp_path: Path
) -> None:
    """A device-list change (the citizen signs in on a phone) gives the next message a new
    Megolm session, shared with the new device too."""
    from tests.kit.e2ee import EncryptingUser

    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "第一个设备上的问题")
    [root] = await officer.wait_for(room, is_root)
    await send(officer, room, thread_reply(root["event_id"], "第一条答复"))
    await citizen.wait_for(dm, has("第一条答复"))

    signed_in = time.time() * 1000
    phone = EncryptingUser(citizen.client.homeserver, citizen.user_id, tmp_path / "phone")
    await phone.login("secret-password")
    e2ee_users.made.append(phone)
    await phone.sync(0)
    await asyncio.sleep(1)  # the device-list change reaches the bridge with a transaction
    await send(officer, room, thread_reply(root["event_id"], "第二条答复"))
    await phone.wait_for(dm, has("第二条答复"))
    # Only what was sent before the phone existed stays unreadable there.
    assert all(e["origin_server_ts"] < signed_in for e in phone.undecrypted(dm))


async def test_sessions_rotate_as_the_room_asks(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    """A DM whose encryption event says rotation_period_msgs: 2 gets a new Megolm session from
    the bridge every two messages, each shared before use (the citizen reads them all)."""
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    resp = await citizen.client.room_create(
        invite=[duty.ghost("fgw")], is_direct=True,
        initial_state=[{**ENCRYPTION, "content": {**ENCRYPTION["content"],
                                                  "rotation_period_msgs": 2}}],
    )
    dm = resp.room_id
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await citizen.send_text(dm, "轮换测试")
    [root] = await officer.wait_for(room, is_root)
    for i in range(3):
        await send(officer, room, thread_reply(root["event_id"], f"答复 {i}"))
    await citizen.wait_for(dm, has("答复 2"))
    sessions = [e["content"]["session_id"] for e in await citizen.history(dm)
                if e["sender"] == duty.ghost("fgw") and e["type"] == "m.room.encrypted"]
    assert len(sessions) >= 5 and len(set(sessions)) >= len(sessions) // 2
    assert not citizen.undecrypted(dm)


async def test_a_department_invited_to_an_encrypted_group_says_why_encrypted_and_leaves(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory
) -> None:
    """Even the refusal of a group chat is encrypted where the room is, and nobody of ours
    stays behind."""
    citizen, friend = await e2ee_users("citizen"), await e2ee_users("friend")
    ghost = e2ee_duty.ghost("fgw")
    resp = await citizen.client.room_create(
        invite=[friend.user_id], initial_state=[ENCRYPTION], name="一群人")
    room = resp.room_id
    await friend.join(room)
    await citizen.sync(0)
    await citizen.client.room_invite(room, ghost)
    [refusal] = await citizen.wait_for(room, has("只接受一对一私聊"), timeout=60)
    assert refusal["sender"] == ghost
    raw = [e for e in await citizen.history(room) if e["event_id"] == refusal["event_id"]]
    assert raw and raw[0]["type"] == "m.room.encrypted"  # on the wire
    bot = e2ee_duty.runtime.config.bot_mxid

    async def gone() -> bool:
        status, state = await citizen.request("GET", f"/_matrix/client/v3/rooms/{room}/state")
        members = {e["state_key"]: e["content"]["membership"] for e in state
                   if e["type"] == "m.room.member"}
        return members.get(ghost) == "leave" and members.get(bot) in (None, "leave")

    await eventually(gone)
