"""A scripted fortnight (16–22 November 2026 and the Friday before) for three departments on the
real homeserver with the injectable clock; every figure worked out by hand below, and the same
in the `!考核` reply, the weekly bulletin and the CLI. The bulletin is posted once across a restart.

Driven through Matrix: on-duty answers, a leave-message over a weekend and one over a 调休
Saturday, a transfer, the reminder ladder, closes and ratings (a bad one reopens the case). Seeded
through the bots' own table methods, where Matrix would add only time: the 财政厅's one case
(it has no officers in the test roster) and a letter to the 发改委 that passed its deadline.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bots.assessment.periods import parse_period
from bots.consultation.db import CLOSED
from devstack import MailSink
from tests.kit.bridge import BridgeSettings, InProcessBridge
from tests.kit.clients import UserFactory
from tests.kit.duty import SHANGHAI, start_duty_room
from tests.test_consultation import body_of, has, is_root, send, thread_reply
from tests.test_mailbox import enable_mail
from tests.test_off_hours import mail_sink as mail_sink  # noqa: F401 - the fixture

ROOT = Path(__file__).parent.parent
CALENDAR = "calendar:\n  2026:\n    holidays: []\n    workdays: [2026-11-21]\n"  # 调休 Saturday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# Week 2026-W47 by hand (working minutes on 08:30–12:00, 14:00–17:30; asof Mon 23 09:00):
#  fgw  A Mon 16 10:00 answered 10:05 (5), closed 10:30, rated 5
#       D Wed 18 10:00 unanswered: reminded 10:11, escalated 10:21, e-mail offered 10:31;
#         answered 10:40 (40)
#       C Tue 17 10:00 transferred to gat at 10:02 (a transfer out), letter BM overdue
#  gat  B Fri 20 18:00 leave-message; the 调休 Saturday opens 08:30; answered 09:00 (30),
#         closed 09:10, rated 4
#       C answered 10:20 (20), closed 10:30, rated 1: reopened (重办)
#  czt  S Thu 19 14:00 answered 14:10 (10), closed 15:00, rated 4 (seeded)
#  W46: E Fri 13 18:00 leave-message to fgw over the weekend, answered Mon 16 09:00 (30)
EXPECTED = {
    "fgw": {"cases": 2, "leave_messages": 0, "claim_due": 2, "claim_on_time": 1, "claim_rate": 0.5,
            "first_response_median": 22.5, "first_response_p90": 36.5, "reminders": 2,
            "reminded_cases": 1, "email_offered": 1, "closed": 1, "closed_on_time": 1,
            "closed_ever": 1, "reworked": 0, "rated": 1, "satisfied": 1, "satisfaction": 1.0,
            "transfers_out": 1, "transfers_in": 0, "letters": 1, "letters_on_time": 0,
            "letters_overdue": 1},
    "gat": {"cases": 2, "leave_messages": 1, "claim_due": 2, "claim_on_time": 0, "claim_rate": 0.0,
            "first_response_median": 25.0, "first_response_p90": 29.0, "followup_due": 1,
            "followup_on_time": 1, "followup_rate": 1.0, "reminders": 0, "closed": 1,
            "closed_on_time": 1, "closed_ever": 2, "reworked": 1, "rework_rate": 0.5, "rated": 2,
            "satisfied": 1, "satisfaction": 0.5, "participation": 1.0, "transfers_in": 1,
            "flags": ["satisfaction", "claim_rate"]},
    "czt": {"cases": 1, "claim_on_time": 1, "claim_rate": 1.0, "first_response_median": 10.0,
            "closed": 1, "closed_on_time": 1, "rated": 1, "satisfied": 1},
    "province": {"cases": 5, "leave_messages": 1, "claim_due": 5, "claim_on_time": 2,
                 "claim_rate": 0.4, "first_response_median": 20.0, "first_response_p90": 36.0,
                 "closed": 3, "rated": 4, "satisfied": 3, "satisfaction": 0.75, "reworked": 1,
                 "transfers_in": 1, "transfers_out": 1, "letters": 1, "letters_overdue": 1},
}


def check(figures: dict, expected: dict) -> None:
    for name, value in expected.items():
        got = figures[name]
        assert (got == pytest.approx(value) if isinstance(value, float) else got == value), (name, got, value)


async def test_scripted_fortnight(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
                                  users: UserFactory, mail_sink: MailSink) -> None:
    admin = await users("admin")
    enable_mail(bridge_settings, mail_sink.port, **{
        "admins": [admin.user_id], "assessment.monthly_day": 28,
        "assessment.mail_to": ["chief@mail.example.gov.cn"]})
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=at(13, 17, 50),
                                 extra_roster=lambda _: CALENDAR)
    try:
        admin_room = duty.bot("admin").room_id
        await admin.join(admin_room)
        consult = duty.bot("consultation")
        fgw, fgw_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        gat, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
        roots = {"fgw": 0, "gat": 0}

        async def ask(dept: str, text: str, when: datetime, leave: bool = False):  # type: ignore[no-untyped-def]
            duty.clock.set(when)
            citizen = await users("citizen")
            dm = await citizen.create_dm(duty.ghost(dept))
            await citizen.wait_for(dm, has("网上值班室"))
            await citizen.send_text(dm, text)
            if leave:
                await citizen.wait_for(dm, has("您的留言已记录"))
                return citizen, dm, None
            officer, room = (fgw, fgw_room) if dept == "fgw" else (gat, gat_room)
            roots[dept] += 1
            root = (await officer.wait_for(room, is_root, count=roots[dept]))[-1]["event_id"]
            return citizen, dm, root

        async def answer(officer, room, root, text, when, citizen, dm):  # type: ignore[no-untyped-def]
            duty.clock.set(when)
            await send(officer, room, thread_reply(root, text))
            await citizen.wait_for(dm, has(text))

        async def close_and_rate(officer, room, root, when, citizen, dm, rating, seen=1):  # type: ignore[no-untyped-def]
            duty.clock.set(when)
            await send(officer, room, thread_reply(root, "!办结"))
            await citizen.wait_for(dm, has("请回复数字 1–5"), count=seen)
            await citizen.send_text(dm, str(rating))
            await citizen.wait_for(dm, has("督办" if rating <= 2 else f"（{rating} 分）"))

        # W46: a leave-message over the weekend, followed up on Monday at 09:00.
        e_citizen, e_dm, _ = await ask("fgw", "周末前留言：社保转移怎么办理", at(13, 18), leave=True)
        duty.clock.set(at(16, 8, 31))
        await consult.tick()
        roots["fgw"] += 1
        e_root = (await fgw.wait_for(fgw_room, is_root, count=roots["fgw"]))[-1]["event_id"]
        await answer(fgw, fgw_room, e_root, "您好，周一答复留言", at(16, 9), e_citizen, e_dm)

        # A: on duty, answered in 5 minutes, closed and rated 5.
        a_citizen, a_dm, a_root = await ask("fgw", "社保卡补办需要什么材料", at(16, 10))
        await answer(fgw, fgw_room, a_root, "请带身份证办理", at(16, 10, 5), a_citizen, a_dm)
        await close_and_rate(fgw, fgw_room, a_root, at(16, 10, 30), a_citizen, a_dm, 5)

        # C: transferred to gat after 2 minutes, answered there at 10:20, closed, rated 1.
        c_citizen, c_dm, c_root = await ask("fgw", "社保和户口迁移的问题", at(17, 10))
        duty.clock.set(at(17, 10, 2))
        await send(fgw, fgw_room, thread_reply(c_root, "!转办 gat 户口问题"))
        [c_gat] = (await gat.wait_for(gat_room, has("转入咨询")))[-1:]
        await answer(gat, gat_room, c_gat["event_id"], "请到派出所办理迁移", at(17, 10, 20), c_citizen, c_dm)
        await close_and_rate(gat, gat_room, c_gat["event_id"], at(17, 10, 30), c_citizen, c_dm, 1)

        # D: nobody answers: reminded, escalated, e-mail offered; answered at 10:40.
        d_citizen, d_dm, d_root = await ask("fgw", "社保缴费基数调整", at(18, 10))
        for minute in (11, 21, 31):
            duty.clock.set(at(18, 10, minute))
            await consult.tick()
        await d_citizen.wait_for(d_dm, has("邮件"))  # the last step of the ladder
        await answer(fgw, fgw_room, d_root, "基数按上年平均工资", at(18, 10, 40), d_citizen, d_dm)

        # B: a leave-message on Friday evening; the 调休 Saturday opens at 08:30.
        b_citizen, b_dm, _ = await ask("gat", "社保和出入境证件办理", at(20, 18), leave=True)
        duty.clock.set(at(21, 8, 31))
        await consult.tick()
        roots["gat"] += 1
        b_root = (await gat.wait_for(gat_room, is_root, count=roots["gat"]))[-1]["event_id"]
        await answer(gat, gat_room, b_root, "周六答复您的留言", at(21, 9), b_citizen, b_dm)
        await close_and_rate(gat, gat_room, b_root, at(21, 9, 10), b_citizen, b_dm, 4)

        # Seeded: the 财政厅's case and an overdue letter, through the bots' own tables.
        tables = consult.tables
        s = await tables.open_case(event_id="$seed-czt", dept_id="czt", citizen="@seed:x",
                                   dm_room="!seed:x", officers_room="!seedo:x",
                                   now_ms=ms(at(19, 14)), day="20261119")
        await tables.first_reply(s.id, ms(at(19, 14, 10)), "@o:x")
        await tables.set_status(s.id, CLOSED, closed_at=ms(at(19, 15)))
        await tables.log("$seed-czt/closed", s.id, "closed", ms(at(19, 15)))
        await tables.rate(s.id, 4, ms(at(19, 15, 5)))
        await tables.log("$seed-czt/rated", s.id, "rated", ms(at(19, 15, 5)), detail="4")
        await duty.bot("mailbox").tables.create_letter(
            event_id="$seed-letter", number_prefix="BM20261116", kind="department", citizen="@seed:x",
            room_id="!seedl:x", recipient="浙江省发展和改革委员会", to_address="fgw@mail.example.gov.cn",
            subject="社保", created_at=ms(at(16, 10)), deadline="2026-11-18")

        # Monday 23 November 09:00: the weekly bulletin on W47.
        duty.clock.set(at(23, 9))
        assessment = duty.bot("assessment")
        await assessment.check()
        [bulletin] = await admin.wait_for(admin_room, has("周通报 2026-W47"))
        text = body_of(bulletin)
        assert "咨询 5 件（留言 1）" in text and "按时签收率 40.0%" in text and "满意率 75.0%" in text
        assert "较上期：咨询 +4" in text  # W46 had the weekend leave-message only
        assert "浙江省公安厅（满意率偏低、按时签收率偏低）" in text
        assert "社保（3）" in text.split("热点：")[1]  # 3 questions of the week asked about 社保
        files = await admin.wait_for(admin_room, lambda e: e.get("content", {}).get("msgtype") in
                                     ("m.image", "m.file") and "2026-W47" in body_of(e), count=3)
        assert sorted(body_of(f).rsplit(".", 1)[1] for f in files) == ["csv", "png", "xlsx"]
        for citizen_id in (a_citizen.user_id, b_citizen.user_id, c_citizen.user_id):
            assert citizen_id not in text  # figures, never people
        # ... and mailed to the listed address, with the table attached.
        mails = await asyncio.to_thread(mail_sink.wait_for, 1, 30)
        [mail] = [m for m in mails if "周通报 2026-W47" in m.subject]
        assert mail.rcpt_tos == ["chief@mail.example.gov.cn"]
        assert "按时签收率 40.0%" in mail.message.get_body(("plain",)).get_content()
        assert sorted(a.get_filename() for a in mail.message.iter_attachments()) == [
            "2026-W47.csv", "2026-W47.xlsx"]

        # The metrics: per department and jurisdiction, from the same tables.
        await assessment.metrics.refresh()
        labels = {"jurisdiction": "zj"}

        def sample(name: str, dept: str, **extra: str) -> float | None:
            return REGISTRY.get_sample_value(name, {"department": dept, **labels, **extra})

        assert sample("dutyroom_dept_cases_total", "fgw") == 3  # E, A, D (C moved to gat)
        assert sample("dutyroom_dept_cases_total", "gat") == 2
        assert sample("dutyroom_dept_open_cases", "gat") == 1  # C, reopened by its bad rating
        assert sample("dutyroom_dept_ratings_total", "gat", level="1") == 1
        assert sample("dutyroom_dept_waiting_leave_messages", "fgw") == 0

        # The same figures from the code, from `!考核` and from the CLI.
        period = parse_period("2026-W47")
        start, end = period.bounds(SHANGHAI)
        from bots.assessment.figures import compute
        report = await compute(duty.runtime.db, duty.runtime.rosters.current, assessment.settings(),
                               start, end, asof=at(23, 9))
        rows = {f.dept_id: f.as_dict() for f in report.departments}
        for dept in ("fgw", "gat", "czt"):
            check(rows[dept], EXPECTED[dept])
        check(report.province.as_dict(), EXPECTED["province"])

        await admin.send_text(admin_room, "!考核 2026-W47 zj")
        [reply] = await admin.wait_for(admin_room, has("考核 2026-W47（浙江省）"))
        assert "按时签收率 40.0%" in body_of(reply) and "咨询 5 件" in body_of(reply)
        await admin.send_text(admin_room, "!考核 2026-13")
        await admin.wait_for(admin_room, has("用法：!考核"))

        out = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bridge", "report", "-c", str(tmp_path / "config.yaml"),
                              "--period", "2026-W47", "--format", "json"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        cli_rows = {d["dept_id"]: d for d in data["departments"]}
        for dept in ("fgw", "gat", "czt"):
            # The CLI's asof is now (after the fortnight): the same closed history.
            check(cli_rows[dept], EXPECTED[dept])
        check(data["province"], EXPECTED["province"])

        # A restart, and the bulletin is not posted again.
        await duty.bridge.stop()
        bridge = InProcessBridge(tmp_path / "config.yaml", duty.clock)
        runtime = await bridge.start()
        try:
            again = next(b for b in runtime.bots if b.name == "assessment")
            await again.check()
            await runtime.idle()
            history = await admin.history(admin_room)
            assert len([e for e in history if body_of(e).startswith("周通报 2026-W47")]) == 1
            assert len([m for m in mail_sink.messages if "周通报 2026-W47" in m.subject]) == 1
        finally:
            await bridge.stop()
    finally:
        await duty.bridge.stop()
