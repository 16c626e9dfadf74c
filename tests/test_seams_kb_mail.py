"""Where two landed features meet (the fifth seam hunt of session 13: ratings and claims cut
short by a crash, the e-mail fallback after a bounce, knowledge-base suggestions after a
transfer): each test is a defect it found, and states what a user should see.

One fixture for all: the duty room (Friday 10:00, fgw and gat open) with the knowledge base
of tests/test_knowledge.py and mail on (a sink); `crash_after` (tests/test_seams_crash.py)
makes a table write succeed and then fail once, as a SIGKILL at that instant would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiosmtplib
import pytest

from devstack import MailSink
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory, eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_consultation import body_of, has, in_thread, open_case, send, thread_reply
from tests.test_knowledge import knowledge_folder
from tests.test_mailbox import enable_mail
from tests.test_seams_crash import crash_after


@dataclass
class Seams5:
    duty: DutyRoom
    sink: MailSink
    listen: int


@pytest.fixture
async def seams5(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
                 users: UserFactory) -> AsyncIterator[Seams5]:
    sink = MailSink()
    sink.start()
    bridge_settings.extra["knowledge.path"] = str(knowledge_folder(tmp_path))
    listen = enable_mail(bridge_settings, sink.port)
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    await duty.bot("knowledge").watcher.ready()
    try:
        yield Seams5(duty, sink, listen)
    finally:
        await duty.bridge.stop()
        sink.stop()


# 1. A crash × the rating -------------------------------------------------------------------------
async def test_a_rating_interrupted_after_it_was_stored_is_not_taken_for_a_new_message(
        seams5: Seams5, users: UserFactory) -> None:
    """The citizen rates a closed case 5; the bridge dies just after the rating was stored
    (tables.rate), before the log entry. Handled again, the case has a rating and the event is
    not in the log, so the "5" is taken for a second number: a new message. The case is
    reopened, the citizen reads 「已重新打开」 instead of thanks, the officers on duty are
    mentioned for a case that is done and find "5" in its thread. It should finish the rating."""
    duty = seams5.duty
    fgw1, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "企业投资项目备案要哪些材料")
    await send(fgw1, room, thread_reply(root, "请在投资项目在线审批监管平台填报。"))
    await citizen.wait_for(dm, has("在线审批"))
    await send(fgw1, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"))
    crash_after(duty, "rate")
    await citizen.send_text(dm, "5")
    await citizen.wait_for(dm, lambda e: "感谢您的评价" in body_of(e) or "重新打开" in body_of(e), timeout=20)
    await duty.runtime.idle()
    assert not [e for e in await citizen.history(dm) if "重新打开" in body_of(e)]
    assert (await duty.bot("consultation").tables.latest_case(dm)).status == "closed"  # type: ignore[union-attr]


# 2. A crash × a claim ----------------------------------------------------------------------------
async def test_a_claim_interrupted_after_its_log_entry_still_shows_who_claimed_it(
        seams5: Seams5, users: UserFactory) -> None:
    """值班员 01 claims a case (`!认领`, or 👍 on its root); the bridge dies just after the log
    entry. Handled again, the log says "already claimed", so nothing more is done: the thread
    never says 「值班员 01 已认领」 and the root keeps showing the case as open, so 值班员 02
    takes it up too. It should finish the claim: the notice and the root's status."""
    duty = seams5.duty
    fgw1, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    _, root, _ = await open_case(duty, citizen, "fgw", "节能审查怎么申请")
    crash_after(duty, "log", lambda event_id, case_id, kind, *a, **k: kind == "claimed")
    await send(fgw1, room, {"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": "👍"}},
               "m.reaction")
    await fgw1.wait_for(room, in_thread(root, "已认领"), timeout=20)


# 3. The e-mail fallback × a bounce × "邮件" again ---------------------------------------------------
async def test_a_second_email_after_a_bounce_is_not_reported_as_sent(
        seams5: Seams5, users: UserFactory) -> None:
    """Nobody answers; the citizen takes the e-mail offer; the department's server bounces it
    and the citizen is told so (「未能送达 … 仍在这里等待」). The offer said reply "邮件", so the
    citizen does again: the bridge answers 「已把您的咨询…发送到…部门邮箱」 and the officers
    read 「市民选择改用邮件，已发送至部门邮箱」, but no mail goes out (the queue returns the
    bounced one for the same key). The citizen waits for a mail answer that can never come.
    A second "邮件" should send a mail again, or say plainly that e-mail cannot be used."""
    duty, sink = seams5.duty, seams5.sink
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "没人回的问题，改用邮件")
    duty.clock.set(duty.clock.now() + timedelta(minutes=31))
    await duty.bot("consultation").tick()
    await citizen.wait_for(dm, has("回复“邮件”"))
    await citizen.send_text(dm, "邮件")
    await citizen.wait_for(dm, has("已把您的咨询"))
    [mail] = await eventually(lambda: list(sink.messages), timeout=20)
    dsn = (
        "From: MAILER-DAEMON@mail.example.gov.cn\r\nTo: " + mail.mail_from + "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-5@mail.example.gov.cn>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.gov.cn\r\n\r\n"
        "Final-Recipient: rfc822; fgw@mail.example.gov.cn\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n--B--\r\n").encode()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=seams5.listen, start_tls=False) as smtp:
        await smtp.sendmail("", [mail.mail_from], dsn)
    await citizen.wait_for(dm, has("未能送达"), timeout=30)
    from_dept = [e for e in await citizen.history(dm) if e["sender"] == duty.ghost("fgw") and body_of(e)]
    await citizen.send_text(dm, "邮件")
    # The department's answer to the second "邮件":
    again = (await citizen.wait_for(dm, lambda e: e["sender"] == duty.ghost("fgw") and bool(body_of(e)),
                                    count=len(from_dept) + 1, timeout=20))[-1]
    assert "已把您的咨询" in body_of(again), body_of(again)  # it failed: sent again
    await eventually(lambda: len(sink.messages) >= 2, timeout=10)
    # A third "邮件" while that one is on its way or there: said so, not sent again.
    await citizen.send_text(dm, "邮件")
    await citizen.wait_for(dm, has("答复会转到这里"))
    assert len(sink.messages) == 2


# 4. The knowledge base × a transfer × the root's status ------------------------------------------
async def test_the_receiving_departments_root_does_not_list_the_senders_entries(
        seams5: Seams5, users: UserFactory) -> None:
    """A question about 电价 opens a case at fgw: its root lists fgw's entry 「居民阶梯电价听证会
    安排」 for `!答 1`. Transferred to 公安厅, the case gets a 「转入咨询」 root there (no
    suggestions). When 值班员 11 claims it, the root's status edit is rebuilt from the case's
    first root: it now lists fgw's entry under 知识库建议 in gat's room, and `!答 1` there
    answers 「编号 1 不在最近一次检索结果中」. (The edit also replaces the 「转入咨询」 text,
    the source department and the citizen's words, with a plain 「新咨询」 root.) The root in
    gat should offer gat's entries, or none."""
    duty = seams5.duty
    fgw1, gat1 = duty.officers["fgw1"], duty.officers["gat1"]
    citizen = await users("citizen")
    _, root, _ = await open_case(duty, citizen, "fgw", "请问电费价格听证会什么时候开？")
    [first] = [e for e in await fgw1.history(duty.officers_rooms["fgw"]) if e["event_id"] == root]
    assert "居民阶梯电价听证会安排" in body_of(first)
    await send(fgw1, duty.officers_rooms["fgw"], thread_reply(root, "!转办 gat 请贵单位答复"))
    gat_room = duty.officers_rooms["gat"]
    [gat_root] = await gat1.wait_for(gat_room, has("转入咨询"))
    await send(gat1, gat_room, thread_reply(gat_root["event_id"], "!认领"))
    [edit] = await gat1.wait_for(gat_room, lambda e: e["content"].get("m.relates_to", {}).get(
        "rel_type") == "m.replace" and e["content"]["m.relates_to"].get("event_id") == gat_root["event_id"])
    new_body = edit["content"]["m.new_content"]["body"]
    assert "居民阶梯电价听证会安排" not in new_body
    assert new_body.startswith("转入咨询") and "已认领" in new_body.split("\n")[0], new_body
