"""Out of hours and nobody answering, with a fixed clock on the real calendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiosmtplib
import pytest

from devstack import MailSink
from tests.kit.bridge import BridgeSettings, InProcessBridge
from tests.kit.clients import UserFactory, eventually
from tests.kit.duty import SHANGHAI, DutyRoom, start_duty_room
from tests.test_consultation import body_of, edit_of, has, in_thread, is_root, send, thread_reply
from tests.test_mailbox import DOMAIN, enable_mail

FRIDAY_18 = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)
MONDAY_0831 = datetime(2026, 11, 30, 8, 31, tzinfo=SHANGHAI)


async def dm_with(duty: DutyRoom, users: UserFactory, dept: str = "fgw"):
    citizen = await users("citizen")
    dm = await citizen.create_dm(duty.ghost(dept))
    await citizen.wait_for(dm, has("网上值班室"))
    return citizen, dm


@pytest.fixture
async def mail_sink() -> AsyncIterator[MailSink]:
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


async def test_friday_evening_leave_message_reaches_monday_backlog(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=FRIDAY_18)
    try:
        citizen, dm = await dm_with(duty, users)
        first = await send(citizen, dm, {"msgtype": "m.text", "body": "周五晚上的留言一（有错字）"})
        [reply] = await citizen.wait_for(dm, has("您的留言已记录"))
        # Corrected while it waits: the officers get it as corrected.
        await send(citizen, dm, edit_of(first, "周五晚上的留言一"))
        assert "11月30日（周一）08:30" in body_of(reply) and "FGW-20261127-0001" in body_of(reply)
        await citizen.send_text(dm, "周五晚上的留言二")
        oops = await send(citizen, dm, {"msgtype": "m.text", "body": "RETRACTED-WAITING 发错了"})
        await citizen.client.room_redact(dm, oops)  # retracted while it waits: never passed on
        # A flood overnight is held like one on duty (20 a minute), not left to reach the
        # officers at opening as one message each.
        for n in range(25):
            await citizen.send_text(dm, f"刷屏 {n:02d}")
        await citizen.wait_for(dm, has("发送得较快"))
        # Another citizen leaves a message and then has their data erased: nothing of theirs
        # reaches the officers at opening (their case is neither delivered nor counted).
        gone, dm_gone = await dm_with(duty, users)
        await gone.send_text(dm_gone, "ERASED-WAITING 周五晚上的留言")
        await gone.wait_for(dm_gone, has("您的留言已记录"))
        await gone.send_text(dm_gone, "!删除我的数据 确认")
        await gone.wait_for(dm_gone, has("已按您的要求删除"))
        bot = duty.bot("consultation")
        await duty.runtime.idle()
        history = await citizen.history(dm)
        assert len([e for e in history if "您的留言已记录" in body_of(e)]) == 1  # once per off-period
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        assert not [e for e in await officer.history(room) if "新咨询" in body_of(e)]

        duty.clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI))  # Saturday: still closed
        await bot.tick()
        duty.clock.set(MONDAY_0831)
        await bot.tick()
        await bot.tick()  # a second round delivers nothing twice
        [summary] = await officer.wait_for(room, has("值班开始"))
        assert "共有 1 条留言" in body_of(summary)
        [root] = await officer.wait_for(room, is_root)
        got = await officer.wait_for(room, in_thread(root["event_id"], "周五晚上的留言"), count=2)
        assert [body_of(e).split("：")[-1] for e in got] == ["周五晚上的留言一", "周五晚上的留言二"]
        [digest] = await officer.wait_for(room, in_thread(root["event_id"], "合并转交"))
        single = [e for e in await officer.history(room)
                  if "：刷屏" in body_of(e) and e["event_id"] != digest["event_id"]]
        assert [body_of(e).split("：")[-1] for e in single] == [f"刷屏 {n:02d}" for n in range(17)]
        assert all(f"刷屏 {n:02d}" in body_of(digest) for n in range(17, 25))  # after them, whole
        timeline = await officer.history(room)
        assert [e["event_id"] for e in timeline if "值班开始" in body_of(e) or "新咨询" in body_of(e)] \
            == [summary["event_id"], root["event_id"]]
        assert not [e for e in timeline if "ERASED-WAITING" in body_of(e) or "RETRACTED-WAITING" in body_of(e)]

        # Not followed up within 2 working hours of opening: the officers on duty are reminded.
        duty.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI))
        await bot.tick()
        assert not [e for e in await officer.history(room) if "仍未跟进" in body_of(e)]
        duty.clock.set(datetime(2026, 11, 30, 10, 40, tzinfo=SHANGHAI))
        await bot.tick()
        await officer.wait_for(room, in_thread(root["event_id"], "2 个工作小时仍未跟进"))

        await send(officer, room, thread_reply(root["event_id"], "您好，周一答复您的留言"))
        await citizen.wait_for(dm, has("周一答复您的留言"))
        case = await bot.tables.latest_case(dm)
        assert case.leave_message and case.first_reply_at is not None
    finally:
        await duty.bridge.stop()


async def test_a_case_whose_leave_messages_were_all_retracted_says_so_at_opening(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=FRIDAY_18)
    try:
        citizen, dm = await dm_with(duty, users)
        oops = await send(citizen, dm, {"msgtype": "m.text", "body": "发错部门了"})
        await citizen.wait_for(dm, has("您的留言已记录"))
        await citizen.client.room_redact(dm, oops)
        bot = duty.bot("consultation")
        await eventually(lambda: bot.ctx.db.fetchval(  # (the retraction taken)
            "SELECT COUNT(*) = 0 FROM consult_pending"))
        await bot.tick()  # still closed
        duty.clock.set(MONDAY_0831)
        await bot.tick()
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        [root] = await officer.wait_for(room, is_root)
        await officer.wait_for(room, in_thread(root["event_id"], "已撤回咨询"))
        assert not [e for e in await officer.history(room) if "发错部门了" in body_of(e)]
    finally:
        await duty.bridge.stop()


@pytest.mark.parametrize(
    "at,expect",
    [
        (datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI), None),  # 调休 Saturday: open
        (datetime(2026, 2, 17, 10, 0, tzinfo=SHANGHAI), "2月24日（周二）08:30"),  # Spring Festival
        (datetime(2026, 10, 3, 10, 0, tzinfo=SHANGHAI), "10月8日（周四）08:30"),  # National Day
    ],
)
async def test_holidays_and_adjusted_working_days(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
    at: datetime, expect: str | None,
) -> None:
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=at)
    try:
        citizen, dm = await dm_with(duty, users)
        await citizen.send_text(dm, "节假日的问题")
        if expect is None:
            await duty.officers["fgw1"].wait_for(duty.officers_rooms["fgw"], is_root)
            await citizen.wait_for(dm, has("已收到您的咨询"))
        else:
            [reply] = await citizen.wait_for(dm, has("您的留言已记录"))
            assert expect in body_of(reply)
    finally:
        await duty.bridge.stop()


async def test_unanswered_ladder_survives_restart_and_falls_back_to_email(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
    mail_sink: MailSink,
) -> None:
    listen = enable_mail(bridge_settings, mail_sink.port)
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    start = duty.clock.now()
    try:
        citizen, dm = await dm_with(duty, users)
        await citizen.send_text(dm, "工作时间的问题，没人回")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        [root] = await officer.wait_for(room, is_root)
        bot = duty.bot("consultation")

        duty.clock.set(start + timedelta(minutes=11))
        await bot.tick()
        await bot.tick()
        await officer.wait_for(room, in_thread(root["event_id"], "仍未答复，请值班人员"))
        await citizen.wait_for(dm, has("已再次提醒值班人员"))

        # A restart in the middle of the ladder neither repeats nor skips a step.
        await duty.bridge.stop()
        duty.bridge = InProcessBridge(duty.bridge.config_path, duty.clock)
        duty.runtime = await duty.bridge.start()
        bot = duty.bot("consultation")
        await bot.tick()
        duty.clock.set(start + timedelta(minutes=21))
        await bot.tick()
        await officer.wait_for(room, in_thread(root["event_id"], "请负责人督办"))
        duty.clock.set(start + timedelta(minutes=31))
        await bot.tick()
        await citizen.wait_for(dm, has("回复“邮件”"))
        await duty.runtime.idle()
        history = await citizen.history(dm)
        assert len([e for e in history if "已再次提醒值班人员" in body_of(e)]) == 1
        assert len([e for e in history if "负责人督办" in body_of(e)]) == 1
        assert len([e for e in await officer.history(room) if "请值班人员尽快" in body_of(e)]) == 1

        # The citizen takes the e-mail: it reaches the department mailbox; the answer comes back.
        await citizen.send_text(dm, "邮件")
        await citizen.wait_for(dm, has("已把您的咨询"))
        [mail] = mail_sink.wait_for(1, timeout=20)
        assert mail.rcpt_tos == ["fgw@mail.example.gov.cn"]
        assert "工作时间的问题，没人回" in mail.message.get_body(("plain",)).get_content()
        reply = mail.message["Reply-To"]
        answer = (
            f"From: fgw@mail.example.gov.cn\r\nTo: {reply}\r\nSubject: Re: {mail.subject}\r\n"
            f"Message-ID: <answer-1@mail.example.gov.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "您好，相关政策请见省发展改革委网站。\r\n"
        ).encode()
        await aiosmtplib.send(answer, hostname="127.0.0.1", port=listen,
                              sender="fgw@mail.example.gov.cn", recipients=[reply])
        [answered] = await citizen.wait_for(dm, has("相关政策请见"), timeout=30)
        assert answered["sender"] == duty.ghost("fgw")
    finally:
        await duty.bridge.stop()


async def test_working_time_with_nobody_rostered_says_so(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    def afternoon_only(officers: dict) -> str:  # type: ignore[type-arg]
        return ("shifts:\n  - department: gat\n    days: workdays\n    time: \"14:00-17:30\"\n"
                f"    officers: [\"{officers['gat1'].user_id}\"]\n")

    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users,
                                 extra_roster=afternoon_only)  # Friday 10:00
    try:
        citizen, dm = await dm_with(duty, users, "gat")
        await citizen.send_text(dm, "上午有人吗")
        [reply] = await citizen.wait_for(dm, has("您的留言已记录"))
        assert "暂时没有值班人员在线" in body_of(reply) and "GAT-20261127-0001" in body_of(reply)
        duty.clock.set(datetime(2026, 11, 27, 14, 1, tzinfo=SHANGHAI))
        await duty.bot("consultation").tick()
        gat, room = duty.officers["gat1"], duty.officers_rooms["gat"]
        await gat.wait_for(room, in_thread((await gat.wait_for(room, is_root))[0]["event_id"], "上午有人吗"))
    finally:
        await duty.bridge.stop()


async def test_a_case_left_unanswered_at_closing_is_told_so_and_reminded_on_duty_time(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    """Asked at 17:25 on Friday, unanswered when duty ends at 17:30: the ladder counts duty
    minutes, so nobody is "reminded" at night and the citizen is not told that anyone was;
    instead the citizen hears once that duty ended and when it starts again, and the officers
    on duty on Monday are reminded after 10 minutes of duty (5 on Friday, 5 on Monday)."""
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users,
                                 at=datetime(2026, 11, 27, 17, 25, tzinfo=SHANGHAI))
    try:
        citizen, dm = await dm_with(duty, users)
        other, other_dm = await dm_with(duty, users)
        await citizen.send_text(dm, "下班前的问题")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        [root] = await officer.wait_for(room, is_root)
        await other.send_text(other_dm, "另一位市民下班前的问题")
        await officer.wait_for(room, is_root, count=2)
        bot = duty.bot("consultation")
        for minute in (36, 46, 56):
            duty.clock.set(datetime(2026, 11, 27, 17, minute, tzinfo=SHANGHAI))
            await bot.tick()
        [told] = await citizen.wait_for(dm, has("本时段值班已结束"))
        assert "11月30日（周一）08:30" in body_of(told)
        await other.wait_for(other_dm, has("本时段值班已结束"))  # each citizen of the night
        await duty.runtime.idle()
        thread = [body_of(e) for e in await officer.history(room)]
        assert not [b for b in thread if "仍未答复" in b or "督办" in b]
        assert not [e for e in await citizen.history(dm) if "已再次提醒" in body_of(e) or "邮件" in body_of(e)]

        duty.clock.set(datetime(2026, 11, 30, 8, 36, tzinfo=SHANGHAI))
        await bot.tick()
        [reminded] = await officer.wait_for(room, in_thread(root["event_id"], "仍未答复"))
        assert officer.user_id in reminded["content"]["m.mentions"]["user_ids"]
        await citizen.wait_for(dm, has("已再次提醒值班人员"))
        assert len([e for e in await citizen.history(dm) if "值班已结束" in body_of(e)]) == 1
    finally:
        await duty.bridge.stop()


async def test_a_case_sent_by_e_mail_that_bounces_reaches_citizen_officers_and_administrators(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
    mail_sink: MailSink,
) -> None:
    """The relay accepted the mail; the department's server bounced it later. The bounce
    comes back to the envelope sender (bounce+<token>@reply_domain, the bridge's listener):
    the citizen, told the case went by e-mail, hears it did not; so do the officers (in the
    thread) and the administrators (with the address and the reason)."""
    admin = await users("admin")
    listen = enable_mail(bridge_settings, mail_sink.port, admins=[admin.user_id])
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    start = duty.clock.now()
    try:
        admin_room = await admin.wait_for_invite()
        await admin.join(admin_room)
        citizen, dm = await dm_with(duty, users)
        await citizen.send_text(dm, "没人回的问题，改用邮件")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        [root] = await officer.wait_for(room, is_root)
        bot = duty.bot("consultation")
        duty.clock.set(start + timedelta(minutes=31))
        await bot.tick()
        await citizen.wait_for(dm, has("回复“邮件”"))
        await citizen.send_text(dm, "邮件")
        await citizen.wait_for(dm, has("已把您的咨询"))
        [mail] = mail_sink.wait_for(1, timeout=20)
        assert mail.mail_from.startswith("bounce+") and mail.mail_from.endswith(f"@{DOMAIN}")
        dsn = (
            "From: MAILER-DAEMON@mail.example.gov.cn\r\nTo: " + mail.mail_from + "\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mail.example.gov.cn>\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.gov.cn\r\n\r\n"
            "Final-Recipient: rfc822; fgw@mail.example.gov.cn\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n--B--\r\n").encode()
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=listen, start_tls=False) as smtp:
            await smtp.sendmail("", [mail.mail_from], dsn)  # MAIL FROM:<>, as bounces are
        [told] = await citizen.wait_for(dm, has("未能送达"), timeout=30)
        assert told["sender"] == duty.ghost("fgw") and "无需重新发送" in body_of(told)
        [thread] = await officer.wait_for(room, in_thread(root["event_id"], "未能送达"))
        assert "mailbox full" in body_of(thread)
        [notice] = await admin.wait_for(admin_room, has("邮件未能送达"))
        assert "fgw@mail.example.gov.cn" in body_of(notice) and "5.2.2" in body_of(notice)
    finally:
        await duty.bridge.stop()
