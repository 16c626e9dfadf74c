"""Cities next to the province, end to end on a real homeserver (issue #18): a city's
administrators hear only of their city, a case goes from a provincial department to a city's and
back with its history, and a complaint about a city agency reaches that city's supervision office
only; a letter to a 市长信箱 goes to the mayor's mailbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import nio
import pytest

from bots.admin.routing import admin_rooms_for, post_grouped_to_admins, post_to_admins
from bots.assessment.periods import parse_period
from devstack import MailSink
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_consultation import body_of, has, in_thread, open_case, send, thread_reply
from tests.test_mailbox import Chat, enable_mail, sink, wait_mail

__all__ = ["sink"]  # the fixture, imported to be used here

HZ_OFFICE = "duchashi.hangzhou@mail.example.gov.cn"
HZ_MAYOR = "mayor.hangzhou@mail.example.gov.cn"
PROVINCE_OFFICE = "duchashi@mail.example.gov.cn"
# A week of the city's own rest days (e.g. after a typhoon), inside its letters' deadlines: the
# test's clock is Friday 27 November 2026; 15 working days end on 18 December for the province.
HZ_REST_WEEK = "2026-12-14..2026-12-18"


@pytest.fixture
async def city(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
               users: UserFactory, sink: MailSink
               ) -> AsyncIterator[tuple[DutyRoom, dict[str, MatrixUser]]]:
    """The duty room plus 杭州: its own administrator, supervision office, mayor's mailbox and an
    officer of 杭州市发改委; the province's administrator in the config."""
    people = {"admin_zj": await users("admin"), "admin_hz": await users("admin"),
              "hz1": await users("officer")}
    bridge_settings.extra["admins"] = [people["admin_zj"].user_id]
    enable_mail(bridge_settings, sink.port)
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "    space_name: 杭州市 · 网上值班室\n",
        "    space_name: 杭州市 · 网上值班室\n"
        f'    admins: ["{people["admin_hz"].user_id}"]\n'
        "    supervision_name: 杭州市人民政府督查室\n"
        f"    supervision_email: {HZ_OFFICE}\n"
        "    mailbox_name: 杭州市市长信箱\n"
        f"    mailbox_email: {HZ_MAYOR}\n"
        f"    holidays: [\"{HZ_REST_WEEK}\"]\n"), encoding="utf-8")

    def hz_officer(_: dict[str, MatrixUser]) -> str:
        return ("officers:\n"
                f'  - {{mxid: "{people["hz1"].user_id}", alias: 值班员 31, departments: [hzfgw]}}\n')

    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users,
                                 extra_roster=hz_officer)
    duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    duty.officers_rooms["hzfgw"] = duty.bot("officers").room_of("hzfgw")
    await people["hz1"].join(duty.officers_rooms["hzfgw"])
    try:
        yield duty, people
    finally:
        await duty.bridge.stop()


async def test_a_city_administrator_sees_only_the_citys_notices(
    city: tuple[DutyRoom, dict[str, MatrixUser]], users: UserFactory, roster_dir: Path
) -> None:
    duty, people = city
    admin = duty.bot("admin")
    ctx = admin.ctx
    province_room = admin.room_id
    [hz_room] = [r for r in await admin_rooms_for(ctx, "hz") if r != province_room]
    assert await admin_rooms_for(ctx, "hzfgw") == [province_room, hz_room]
    assert await admin_rooms_for(ctx, "fgw") == [province_room]
    assert await admin_rooms_for(ctx, None) == [province_room]
    zj, hz = people["admin_zj"], people["admin_hz"]
    await zj.join(province_room)
    await hz.join(hz_room)
    # The city's administrator is not in the province's room.
    resp = await hz.client.join(province_room)
    assert isinstance(resp, nio.JoinError)

    # Two sends refused for good (the ghosts are not in the room): one of 杭州, one of the province.
    citizen = await users("citizen")
    room = (await citizen.client.room_create(name="无关房间")).room_id
    outbox = duty.runtime.outbox
    await outbox.queue("test/refused-hz", room, duty.ghost("hzfgw"), {"msgtype": "m.notice", "body": "x"})
    await outbox.queue("test/refused-zj", room, duty.ghost("gat"), {"msgtype": "m.notice", "body": "y"})
    await zj.wait_for(province_room, has("test/refused-hz"), timeout=60)
    await zj.wait_for(province_room, has("test/refused-zj"), timeout=60)
    await hz.wait_for(hz_room, has("test/refused-hz"), timeout=60)
    await hz.sync(1000)
    assert not [e for e in hz.events[hz_room] if "test/refused-zj" in body_of(e)]

    # Another bot's report (assessment, notices) through the same routing.
    report = {"msgtype": "m.notice", "body": "杭州市发改委本月报告"}
    assert await post_to_admins(ctx, "test/report-hzfgw", "hzfgw", report) == [province_room, hz_room]
    assert await post_to_admins(ctx, "test/report-gat", "gat",
                                {"msgtype": "m.notice", "body": "省公安厅本月报告"}) == [province_room]
    await hz.wait_for(hz_room, has("杭州市发改委本月报告"))
    # A report about several departments (a notice's overdue list): each room its own part.
    assert await post_grouped_to_admins(
        ctx, "test/overdue", ["hzfgw", "gat"],
        lambda depts: {"msgtype": "m.notice", "body": "未回执：" + "、".join(map(str, depts))},
    ) == [province_room, hz_room]
    await hz.wait_for(hz_room, has("未回执：hzfgw"))
    await zj.wait_for(province_room, has("未回执：hzfgw、gat"))
    await zj.wait_for(province_room, has("省公安厅本月报告"))

    # A roster change: the province hears the totals, 杭州 its own part.
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "负责杭州市发展规划、价格等咨询", "负责杭州市发展规划、价格和投资项目等咨询"), encoding="utf-8")
    assert await duty.runtime.rosters.check_now()
    [mine] = await hz.wait_for(hz_room, has("新的值班名单已生效"), timeout=60)
    assert "杭州市（含下级）1 个部门，1 名值班人员" in body_of(mine)
    [everyone] = await zj.wait_for(province_room, has("新的值班名单已生效"), timeout=60)
    assert "4 个部门" in body_of(everyone)
    assert not [e for e in hz.events[hz_room] if "省公安厅本月报告" in body_of(e)]

    # 考核 in the city's room: the city's figures by default, nothing of another level.
    await hz.send_text(hz_room, "!考核 2026-11")
    [own] = await hz.wait_for(hz_room, has("考核 2026-11（杭州市）"), timeout=60)
    assert "浙江省发展和改革委员会" not in body_of(own)
    await hz.send_text(hz_room, "!考核 2026-11 fgw")
    await hz.wait_for(hz_room, has("本管理室只能查看杭州市的考核数据"))
    await hz.send_text(hz_room, "!审计")  # the trail covers every level: the province's to read
    await hz.wait_for(hz_room, has("仅可在省级管理室由省级管理员查看"))
    await zj.send_text(province_room, "!考核 2026-11 hz")  # the province sees every city
    await zj.wait_for(province_room, has("考核 2026-11（杭州市）"), timeout=60)
    bulletin = duty.bot("assessment")
    await bulletin.bulletin("weekly", parse_period("2026-W47"))
    await hz.wait_for(hz_room, has("周通报 2026-W47（杭州市）"), timeout=60)
    await zj.wait_for(province_room, has("周通报 2026-W47（全省）"), timeout=60)


async def test_a_case_goes_from_the_province_to_a_city_and_back_with_its_history(
    city: tuple[DutyRoom, dict[str, MatrixUser]], users: UserFactory
) -> None:
    duty, people = city
    citizen = await users("citizen")
    question = "杭州市区的停车收费价格什么时候调整"
    dm, root, ref = await open_case(duty, citizen, "fgw", question)
    fgw1, fgw_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    hz1, hz_room = people["hz1"], duty.officers_rooms["hzfgw"]

    # The routing hint: "!转办 ?" lists the departments whose duties fit the question.
    await send(fgw1, fgw_room, thread_reply(root, "!转办 ?"))
    [hint] = await fgw1.wait_for(fgw_room, in_thread(root, "最相关的部门"))
    assert "hzfgw：杭州市发展和改革委员会（杭州市）" in body_of(hint)

    await send(fgw1, fgw_room, thread_reply(root, "!转办 hzfgw 属杭州市定价权限"))
    [hz_root] = await hz1.wait_for(hz_room, has("转入咨询"))
    assert question in body_of(hz_root) and "浙江省发展和改革委员会" in body_of(hz_root)
    # The citizen is told by both: the province hands over, the city introduces itself with
    # its own hours.
    [told] = await citizen.wait_for(dm, has("已转交「杭州市发展和改革委员会」"))
    assert told["sender"] == duty.ghost("fgw")
    [welcome] = await citizen.wait_for(dm, has("已由「浙江省发展和改革委员会」转来"))
    assert welcome["sender"] == duty.ghost("hzfgw") and "08:30" in body_of(welcome)

    await citizen.send_text(dm, "主要是想问西湖景区周边的停车")
    await hz1.wait_for(hz_room, in_thread(hz_root["event_id"], "西湖景区"))
    await send(hz1, hz_room, thread_reply(hz_root["event_id"], "景区周边收费由省里统一核定，转回省发改委。"))
    [answer] = await citizen.wait_for(dm, has("转回省发改委"))
    assert answer["sender"] == duty.ghost("hzfgw")
    # Ten minutes later by the bridge's clock, so the two transfers' records differ in time.
    duty.clock.set(duty.clock.now() + timedelta(minutes=10))
    await send(hz1, hz_room, thread_reply(hz_root["event_id"], "!转办 fgw 景区收费属省定价"))

    # Back at the province: the history holds what was said before both transfers.
    # The case's old thread there is its thread again.
    [back] = await fgw1.wait_for(fgw_room, in_thread(root, "转入咨询"))
    assert "来自「杭州市发展和改革委员会」" in body_of(back)
    assert question in body_of(back) and "西湖景区" in body_of(back)
    await citizen.wait_for(dm, has("已转交「浙江省发展和改革委员会」"))
    # ... and the province answers in the thread, reaching the citizen as the province.
    await send(fgw1, fgw_room, thread_reply(root, "景区停车收费标准将于明年公布。"))
    [final] = await citizen.wait_for(dm, has("明年公布"))
    assert final["sender"] == duty.ghost("fgw")

    bot = duty.bot("consultation")
    case = await bot.tables.latest_case(dm)
    assert case.dept_id == "fgw" and case.ref == ref
    # Each transfer is logged out of the source and into the target, with both ids, at one time.
    log = await bot.tables.history(case.id)
    moves = sorted((at, kind, detail.split(":")[0]) for kind, at, detail in log
                   if kind.startswith("transferred") and detail)
    first_at, back_at = moves[0][0], moves[-1][0]
    assert back_at - first_at == 10 * 60_000
    assert moves == [(first_at, "transferred", "fgw->hzfgw"), (first_at, "transferred_in", "fgw->hzfgw"),
                     (back_at, "transferred", "hzfgw->fgw"), (back_at, "transferred_in", "hzfgw->fgw")]


async def test_a_complaint_about_a_city_agency_reaches_the_citys_office_only(
    city: tuple[DutyRoom, dict[str, MatrixUser]], users: UserFactory, sink: MailSink
) -> None:
    duty, _ = city
    chat = await Chat.open(duty, await users("citizen"), "complaints", "被投诉单位")
    await chat.say("杭州市发展和改革委员会", "投诉类别")
    await chat.say("2", "请输入正文")
    await chat.say("窗口办理拖了两个月。", "已记录")
    await chat.say("完成", "姓名")
    await chat.say("张三", "联系电话")
    await chat.say("跳过", "是否同意")
    await chat.say("不同意", "请核对")
    await chat.say("确认", "已提交")
    [complaint] = await wait_mail(sink, 1)
    assert complaint.rcpt_tos == [HZ_OFFICE]
    assert "杭州市人民政府督查室" in str(complaint.message["To"])
    for never in ("hzfgw@mail.example.gov.cn", PROVINCE_OFFICE):
        assert never not in complaint.raw.decode()

    # The city's mayor's mailbox is offered next to the governor's and reaches the mayor.
    letter = await Chat.open(duty, await users("citizen"), "mailbox", "请选择收信人")
    [offered] = [e for e in letter.citizen.events[letter.room] if "请选择收信人" in body_of(e)]
    assert "杭州市市长信箱" in body_of(offered)
    await letter.say("杭州市市长信箱", "请输入主题")
    await letter.say("地铁站出口太少", "请输入正文")
    await letter.say("希望增加出口。", "已记录")
    await letter.say("完成", "请输入您的姓名")
    await letter.say("李四", "联系电话")
    await letter.say("跳过", "请核对")
    await letter.say("确认", "已提交")
    [_, mayor] = await wait_mail(sink, 2)
    assert mayor.rcpt_tos == [HZ_MAYOR] and "【市长信箱】" in str(mayor.message["Subject"])

    # Both deadlines count the city's working days, not the province's (which end 18 December).
    db = duty.runtime.db
    assert await db.fetchval("SELECT deadline FROM complaints_letter") == "2026-12-25"
    assert await db.fetchval("SELECT deadline FROM mailbox_letter") == "2026-12-25"
