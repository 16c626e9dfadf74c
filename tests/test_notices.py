"""Notices with receipts (政府版) against the real homeserver with real clients: a meeting notice
to twelve departments in two jurisdictions, receipts three ways, the tally edited in place,
chasing once, an edit and a recall reaching every copy, a restart in the middle of a delivery,
and who may do what."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.types import Membership
from openpyxl import load_workbook

from bots.notices.cli import main as notice_cli
from bridge.clock import FixedClock
from bridge.runtime import Runtime
from devstack import MailSink
from tests.conftest import DATA
from tests.kit.bridge import BridgeSettings, InProcessBridge, write_config
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import FRIDAY_10, roster_officers
from tests.test_mailbox import enable_mail

ALL12 = ["bgt", "fgw", "gat", "czt", "sjt", "tjj", "yjglt", "hzbgt", "hzfgw", "hzgaj", "hzczj", "hztjj"]


def body(e: dict[str, Any]) -> str:
    return str(e.get("content", {}).get("body", ""))


def has(text: str):
    return lambda e: text in body(e)


def is_edit(e: dict[str, Any]) -> bool:
    return (e.get("content", {}).get("m.relates_to") or {}).get("rel_type") == "m.replace"


class Staff:
    """The bridge, its clock and the people: an administrator, officers, a citizen."""

    def __init__(self, runtime: Runtime, bridge: InProcessBridge, clock: FixedClock,
                 people: dict[str, MatrixUser], prefix: str) -> None:
        self.runtime, self.bridge, self.clock, self.people = runtime, bridge, clock, people
        self.prefix = prefix

    @property
    def bot(self) -> Any:
        return next(b for b in self.runtime.bots if b.name == "notices")

    @property
    def notices_mxid(self) -> str:
        return f"@{self.prefix}notices:localhost"

    async def room_of(self, dept: str) -> str:
        return (await self.bot.spaces.officers_rooms())[dept]

    async def history(self, room_id: str) -> list[dict[str, Any]]:
        """A room's timeline as the bridge bot reads it (the officers' rooms of departments
        nobody is rostered in have no client to ask)."""
        resp = await self.runtime.az.intent.api.request(
            Method.GET, ApiPath.v3.rooms[room_id].messages, query_params={"dir": "b", "limit": "200"})
        return list(reversed(resp["chunk"]))

    async def dm(self, who: str) -> str:
        user = self.people[who]
        room = await user.create_dm(self.notices_mxid)
        await user.wait_for(room, lambda e: e.get("sender") == self.notices_mxid
                            and e.get("type") == "m.room.message")
        return room

    async def say(self, who: str, room: str, text: str, expect: str) -> dict[str, Any]:
        user = self.people[who]
        before = len([e for e in user.events.get(room, []) if has(expect)(e)])
        await user.send_text(room, text)
        found = await user.wait_for(room, has(expect), count=before + 1)
        return found[-1]


async def start_staff(settings: BridgeSettings, tmp_path: Path, users: UserFactory) -> Staff:
    roster = tmp_path / "roster"
    shutil.copytree(DATA / "rosters" / "notices", roster)
    people = {name: await users(name) for name in
              ("admin", "clerk", "fgw", "gat", "hzclerk", "hzfgw", "chief", "citizen")}
    spec = {name: (people[name].user_id, f"值班员 {i:02d}", dept) for i, (name, dept) in enumerate(
        (("clerk", "bgt"), ("fgw", "fgw"), ("gat", "gat"), ("hzclerk", "hzbgt"), ("hzfgw", "hzfgw")))}
    (roster / "officers.yaml").write_text(roster_officers(spec), encoding="utf-8")
    deps = roster / "departments.yaml"
    deps.write_text(deps.read_text(encoding="utf-8").replace(
        "jurisdiction: zj, email: fgw@", f'supervisors: ["{people["chief"].user_id}"], '
        "jurisdiction: zj, email: fgw@"), encoding="utf-8")
    settings.rosters = [str(roster / "*.yaml")]
    settings.extra.update({"admins": [people["admin"].user_id],
                           "notices.sender_departments": ["bgt", "hzbgt"],
                           "notices.check_interval": 3600, "notices.staff_spaces": True})
    clock = FixedClock(FRIDAY_10)
    bridge = InProcessBridge(write_config(tmp_path / "config.yaml", settings), clock)
    runtime = await bridge.start()
    staff = Staff(runtime, bridge, clock, people, settings.prefix)
    for name, dept in (("clerk", "bgt"), ("fgw", "fgw"), ("gat", "gat"), ("hzclerk", "hzbgt"),
                       ("hzfgw", "hzfgw"), ("chief", "fgw")):
        await people[name].join(await staff.room_of(dept))
    return staff


async def compose(staff: Staff, who: str, room: str, recipients: str) -> str:
    """The guided dialogue for a meeting notice; returns its number."""
    await staff.say(who, room, "新通知", "请选择通知类型")
    await staff.say(who, room, "1", "请输入通知标题")
    await staff.say(who, room, "关于召开全省安全生产工作会议的通知", "请输入会议时间")
    await staff.say(who, room, "12月3日 14:30", "会议地点")
    await staff.say(who, room, "省政府第一会议室", "参会要求")
    await staff.say(who, room, "分管负责同志 1 名", "请输入正文")
    await staff.say(who, room, "请各部门**分管负责同志**参会。\n\n- 议程一\n- 议程二", "如有附件")
    user = staff.people[who]
    url = await user.upload("会议议程".encode(), "text/plain", "议程.txt")
    before = len([e for e in user.events.get(room, []) if has("已添加附件（共 1 个）")(e)])
    await user.client.room_send(room, "m.room.message", {
        "msgtype": "m.file", "body": "议程.txt", "url": url,
        "info": {"mimetype": "text/plain", "size": 12}})
    await user.wait_for(room, has("已添加附件（共 1 个）"), count=before + 1)
    await staff.say(who, room, "完成", "接收部门")
    await staff.say(who, room, recipients, "回执截止时间")
    summary = await staff.say(who, room, "2个工作日", "请核对")
    assert "2026-12-01 10:00" in body(summary)  # Fri 10:00 + 18 working hours
    done = await staff.say(who, room, "确认", "已发出")
    return body(done).split("通知 ")[1].split(" ")[0]


async def test_meeting_notice_to_twelve_departments_receipts_chasing_edit_recall(
    bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory
) -> None:
    staff = await start_staff(bridge_settings, tmp_path, users)
    try:
        await _meeting_notice_flow(staff)
    finally:
        await staff.bridge.stop()


async def _meeting_notice_flow(staff: Staff) -> None:
    admin, fgw, gat, hzfgw, clerk = (staff.people[n] for n in ("admin", "fgw", "gat", "hzfgw", "clerk"))
    dm = await staff.dm("admin")
    ref = await compose(staff, "admin", dm, "全部")
    assert ref == "TZ-0001"
    rooms = {d: await staff.room_of(d) for d in ALL12}
    assert len(set(rooms.values())) == 12

    # Every department has exactly one copy, rendered from Markdown.
    async def copies(dept: str) -> list[dict[str, Any]]:
        return [e for e in await staff.history(rooms[dept]) if e.get("type") == "m.room.message"
                and e["content"].get("org.dutyroom.notice") == ref and not is_edit(e)]
    for dept in ALL12:
        found = await eventually(lambda d=dept: copies(d))
        assert len(found) == 1, dept
        assert "<strong>分管负责同志</strong>" in found[0]["content"]["formatted_body"]
        assert "参会要求：分管负责同志 1 名" in body(found[0])
        files = [e for e in await staff.history(rooms[dept]) if e["content"].get("msgtype") == "m.file"]
        assert [body(f) for f in files] == ["议程.txt"], dept
    [tally] = await admin.wait_for(dm, has("已回执 0/12"))

    # Receipts: a command, a reaction, and a meeting's attendees.
    [copy_fgw] = await fgw.wait_for(rooms["fgw"], has(f"编号 {ref}"))
    await fgw.send_text(rooms["fgw"], "!回执")
    await fgw.wait_for(rooms["fgw"], has("已为省发展改革委回执"))
    await admin.wait_for(dm, lambda e: is_edit(e) and "已回执 1/12" in body(e))
    [copy_gat] = await gat.wait_for(rooms["gat"], has(f"编号 {ref}"))
    await gat.client.room_send(rooms["gat"], "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": copy_gat["event_id"], "key": "✅"}})
    await admin.wait_for(dm, lambda e: is_edit(e) and "已回执 2/12" in body(e))
    await hzfgw.wait_for(rooms["hzfgw"], has(f"编号 {ref}"))
    await hzfgw.send_text(rooms["hzfgw"], "!回执 张三 李四")
    await hzfgw.wait_for(rooms["hzfgw"], has("参会人员：张三、李四"))
    last = await admin.wait_for(dm, lambda e: is_edit(e) and "已回执 3/12" in body(e))
    assert "杭州市发展和改革委员会：张三、李四" in last[-1]["content"]["m.new_content"]["body"]
    await fgw.send_text(rooms["fgw"], "!ack")  # a second receipt changes nothing
    await fgw.wait_for(rooms["fgw"], has("无需重复回执"))
    # One tally, edited in place: no second tally message.
    await admin.sync()
    tallies = [e for e in admin.events[dm] if has("【回执统计】")(e)]
    assert [e for e in tallies if not is_edit(e)] == [tally] and len(tallies) == 4
    assert all(e["content"]["m.relates_to"]["event_id"] == tally["event_id"] for e in tallies[1:])

    # Chasing: the reminder (2 working hours before Tuesday 10:00 is Monday 17:00), then the
    # overdue report; each once, across ticks and a restart.
    staff.clock.set(FRIDAY_10 + timedelta(days=3, hours=7, minutes=30))  # Monday 17:30
    await staff.bot.tick()
    await staff.bot.tick()
    [reminder] = await clerk.wait_for(rooms["bgt"], has("尚未回执"))
    assert clerk.user_id in reminder["content"]["m.mentions"]["user_ids"]
    staff.clock.set(FRIDAY_10 + timedelta(days=4, hours=1))  # Tuesday 11:00
    await staff.bot.tick()
    [overdue] = await admin.wait_for(dm, has("仍有 9 个部门未回执"))
    await staff.bridge.stop()
    staff.runtime = await staff.bridge.start()
    await staff.bot.tick()
    rows = await staff.runtime.db.fetch(
        "SELECT key FROM outbox WHERE key LIKE 'notice/1/remind/%' OR key LIKE 'notice/1/overdue%'")
    keys = sorted(r["key"] for r in rows)
    assert len([k for k in keys if "/remind/" in k]) == 9 and len(keys) == 9 + 9 + 1 + 1
    # The administrators hear of it too (a city's room of its own departments: test_cities.py).
    assert "notice/1/overdue-admins" in keys
    admin_room = next(b for b in staff.runtime.bots if b.name == "admin").room_id  # type: ignore[attr-defined]
    await admin.join(admin_room)
    [report] = await admin.wait_for(admin_room, has("仍有 9 个部门未回执"))
    assert "杭州市财政局" in body(report) and "督办" in body(report)
    assert (await staff.bot.tables.get(1)).status == "closed"  # chasing is over
    for user in (clerk, admin):
        await user.sync()
    assert len([e for e in clerk.events[rooms["bgt"]] if has("尚未回执")(e)]) == 1
    assert len([e for e in admin.events[dm] if has("未回执：")(e) and has("仍有")(e)]) == 1
    assert overdue

    # An edit reaches every copy in place; departments that acknowledged are told.
    await staff.say("admin", dm, f"!通知 更正 {ref}\n会议改在**第二会议室**。", "已更正（第 1 次）")
    for dept in ALL12:
        async def edited(d: str = dept) -> bool:
            return any(is_edit(e) and "第二会议室" in e["content"]["m.new_content"]["body"]
                       for e in await staff.history(rooms[d]))
        await eventually(edited)
    await fgw.wait_for(rooms["fgw"], has("已更正（第 1 次）"))
    assert not [e for e in await staff.history(rooms["czt"]) if has("已更正（第 1 次），请查看")(e)]

    # Status and export, by the sender.
    status = await staff.say("admin", dm, f"!通知 状态 {ref}", "【回执统计】")
    assert "已回执 3/12" in body(status)
    await admin.send_text(dm, f"!通知 导出 {ref}")
    files = await admin.wait_for(dm, lambda e: e["content"].get("msgtype") == "m.file"
                                 and e["sender"] == staff.notices_mxid, count=2)
    assert [body(f) for f in files] == [f"{ref}-回执.xlsx", f"{ref}-回执.csv"]
    xlsx = await admin.client.download(mxc=files[0]["content"]["url"])
    sheet = load_workbook(io.BytesIO(xlsx.body)).active
    table = {r[1]: r for r in sheet.iter_rows(values_only=True)}
    assert len(table) == 13 and table["fgw"][3] == "是" and table["czt"][3] == "否"
    assert table["hzfgw"][6] == "张三、李四" and table["fgw"][4] == fgw.user_id

    # A recall redacts every copy and says why.
    await staff.say("admin", dm, f"!通知 撤回 {ref} 会议延期", "已撤回")
    for dept in ALL12:
        async def recalled(d: str = dept) -> bool:
            events = await staff.history(rooms[d])
            gone = [e for e in events if e["event_id"] == copy_fgw["event_id"] or
                    (e.get("unsigned", {}).get("redacted_because") and e["type"] == "m.room.message")]
            told = [e for e in events if has("已撤回，原因：会议延期")(e)]
            return bool(gone) and len(told) == 1
        await eventually(recalled)
    [after] = [e for e in await staff.history(rooms["fgw"]) if e["event_id"] == copy_fgw["event_id"]]
    assert after["content"] == {}
    attachments = [e for e in await staff.history(rooms["fgw"]) if e["type"] == "m.room.message"
                   and e.get("unsigned", {}).get("redacted_because")]
    assert len(attachments) == 2  # the copy and its attachment
    await fgw.send_text(rooms["fgw"], f"!回执 {ref}")
    await fgw.wait_for(rooms["fgw"], has("已撤回，无需回执"))


async def test_who_may_send_edit_recall_and_read_receipts(
    bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory
) -> None:
    staff = await start_staff(bridge_settings, tmp_path, users)
    try:
        p = staff.people
        # The 办公厅's officer sends within Zhejiang province's jurisdiction …
        clerk_dm = await staff.dm("clerk")
        ref = await compose(staff, "clerk", clerk_dm, "浙江省")
        rows = await staff.runtime.db.fetch("SELECT dept_id FROM notice_copy WHERE notice_id=1")
        assert sorted(r["dept_id"] for r in rows) == sorted(ALL12[:7])
        # … and Hangzhou's may not send there, nor see, edit or recall that notice.
        hz_dm = await staff.dm("hzclerk")
        for text in ("新通知", "2", "标题", "正文", "完成"):
            await p["hzclerk"].send_text(hz_dm, text)
        await staff.say("hzclerk", hz_dm, "浙江省", "您无权向以下辖区或部门发送通知：浙江省")
        await staff.say("hzclerk", hz_dm, "fgw", "您无权向以下辖区或部门发送通知：fgw")
        await staff.say("hzclerk", hz_dm, "全部", "回执截止时间")  # all = all of Hangzhou
        await staff.say("hzclerk", hz_dm, "4小时", "接收部门（5 个）")
        for command in (f"!通知 状态 {ref}", f"!通知 导出 {ref}", f"!通知 撤回 {ref} 不对",
                        f"!通知 更正 {ref}\n新正文"):
            await staff.say("hzclerk", hz_dm, command, "发往您无权管理的辖区")
        # An officer who is not a sender, and a citizen: refused, whatever they try.
        for who in ("fgw", "citizen"):
            dm = await staff.dm(who)
            await p[who].wait_for(dm, has("没有发送或管理通知的权限"))
            for command in ("新通知", f"!通知 状态 {ref}", f"!通知 撤回 {ref} 不对",
                            f"!通知 更正 {ref}\n新正文", f"!通知 导出 {ref}"):
                await staff.say(who, dm, command, "没有发送或管理通知的权限")
        # The staff spaces: one per jurisdiction, with the lobby and the officers' rooms.
        spaces = await staff.runtime.db.fetch("SELECT jurisdiction, space_id, lobby_id, applied FROM notice_space")
        assert sorted(r["jurisdiction"] for r in spaces) == ["hz", "zj"]
        zj = next(r for r in spaces if r["jurisdiction"] == "zj")
        state = await staff.runtime.az.intent.get_state(zj["space_id"])
        children = {e.state_key for e in state if str(e.type) == "m.space.child" and e.content.serialize()}
        assert zj["lobby_id"] in children and await staff.room_of("fgw") in children
        assert await staff.room_of("hzfgw") not in children
        async def lobby() -> set[str]:
            return {e.state_key for e in await staff.runtime.az.intent.get_members(zj["lobby_id"])
                    if e.content.membership in (Membership.JOIN, Membership.INVITE)}
        members = await lobby()
        assert {p["admin"].user_id, p["clerk"].user_id, p["fgw"].user_id, p["chief"].user_id} <= members
        assert p["citizen"].user_id not in members and p["hzclerk"].user_id not in members
        # The lobby follows the roster: a newcomer in czt is invited, gat's officer removed.
        newcomer = await users("officer")
        spec = {name: (p[name].user_id, f"值班员 {i:02d}", dept) for i, (name, dept) in enumerate(
            (("clerk", "bgt"), ("fgw", "fgw"), ("hzclerk", "hzbgt"), ("hzfgw", "hzfgw")))}
        spec["new"] = (newcomer.user_id, "值班员 99", "czt")
        roster = Path(staff.runtime.config["rosters.paths"][0]).parent
        (roster / "officers.yaml").write_text(roster_officers(spec), encoding="utf-8")
        assert await staff.runtime.rosters.check_now()
        members = await lobby()
        assert newcomer.user_id in members and p["gat"].user_id not in members
        state = await staff.runtime.az.intent.get_state(zj["space_id"])
        children = {e.state_key for e in state if str(e.type) == "m.space.child" and e.content.serialize()}
        assert await staff.room_of("czt") in children  # made for the notice, a child now
    finally:
        await staff.bridge.stop()


async def test_a_restart_in_the_middle_of_a_delivery_sends_every_department_one_copy(
    bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory
) -> None:
    sink = MailSink()
    sink.start()
    enable_mail(bridge_settings, sink.port)  # and an e-mail copy to each department, once
    staff = await start_staff(bridge_settings, tmp_path, users)
    try:
        notice_file = tmp_path / "notice.md"
        notice_file.write_text(
            "---\nkind: 工作通知\ntitle: 关于报送年度总结的通知\n"
            f'sender: "{staff.people["admin"].user_id}"\nrecipients: all\ndeadline: 3d\nemail: true\n---\n'
            "请于下周五前报送**年度工作总结**。\n", encoding="utf-8")
        # The CLI stores the request; the bridge's round takes it. The delivery is cut short
        # after five copies, as by a crash.
        config = str(staff.bridge.config_path)
        assert await asyncio.to_thread(notice_cli, ["-c", config, "send", str(notice_file)]) == 0
        real_send, sent = staff.bot.ctx.send, []

        async def crashing_send(key: str, *args: Any, **kwargs: Any) -> None:
            if "/copy/" in key and len(sent) == 5:
                raise ConnectionError("killed")
            sent.append(key)
            await real_send(key, *args, **kwargs)
        staff.bot.ctx.send = crashing_send
        try:
            await staff.bot.tick()
        except ConnectionError:
            pass
        assert len(sent) == 5
        await staff.bridge.stop()
        staff.runtime = await staff.bridge.start()  # resumes the delivery
        rooms = {d: await staff.room_of(d) for d in ALL12}
        for dept in ALL12:
            async def one_copy(d: str = dept) -> bool:
                found = [e for e in await staff.history(rooms[d]) if e.get("type") == "m.room.message"
                         and e["content"].get("org.dutyroom.notice") == "TZ-0001"]
                return len(found) == 1
            await eventually(one_copy)
        await asyncio.sleep(1)  # nothing more arrives
        for dept in ALL12:
            found = [e for e in await staff.history(rooms[dept])
                     if e["content"].get("org.dutyroom.notice") == "TZ-0001"]
            assert len(found) == 1, dept
        # The request is marked sent only after the copies were queued: the restart took it
        # again and it is now sent, once.
        await staff.bot.tick()
        assert await staff.bot.tables.request(1) == ("sent", "TZ-0001")
        assert await asyncio.to_thread(notice_cli, ["-c", config, "status", "1"]) == 0
        dm = await staff.bot.tables.dm_of(staff.people["admin"].user_id)
        await staff.people["admin"].join(dm)
        await staff.people["admin"].wait_for(dm, has("已回执 0/12"))
        await eventually(lambda: len(sink.messages) >= 12)
        await asyncio.sleep(0.5)
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(
            f"{d}@mail.example.gov.cn" for d in ALL12)
        assert all("关于报送年度总结的通知" in m.subject for m in sink.messages)
    finally:
        await staff.bridge.stop()
        sink.stop()
