"""The mailbox bot end to end: a citizen's letter reaches the office by SMTP, the office's reply
comes back through the bridge's listener into the citizen's DM; deadlines, refusals, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from bots.mailbox.fields import (
    add_working_days,
    mask_name,
    mask_phone,
    normalise_phone,
    office_status,
)
from devstack import MailSink
from devstack.mailsink import ReceivedMail
from devstack.ports import free_port
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import DutyRoom, start_duty_room

DOMAIN = "reply.dutyroom.example"
GOVERNOR = "governor@mail.example.gov.cn"
SERVICE = "测试市政务服务 · 网上值班室"  # the configured From name, which also signs the mail


# Pure helpers ----------------------------------------------------------------------------------
def test_fields() -> None:
    weekdays = lambda d: d.weekday() < 5  # noqa: E731
    assert add_working_days(date(2026, 11, 27), 1, weekdays) == date(2026, 11, 30)  # Fri → Mon
    assert add_working_days(date(2026, 11, 27), 10, weekdays) == date(2026, 12, 11)
    assert mask_name("张三丰") == "张**" and mask_name("") == ""
    assert mask_phone("138-1234-5678") == "138****5678"
    assert normalise_phone("0571-87654321") and normalise_phone("+86 138 1234 5678")
    assert normalise_phone("12345") is None and normalise_phone("call me 13812345678") is None
    assert office_status("回复：【办结】关于…", "") == "finished"
    assert office_status("Re: 关于…", "【转办】已转省交通运输厅") == "transferred"
    assert office_status("Re: 关于…", "收到，谢谢") == "replied"


# Running duty room with mail -------------------------------------------------------------------
def enable_mail(settings: BridgeSettings, smtp_port: int, **extra: Any) -> int:
    """Mail on, through the SMTP server at `smtp_port`; the reply listener's port is returned."""
    listen = free_port()
    settings.extra.update({
        "mail.enabled": True, "mail.smtp_port": smtp_port,
        "mail.from_address": "dutyroom@dutyroom.example", "mail.reply_domain": DOMAIN,
        "mail.token_secret": "test-secret-0123456789abcdef", "mail.listen_port": listen,
        **extra,
    })
    return listen


@pytest.fixture
def sink() -> Any:
    with MailSink() as running:
        yield running


@pytest.fixture
async def duty(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
               users: UserFactory, sink: MailSink) -> AsyncIterator[DutyRoom]:
    enable_mail(bridge_settings, sink.port,
                **{"mailbox.require_phone": True, "mail.from_name": SERVICE})
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    room.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    yield room
    await room.bridge.stop()


def body_of(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


class Chat:
    """A citizen's DM with one of the letter bots."""

    def __init__(self, citizen: MatrixUser, room: str, bot: str) -> None:
        self.citizen, self.room, self.bot = citizen, room, bot

    @classmethod
    async def open(cls, duty: DutyRoom, citizen: MatrixUser, account: str, hello: str) -> Chat:
        bot = f"@{duty.prefix}{account}:localhost"
        chat = cls(citizen, await citizen.create_dm(bot), bot)
        await citizen.wait_for(chat.room, lambda e: e["sender"] == bot and hello in body_of(e))
        return chat

    def _from_bot(self, text: str):  # type: ignore[no-untyped-def]
        return lambda e: e["sender"] == self.bot and text in body_of(e)

    async def say(self, text: str, expect: str, content: dict[str, Any] | None = None) -> str:
        """Send, then wait for a new message from the bot containing `expect`; returns it."""
        before = len([e for e in self.citizen.events.get(self.room, []) if self._from_bot(expect)(e)])
        if content is None:
            await self.citizen.send_text(self.room, text)
        else:
            await self.citizen.client.room_send(self.room, "m.room.message", content)
        found = await self.citizen.wait_for(self.room, self._from_bot(expect), count=before + 1)
        return body_of(found[-1])


async def write_letter(chat: Chat, recipient: str, subject: str, text: str) -> str:
    await chat.say(recipient, "请输入主题")
    await chat.say(subject, "请输入正文")
    await chat.say(text, "已记录")
    mxc = await chat.citizen.upload(b"\x89PNG fake image", "image/png", "现场照片.png")
    await chat.say("", "已添加附件", {"msgtype": "m.image", "body": "现场照片.png", "url": mxc,
                                      "info": {"mimetype": "image/png", "size": 16}})
    await chat.say("完成", "请输入您的姓名")
    await chat.say("张三", "联系电话")
    summary = await chat.say("13812345678", "请核对")
    assert subject in summary and "现场照片.png" in summary
    done = await chat.say("确认", "已提交")
    return done.split("编号 ")[1].split("，")[0]


async def wait_mail(sink: MailSink, count: int) -> list[ReceivedMail]:
    return await asyncio.to_thread(sink.wait_for, count)


async def office_replies(duty: DutyRoom, letter: ReceivedMail, office: str, text: str,
                         subject: str | None = None) -> None:
    reply = EmailMessage()
    reply["From"] = office
    reply["To"] = letter.message["Reply-To"]
    reply["Subject"] = subject or "回复：" + str(letter.message["Subject"])
    reply["Message-ID"] = make_msgid(domain="mail.example.gov.cn")
    reply.set_content(text)
    reply.add_alternative(f"<p>{text}</p><script>alert(1)</script>", subtype="html")
    reply.add_attachment(b"%PDF-1.4 reply", maintype="application", subtype="pdf",
                         filename="答复意见.pdf")
    await aiosmtplib.send(
        reply, hostname="127.0.0.1", port=duty.runtime.mail.listen_port,  # type: ignore[union-attr]
        sender=office, recipients=[letter.message["Reply-To"].addresses[0].addr_spec],
        start_tls=False, timeout=10)


# Tests ------------------------------------------------------------------------------------------
async def test_letter_reaches_the_governor_and_the_reply_the_citizen(
    duty: DutyRoom, users: UserFactory, sink: MailSink
) -> None:
    chat = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
    # A poll (Element offers one in any chat) or a location cannot go into a letter: the citizen
    # is told, with the step the letter is at, and the letter goes on as before.
    poll = {"org.matrix.msc3381.poll.start": {
        "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
        "question": {"org.matrix.msc1767.text": "写给谁？"},
        "answers": [{"id": "a", "org.matrix.msc1767.text": "省长"}]},
        "org.matrix.msc1767.text": "写给谁？\n1. 省长"}
    status, _ = await chat.citizen.request(
        "PUT", f"/_matrix/client/v3/rooms/{chat.room}/send/org.matrix.msc3381.poll.start/p1", poll)
    assert status == 200
    [told] = await chat.citizen.wait_for(chat.room, chat._from_bot("投票无法写进信件"))
    assert "请选择收信人" in body_of(told)
    told_again = await chat.say("", "这类消息无法写进信件", {
        "msgtype": "m.location", "body": "西湖", "geo_uri": "geo:30.25,120.15"})
    assert "请选择收信人" in told_again
    number = await write_letter(chat, "1", "关于西湖区公交线路调整的建议", "建议增加 K193 路的班次。")
    assert number == "XJ20261127-0001"

    [received] = await wait_mail(sink, 1)
    mail = received.message
    assert received.rcpt_tos == [GOVERNOR]
    assert mail["To"].addresses[0].addr_spec == GOVERNOR
    assert mail["To"].addresses[0].display_name == "省长 王明远（示例）"
    assert received.raw.split(b"\r\n\r\n", 1)[0].isascii()  # RFC 2047 headers on the wire
    assert str(mail["Subject"]) == f"【省长信箱】关于西湖区公交线路调整的建议（{number}）"
    assert mail["X-Dutyroom-Ref"] == number
    body = mail.get_body(("plain",)).get_content()
    for expected in (number, "张三", "13812345678", "建议增加 K193 路的班次。", "【办结】", SERVICE):
        assert expected in body
    assert "浙江政务通" not in body
    assert mail["From"].addresses[0].display_name == SERVICE
    [photo] = list(mail.iter_attachments())
    assert photo.get_filename() == "现场照片.png" and photo.get_content() == b"\x89PNG fake image"
    assert mail["Reply-To"].addresses[0].username.startswith("reply+")

    status = await chat.say(f"!status {number}", number)
    assert "受理" in status

    await office_replies(duty, received, GOVERNOR, "张三您好：已转交省交通运输厅研究，下月加密班次。")
    [answer] = await chat.citizen.wait_for(chat.room, chat._from_bot("【答复】"))
    assert "下月加密班次" in body_of(answer)
    assert "script" not in answer["content"].get("formatted_body", "")
    [pdf] = await chat.citizen.wait_for(
        chat.room, lambda e: e["content"].get("msgtype") == "m.file")
    assert pdf["sender"] == chat.bot and pdf["content"]["body"] == "答复意见.pdf"
    assert "已回复" in await chat.say(f"状态 {number}", "已回复")

    # An auto-reply is not an answer: nothing reaches the citizen, the status stays.
    vacation = EmailMessage()
    vacation["From"], vacation["To"] = GOVERNOR, mail["Reply-To"]
    vacation["Subject"], vacation["Auto-Submitted"] = "自动回复：休假中", "auto-replied"
    vacation.set_content("我正在休假")
    await aiosmtplib.send(vacation, hostname="127.0.0.1", sender=GOVERNOR,
                          port=duty.runtime.mail.listen_port,  # type: ignore[union-attr]
                          recipients=[mail["Reply-To"].addresses[0].addr_spec], start_tls=False)
    await asyncio.sleep(1)
    assert not [e for e in await chat.citizen.history(chat.room) if "休假" in body_of(e)]

    # A reply longer than one event can hold (20,000 characters, with its HTML 120 KB) reaches
    # the citizen whole, in numbered parts, instead of failing for good at the homeserver.
    long = "\n".join(f"第{i:02d}段：" + "复" * 500 for i in range(40))
    await office_replies(duty, received, GOVERNOR, long, subject="回复：补充答复")
    parts = await chat.citizen.wait_for(chat.room, lambda e: e["sender"] == chat.bot and any(
        f"({n}/2)" in body_of(e) for n in (1, 2)), count=2)
    assert "【答复】" in body_of(parts[0]) and "第00段" in body_of(parts[0])
    assert "第39段" in body_of(parts[1]) and "formatted_body" not in parts[1]["content"]
    assert all(f"第{i:02d}段" in body_of(parts[0]) + body_of(parts[1]) for i in range(40))


async def test_deadline_reminder_fires_once_and_status_is_private(
    duty: DutyRoom, users: UserFactory, sink: MailSink
) -> None:
    chat = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
    number = await write_letter(chat, "省发展改革委", "企业投资备案咨询", "备案系统打不开。")
    assert number.startswith("BM20261127-")
    [letter] = await wait_mail(sink, 1)
    assert letter.rcpt_tos == ["fgw@mail.example.gov.cn"]
    bot = duty.bot("mailbox")
    assert await bot.check_deadlines() == 0  # not due yet

    # 10 working days from Friday 27 November 2026 end on 11 December; the 12th is past it.
    duty.clock.set(duty.clock.now() + timedelta(days=15))
    assert await bot.check_deadlines() == 1
    assert await bot.check_deadlines() == 0  # once per letter, stored
    reminders = await wait_mail(sink, 2)
    assert reminders[1].rcpt_tos == ["fgw@mail.example.gov.cn"]
    assert str(reminders[1].message["Subject"]).startswith("【催办】")
    assert SERVICE in reminders[1].message.get_body(("plain",)).get_content()
    await chat.citizen.wait_for(chat.room, chat._from_bot("已超过办理时限"))
    await asyncio.sleep(1)
    assert len(sink.messages) == 2
    overdue = [e for e in await chat.citizen.history(chat.room) if "已超过办理时限" in body_of(e)]
    assert len(overdue) == 1

    assert number in await chat.say("!letters", "您的信件")
    other = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
    assert "没有找到" in await other.say(f"状态 {number}", "没有找到")


async def test_header_injection_is_refused_and_failed_delivery_is_reported(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    # No SMTP server on this port and no retry period: the first attempt is the last.
    enable_mail(bridge_settings, free_port(), **{"mail.retry_for_seconds": 0})
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    try:
        duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
        chat = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
        await chat.say("2", "请输入主题")
        refusal = await chat.say("主题\r\nBcc: x@y.example", "不能包含换行")
        assert "没有发送任何内容" in refusal
        await chat.say("取消", "已取消")
        db = duty.runtime.db
        assert await db.fetchval("SELECT COUNT(*) FROM mail_outbox") == 0

        await chat.say("重新开始", "请选择收信人")
        number = await write_letter(chat, "2", "正常的主题", "正文")
        await chat.citizen.wait_for(chat.room, chat._from_bot("未能投递"))
        assert "投递失败" in await chat.say(f"!status {number}", "投递失败")
        await eventually(lambda: duty.runtime.mail.outbox.count("failed"))  # type: ignore[union-attr]
    finally:
        await duty.bridge.stop()


async def test_letter_waits_for_smtp_across_a_bridge_restart_and_arrives_once(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    from tests.kit.bridge import InProcessBridge

    smtp_port = free_port()  # nothing listens there yet: the mail office's server is down
    enable_mail(bridge_settings, smtp_port)
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    try:
        duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
        chat = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
        number = await write_letter(chat, "1", "服务器停机时写的信", "请尽快处理")
        await eventually(lambda: _attempted(duty))
        await duty.bridge.stop()

        with MailSink(port=smtp_port) as sink:
            duty.clock.set(duty.clock.now() + timedelta(hours=1))  # the retry is due
            duty.bridge = InProcessBridge(duty.bridge.config_path, duty.clock)
            duty.runtime = await duty.bridge.start()
            duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
            [mail] = await wait_mail(sink, 1)
            assert "服务器停机时写的信" in str(mail.message["Subject"])
            assert number in mail.message.get_body(("plain",)).get_content()
            await asyncio.sleep(2)
            assert len(sink.messages) == 1
    finally:
        await duty.bridge.stop()


async def _attempted(duty: DutyRoom) -> bool:
    return bool(await duty.runtime.db.fetchval(
        "SELECT COUNT(*) FROM mail_outbox WHERE attempts > 0 AND state = 'pending'"))
