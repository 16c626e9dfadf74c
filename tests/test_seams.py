"""Where two landed features meet: each test is a defect a seam hunt found (session 13), and
states what a user should see.

One fixture for all: the province and 杭州 (its own administrators' room, a local rest week, an
officer of 杭州市发改委), mail on (a sink that can be stopped), a bot that fails on "boom" for
dead letters. The first hunt found 1–5, the second 6–9."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bots.admin.routing import admin_rooms_for
from bots.assessment.figures import compute
from bots.assessment.periods import parse_period
from bots.notices.db import parse_ref
from devstack import MailSink
from tests.kit.bridge import BridgeSettings, InProcessBridge
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import SHANGHAI, DutyRoom, start_duty_room
from tests.kit.raising import RaisingBot
from tests.test_consultation import body_of, has, in_thread, is_root, open_case, send, thread_reply
from tests.test_mailbox import Chat, enable_mail, office_replies, wait_mail, write_letter

HZ_REST_WEEK = "2026-12-14..2026-12-18"  # 杭州's own rest days (e.g. after a typhoon)


@dataclass
class Seams:
    duty: DutyRoom
    people: dict[str, MatrixUser]
    sink: MailSink
    hz_admin_room: str
    zj_admin_room: str


@pytest.fixture
async def seams(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
                users: UserFactory) -> AsyncIterator[Seams]:
    people = {"admin_zj": await users("admin"), "admin_hz": await users("admin"),
              "hz1": await users("officer")}
    sink = MailSink()
    sink.start()
    bridge_settings.extra.update({
        "admins": [people["admin_zj"].user_id], "bots.extra": ["tests.kit.raising:RaisingBot"],
        "appservice.inbox_max_attempts": 2, "appservice.dead_letter_sweep_interval": 1,
    })
    RaisingBot.FIXED = False
    enable_mail(bridge_settings, sink.port)
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "    space_name: 杭州市 · 网上值班室\n",
        "    space_name: 杭州市 · 网上值班室\n"
        f'    admins: ["{people["admin_hz"].user_id}"]\n'
        f"    holidays: [\"{HZ_REST_WEEK}\"]\n"), encoding="utf-8")

    def hz_officer(_: dict[str, MatrixUser]) -> str:
        return ("officers:\n"
                f'  - {{mxid: "{people["hz1"].user_id}", alias: 值班员 31, departments: [hzfgw]}}\n')

    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, extra_roster=hz_officer)
    duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    duty.officers_rooms["hzfgw"] = duty.bot("officers").room_of("hzfgw")
    await people["hz1"].join(duty.officers_rooms["hzfgw"])
    admin = duty.bot("admin")
    zj_room = admin.room_id
    [hz_room] = [r for r in await admin_rooms_for(admin.ctx, "hz") if r != zj_room]
    await people["admin_zj"].join(zj_room)
    await people["admin_hz"].join(hz_room)
    try:
        yield Seams(duty, people, sink, hz_room, zj_room)
    finally:
        await duty.bridge.stop()
        sink.stop()


def take_off(roster_dir: Path, officers: list[MatrixUser], department: str | None = None) -> None:
    """Edit the roster files as the administrators would: these officers, and this department
    with its block, gone."""
    path = roster_dir / "officers.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for officer in officers:
        at = lines.index(f'  - mxid: "{officer.user_id}"\n')
        lines = lines[:at] + lines[at + 3:]
    path.write_text("".join(lines), encoding="utf-8")
    if department is not None:
        path = roster_dir / "departments.yaml"
        text = path.read_text(encoding="utf-8")
        start = text.index(f"  - id: {department}\n")
        end = text.find("\n  - id: ", start) + 1 or len(text)
        path.write_text(text[:start] + text[end:], encoding="utf-8")


async def dm_and_ask(duty: DutyRoom, citizen: MatrixUser, dept: str, text: str,
                     officer: MatrixUser, room: str) -> tuple[str, str]:
    dm = await citizen.create_dm(duty.ghost(dept))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, text)
    [root] = await officer.wait_for(room, is_root)
    return dm, root["event_id"]


# 1. A city's own calendar × 考核 ------------------------------------------------------------
async def test_assessment_counts_a_citys_rest_days_as_working_time(
        seams: Seams, users: UserFactory) -> None:
    """杭州 rests 14–18 December (its own `holidays:`); the ladder, the auto-reply and the letters'
    deadlines all follow that. A case asked at 杭州市发改委 on Friday 11 December at 17:25 and
    answered on Monday 21 December at 08:35 waited 10 working minutes (5 + 5) for 杭州: answered
    on time (按时签收 15 working minutes). The assessment counts the rest week as 35 working hours."""
    duty, hz1 = seams.duty, seams.people["hz1"]
    hz_room = duty.officers_rooms["hzfgw"]
    duty.clock.set(datetime(2026, 12, 11, 17, 25, tzinfo=SHANGHAI))
    citizen = await users("citizen")
    dm, root = await dm_and_ask(duty, citizen, "hzfgw", "停车收费标准怎么查", hz1, hz_room)
    duty.clock.set(datetime(2026, 12, 21, 8, 35, tzinfo=SHANGHAI))
    await send(hz1, hz_room, thread_reply(root, "请查阅市发改委网站价格栏目。"))
    await citizen.wait_for(dm, has("价格栏目"))
    bot = duty.bot("assessment")
    start, end = parse_period("2026-12").bounds(SHANGHAI)
    report = await compute(duty.runtime.db, bot.ctx.roster, bot.settings(), start, end, "hzfgw",
                           asof=datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI))
    [hzfgw] = report.departments
    assert hzfgw.cases == 1 and hzfgw.responded == 1
    assert hzfgw.first_response_median == pytest.approx(10.0), hzfgw.first_response_median
    assert hzfgw.claim_on_time == 1


# 2. Roster hot reload (a department removed) × an open case ------------------------------------
async def test_a_citizen_of_a_department_removed_from_the_roster_is_told_not_ignored(
        seams: Seams, users: UserFactory, roster_dir: Path) -> None:
    """A case is open at 省公安厅 (gat); the administrators take gat off the roster (merged
    elsewhere) with its officer, which the bridge applies live (its directory room is marked
    closed, new DMs are refused, the officer leaves its officers' room). The citizen, in the DM
    they already have, writes again: it goes into the abandoned officers' room, and the citizen
    hears nothing at all. 'Every message is delivered, or the citizen is told it
    was not.'"""
    duty = seams.duty
    citizen = await users("citizen")
    dm, _, ref = await open_case(duty, citizen, "gat", "户籍迁移的问题")
    take_off(roster_dir, [duty.officers["gat1"]], "gat")
    assert await duty.runtime.rosters.check_now()
    assert "gat" not in duty.bot("consultation").ctx.roster.departments
    # The administrators hear which cases nobody will answer now.
    [left] = await seams.people["admin_zj"].wait_for(seams.zj_admin_room, has("名单中已没有下列部门"))
    assert f"gat：1 件（{ref}）" in body_of(left)
    # The citizen, writing again in the chat they have, is told it was not passed on.
    await citizen.send_text(dm, "还有一个问题：新生儿落户要多久？")
    [told] = await citizen.wait_for(dm, has("已不再通过网上值班室受理咨询"))
    assert told["sender"] == duty.ghost("gat")
    gat_room = duty.officers_rooms["gat"]
    assert await duty.runtime.db.fetchval("SELECT COUNT(*) FROM outbox WHERE room_id=$1 AND content LIKE $2",
                                          gat_room, "%新生儿落户%") == 0


# 3. Transfer × the reminder ladder, for a case that began as a leave-message ----------------
async def test_a_leave_message_transferred_on_duty_gets_the_receiving_departments_ladder(
        seams: Seams, users: UserFactory) -> None:
    """Left on Friday night at 省发改委, delivered at Monday's opening, transferred at 08:35 to
    省公安厅 with nobody taking it there. The README: 'the ladder starts again each time the case
    is ... transferred with nobody on it' (remind after 10 duty minutes, supervisors, e-mail).
    The case keeps its leave-message flag for ever, so 公安厅 gets only the 2-working-hour
    follow-up ladder: nobody is reminded at 08:46, and its citizen is never offered e-mail."""
    duty = seams.duty
    fgw1, gat1 = duty.officers["fgw1"], duty.officers["gat1"]
    fgw_room, gat_room = duty.officers_rooms["fgw"], duty.officers_rooms["gat"]
    bot = duty.bot("consultation")
    duty.clock.set(datetime(2026, 11, 27, 19, 0, tzinfo=SHANGHAI))
    citizen = await users("citizen")
    dm = await citizen.create_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, "户口迁移要带什么材料")
    await citizen.wait_for(dm, has("您的留言已记录"))
    duty.clock.set(datetime(2026, 11, 30, 8, 31, tzinfo=SHANGHAI))
    await bot.tick()
    [root] = await fgw1.wait_for(fgw_room, is_root)
    await fgw1.wait_for(fgw_room, in_thread(root["event_id"], "户口迁移"))
    duty.clock.set(datetime(2026, 11, 30, 8, 35, tzinfo=SHANGHAI))
    await send(fgw1, fgw_room, thread_reply(root["event_id"], "!转办 gat 户籍业务"))
    [gat_root] = await gat1.wait_for(gat_room, has("转入咨询"))
    await citizen.wait_for(dm, has("已由「浙江省发展和改革委员会」转来"))
    duty.clock.set(datetime(2026, 11, 30, 8, 46, tzinfo=SHANGHAI))  # 11 minutes on duty at 公安厅
    await bot.tick()
    await gat1.wait_for(gat_room, in_thread(gat_root["event_id"], "仍未答复"), timeout=15)
    await citizen.wait_for(dm, has("已再次提醒值班人员"), timeout=15)


# 4. Citizens' data erasure × an e-mail fallback still in the outbox ---------------------------
async def test_an_erasure_does_not_send_the_department_a_blank_mail(
        seams: Seams, users: UserFactory) -> None:
    """The citizen chose e-mail while the SMTP relay was down: the mail waits in the outbox.
    The citizen then erases their data: the erasure blanks the waiting mail's raw text
    (`UPDATE mail_outbox SET raw=''`) but leaves it pending, so when the relay is back the
    department's mailbox receives an empty message (no From, no Subject, no text). The waiting
    mail should be withdrawn instead."""
    duty, sink = seams.duty, seams.sink
    citizen = await users("citizen")
    dm, _, _ = await open_case(duty, citizen, "fgw", "没人回的问题，想改用邮件")
    start = duty.clock.now()
    duty.clock.set(start + timedelta(minutes=31))
    await duty.bot("consultation").tick()
    await citizen.wait_for(dm, has("回复“邮件”"))
    sink.stop()  # the relay is down
    await citizen.send_text(dm, "邮件")
    await citizen.wait_for(dm, has("已把您的咨询"))
    mail = duty.runtime.mail
    row = await eventually(lambda: _deferred(mail, "consult/"))
    assert row.state == "pending"
    await citizen.send_text(dm, "!删除我的数据")
    await citizen.wait_for(dm, has("如确认删除"))
    await citizen.send_text(dm, "!删除我的数据 确认")
    await citizen.wait_for(dm, has("已按您的要求删除"), timeout=30)
    sink.start()  # the relay is back; the retry comes due
    duty.clock.set(duty.clock.now() + timedelta(hours=1))
    mail.wake()
    await eventually(lambda: _settled(mail, row.key), timeout=30)
    await asyncio.sleep(1)
    assert [(m.rcpt_tos, m.raw) for m in sink.messages] == [], "a mail went out after the erasure"
    assert (await mail.status(row.key)).state == "withdrawn"


async def _deferred(mail, prefix: str):  # type: ignore[no-untyped-def]
    row = await mail.db.fetchrow("SELECT key FROM mail_outbox WHERE key LIKE $1 AND attempts > 0",
                                 prefix + "%")
    return await mail.status(row["key"]) if row else None


async def _settled(mail, key: str) -> bool:  # type: ignore[no-untyped-def]
    row = await mail.status(key)
    return row is None or row.state != "pending"


# 5. Dead letters × per-jurisdiction administrators × a transfer --------------------------------
async def test_a_dead_letter_of_a_case_transferred_to_a_city_reaches_the_citys_administrators(
        seams: Seams, users: UserFactory) -> None:
    """A citizen's case went from 省发改委 to 杭州市发改委. A message of theirs that becomes a dead
    letter concerns 杭州's case (杭州's officers are the ones not getting it), but the admin bot
    attributes it to the first department account it finds in the DM, alphabetically: the
    province's, so 杭州's administrators never hear of it."""
    duty, hz1 = seams.duty, seams.people["hz1"]
    fgw1, fgw_room, hz_room = duty.officers["fgw1"], duty.officers_rooms["fgw"], duty.officers_rooms["hzfgw"]
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "杭州市区的停车收费价格什么时候调整")
    await send(fgw1, fgw_room, thread_reply(root, "!转办 hzfgw 属杭州市定价权限"))
    await hz1.wait_for(hz_room, has("转入咨询"))
    await citizen.wait_for(dm, has("已由「浙江省发展和改革委员会」转来"))
    event_id = await send(citizen, dm, {"msgtype": "m.text", "body": "boom：补充一下具体路段"})
    zj, hz = seams.people["admin_zj"], seams.people["admin_hz"]
    await zj.wait_for(seams.zj_admin_room, has(event_id), timeout=60)
    await hz.wait_for(seams.hz_admin_room, has(event_id), timeout=15)


# 6. The public web page × a city's own calendar -------------------------------------------------
async def test_a_city_departments_week_on_the_web_marks_the_citys_rest_days(seams: Seams) -> None:
    """杭州 rests 14–18 December. 杭州市发改委's page (and /api/v1/departments/hzfgw) shows that
    week with no hours on Monday to Friday, as it should, but marks those days as ordinary
    working days (no 休息 mark, `working_day: true`): the page reads as if the department simply
    had no hours, or were broken. The same page of a provincial department is right."""
    duty = seams.duty
    duty.clock.set(datetime(2026, 12, 16, 10, 0, tzinfo=SHANGHAI))
    url = duty.bot("web").url.rstrip("/")
    async with aiohttp.ClientSession() as http, \
            http.get(f"{url}/api/v1/departments/hzfgw") as resp:
        assert resp.status == 200
        week = (await resp.json())["week"]
    monday = next(d for d in week if d["date"] == "2026-12-14")
    assert monday["open"] == []  # the roster knows 杭州 rests
    assert (monday["working_day"], monday["mark"]) == (False, "holiday"), monday


# 7. Letters × a citizen's erasure × deadlines and the office's reply ----------------------------
async def test_an_erased_letter_is_not_chased_or_answered_into_a_room_that_is_gone(
        seams: Seams, users: UserFactory) -> None:
    """A citizen writes to 省发展改革委's mailbox, then erases their data (a letter is not kept by
    `privacy.erasure_keeps`): the letter row stays for the figures with room_id 'erased'. The
    office's answer arriving afterwards, and the deadline check ten working days on, both send
    to the room 'erased' (the consultation side checks for that; the letters bots do not): a
    send that can only fail, a dead letter in the administrators' room, and a reminder mail to
    the office about a letter with an empty subject whose writer is gone."""
    duty, sink = seams.duty, seams.sink
    citizen = await users("citizen")
    chat = await Chat.open(duty, citizen, "mailbox", "请选择收信人")
    number = await write_letter(chat, "省发展改革委", "企业投资备案咨询", "备案系统打不开。")
    [letter] = await wait_mail(sink, 1)
    await citizen.send_text(chat.room, "!删除我的数据")
    await citizen.wait_for(chat.room, has("如确认删除"))
    await citizen.send_text(chat.room, "!删除我的数据 确认")
    await citizen.wait_for(chat.room, has("已按您的要求删除"), timeout=30)
    db = duty.runtime.db
    assert await db.fetchval("SELECT room_id FROM mailbox_letter WHERE number=$1", number) == "erased"

    duty.clock.set(duty.clock.now() + timedelta(days=15))  # past the 10 working days
    await duty.bot("mailbox").check_deadlines()
    await office_replies(duty, letter, "fgw@mail.example.gov.cn", "您好：备案系统已恢复。")
    await asyncio.sleep(3)
    sent_to_nowhere = [r["key"] for r in await db.fetch(
        "SELECT key FROM outbox WHERE room_id='erased' ORDER BY seq")]
    assert sent_to_nowhere == [], sent_to_nowhere
    assert len(sink.messages) == 1  # the letter; no 【催办】 about a letter whose writer is gone
    # The office did answer: the figures say so.
    assert await db.fetchval("SELECT replied_at FROM mailbox_letter WHERE number=$1", number) is not None


# 8. Roster hot reload (an officer removed) × a claimed case -------------------------------------
async def test_a_case_claimed_by_an_officer_taken_off_the_roster_is_not_dropped(
        seams: Seams, users: UserFactory, roster_dir: Path) -> None:
    """值班员 02 claims a case at 省发改委 (!认领) and leaves the department before answering:
    the administrators take them off the roster, which the bridge applies live (they leave the
    officers' room). The case stays 'claimed' by someone who is gone: the ladder only looks at
    'open' cases, so nobody on duty is reminded, no supervisor called, the citizen never offered
    e-mail, and nobody in the room is told the case has no one on it. 'Nothing is dropped.'"""
    duty = seams.duty
    fgw2, fgw_room = duty.officers["fgw2"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "企业投资项目备案需要哪些材料")
    await send(fgw2, fgw_room, thread_reply(root, "!认领"))
    await fgw2.wait_for(fgw_room, in_thread(root, "已认领"))
    # A supervisor's claim (a supervisor may answer too) stays theirs.
    chief = duty.officers["chief"]
    other_dm, other_root, _ = await open_case(duty, await users("citizen"), "fgw", "节能审查怎么申请")
    await send(chief, fgw_room, thread_reply(other_root, "!认领"))
    await fgw2.wait_for(fgw_room, in_thread(other_root, "已认领"))
    take_off(roster_dir, [fgw2])
    assert await duty.runtime.rosters.check_now()
    bot = duty.bot("consultation")
    assert not bot.ctx.roster.is_officer_of(fgw2.user_id, "fgw")
    duty.clock.set(duty.clock.now() + timedelta(minutes=31))  # on duty all along (Friday 10:31)
    [released] = await duty.officers["fgw1"].wait_for(fgw_room, in_thread(root, "已不在本部门值班名单中"))
    assert duty.officers["fgw1"].user_id in released["content"]["m.mentions"]["user_ids"]
    await bot.tick()
    await citizen.wait_for(dm, has("已再次提醒值班人员"), timeout=15)
    kept = await bot.tables.latest_case(other_dm)
    assert kept is not None and kept.status == "claimed" and kept.claimed_by == chief.user_id


async def test_roster_edits_made_while_the_bridge_was_down_release_claims_and_report_cases(
        seams: Seams, users: UserFactory, roster_dir: Path) -> None:
    """The same two edits (an officer and a department taken off) made while the bridge was
    stopped: at its start, the claim is released and the administrators hear of the cases left."""
    duty = seams.duty
    fgw2, fgw_room = duty.officers["fgw2"], duty.officers_rooms["fgw"]
    citizen, other = await users("citizen"), await users("citizen")
    _, root, _ = await open_case(duty, citizen, "fgw", "企业投资项目备案需要哪些材料")
    _, _, gat_ref = await open_case(duty, other, "gat", "户籍迁移的问题")
    await send(fgw2, fgw_room, thread_reply(root, "!认领"))
    await fgw2.wait_for(fgw_room, in_thread(root, "已认领"))
    await duty.bridge.stop()
    take_off(roster_dir, [fgw2, duty.officers["gat1"]], "gat")
    duty.bridge = InProcessBridge(duty.bridge.config_path, duty.clock)
    duty.runtime = await duty.bridge.start()
    await duty.officers["fgw1"].wait_for(fgw_room, in_thread(root, "已不在本部门值班名单中"))
    [left] = await seams.people["admin_zj"].wait_for(seams.zj_admin_room, has("名单中已没有下列部门"))
    assert gat_ref in body_of(left)


# 9. Notices (政府版) × a city's own calendar ---------------------------------------------------
async def test_a_notice_deadline_for_a_citys_departments_counts_the_citys_working_days(
        seams: Seams) -> None:
    """On Friday 11 December at 10:00 the province's office sends 杭州市发改委 a notice due in
    "1 个工作日". 杭州 rests 14–18 December, which its ladder, auto-reply, letters' deadlines and
    考核 all respect; the notice's deadline is counted on the province's calendar: Monday 14
    December 10:00, in the middle of 杭州's rest week, so 杭州's department is chased and reported
    overdue (its supervisors mentioned, 杭州's administrators told) while it is closed. One
    working day for 杭州 ends on Monday 21 December at 10:00."""
    duty, hz1 = seams.duty, seams.people["hz1"]
    duty.clock.set(datetime(2026, 12, 11, 10, 0, tzinfo=SHANGHAI))
    bot = duty.bot("notices")
    request = await bot.tables.add_request({
        "kind": "work", "title": "关于报送价格监测数据的通知", "sender": seams.people["admin_zj"].user_id,
        "recipients": "hzfgw", "deadline": "1个工作日", "meeting": {}, "email": False,
        "body": "请报送本月价格监测数据。", "attachments": []})
    await bot.tick()
    assert (await bot.tables.request(request))[0] == "sent"
    [copy] = await hz1.wait_for(duty.officers_rooms["hzfgw"], has("关于报送价格监测数据的通知"))
    assert "2026-12-21 10:00" in copy["content"]["body"], copy["content"]["body"]


async def test_a_notice_does_not_wait_for_a_department_taken_off_the_roster(
        seams: Seams, roster_dir: Path) -> None:
    """A notice went to 省发改委 and 省公安厅; 省公安厅 is then taken off the roster. Nobody is
    left to acknowledge it there: it is neither reminded nor reported overdue (to its abandoned
    room, its supervisors, the sender or the administrators); the tally lists it apart."""
    duty = seams.duty
    bot = duty.bot("notices")
    request = await bot.tables.add_request({
        "kind": "work", "title": "关于报送统计数据的通知", "sender": seams.people["admin_zj"].user_id,
        "recipients": "fgw, gat", "deadline": "2小时", "meeting": {}, "email": False,
        "body": "请报送本月统计数据。", "attachments": []})
    await bot.tick()
    state, ref = await bot.tables.request(request)
    assert state == "sent" and ref
    take_off(roster_dir, [duty.officers["gat1"]], "gat")
    assert await duty.runtime.rosters.check_now()
    duty.clock.set(duty.clock.now() + timedelta(hours=5))  # past the deadline (Friday 15:00)
    await bot.tick()
    notice = await bot.tables.get(parse_ref(ref))
    keys = [r["key"] for r in await duty.runtime.db.fetch(
        "SELECT key FROM outbox WHERE key LIKE $1 ORDER BY seq", f"notice/{notice.id}/%")]
    assert f"notice/{notice.id}/overdue/fgw" in keys
    assert [k for k in keys if k.endswith("/gat")] == [f"notice/{notice.id}/copy/gat"], keys
    tally = bot.delivery.tally_text(notice, await bot.tables.receipts(notice.id))
    assert "已从名单中删除、无需回执：gat" in tally and "未回执：" in tally
    assert "gat" not in tally.split("未回执：")[1].split("\n")[0]
