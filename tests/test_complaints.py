"""The complaints bot end to end: a complaint reaches the supervision office only, masked
without consent; the accused department's address and officers' room never see it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack import MailSink
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_mailbox import Chat, body_of, enable_mail, office_replies, sink, wait_mail

__all__ = ["sink"]  # the fixture, imported to be used here

OFFICE = "duchashi@mail.example.gov.cn"
ACCUSED = "fgw@mail.example.gov.cn"


@pytest.fixture
async def duty(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
               users: UserFactory, sink: MailSink) -> AsyncIterator[DutyRoom]:
    enable_mail(bridge_settings, sink.port)
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    room.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    yield room
    await room.bridge.stop()


async def test_complaint_goes_only_to_the_supervision_office_masked(
    duty: DutyRoom, users: UserFactory, sink: MailSink
) -> None:
    officer, officers_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    before = len(await officer.history(officers_room))
    chat = await Chat.open(duty, await users("citizen"), "complaints", "被投诉单位")
    await chat.say("省发展改革委", "投诉类别")
    await chat.say("2", "请输入正文")
    await chat.say("窗口办理备案拖了三个月没有结果。", "已记录")
    await chat.say("完成", "姓名")
    await chat.say("张三丰", "联系电话")
    await chat.say("13812345678", "是否同意")
    summary = await chat.say("不同意", "请核对")
    assert "浙江省发展和改革委员会" in summary and "办事效率" in summary
    done = await chat.say("确认", "已提交")
    number = done.split("编号 ")[1].split("，")[0]
    assert number == "TS20261127-0001"

    [received] = await wait_mail(sink, 1)
    assert received.rcpt_tos == [OFFICE]
    assert received.message["To"].addresses[0].addr_spec == OFFICE
    assert str(received.message["Subject"]) == f"【监督投诉】办事效率：浙江省发展和改革委员会（{number}）"
    body = received.message.get_body(("plain",)).get_content()
    assert "张**" in body and "138****5678" in body and "拖了三个月" in body
    assert "张三丰" not in body and "13812345678" not in body

    await office_replies(duty, received, OFFICE, "【办结】经核查，已责成该单位限期办结。")
    await chat.citizen.wait_for(chat.room, chat._from_bot("限期办结"))
    assert "办结" in await chat.say(f"!status {number}", number)

    # Never the accused: not a recipient at the sink, nothing in its officers' room.
    assert all(ACCUSED not in m.rcpt_tos and ACCUSED not in m.raw.decode() for m in sink.messages)
    after = (await officer.history(officers_room))[before:]
    assert not [e for e in after if e["type"] == "m.room.message"], after
    assert "拖了三个月" not in json.dumps(await officer.history(officers_room), ensure_ascii=False)


async def test_consent_shares_contact_and_group_rooms_are_refused(
    duty: DutyRoom, users: UserFactory, sink: MailSink
) -> None:
    chat = await Chat.open(duty, await users("citizen"), "complaints", "被投诉单位")
    for answer, expect in (("gat", "投诉类别"), ("服务态度", "请输入正文"), ("态度恶劣", "已记录"),
                           ("完成", "姓名"), ("李四", "联系电话"), ("跳过", "是否同意"),
                           ("同意", "请核对")):
        await chat.say(answer, expect)
    await chat.say("确认", "已提交")
    [received] = await wait_mail(sink, 1)
    assert received.rcpt_tos == [OFFICE]
    body = received.message.get_body(("plain",)).get_content()
    assert "李四" in body and "gat@mail.example.gov.cn" not in received.raw.decode()

    # A room with a third person is no private channel: the bot says so and leaves.
    citizen, friend = await users("citizen"), await users("friend")
    bot = f"@{duty.prefix}complaints:localhost"
    resp = await citizen.client.room_create(invite=[bot, friend.user_id])
    room = resp.room_id
    await citizen.wait_for(room, lambda e: e["sender"] == bot and "一对一" in body_of(e))
    await citizen.wait_for(room, lambda e: e["type"] == "m.room.member"
                           and e["state_key"] == bot and e["content"]["membership"] == "leave")
