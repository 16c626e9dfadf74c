"""Where a transfer meets another feature (the third seam hunt of session 13): each test is a
defect it found, and states what a user should see. A case moves 省发改委 fgw → 省公安厅 gat (or
back); what belongs to the department it left must still be handled as that department's.

One fixture for all: the duty room with mail on (a sink) and 值班员 21, an officer on both
fgw's and gat's rosters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiosmtplib
import pytest

from devstack import MailSink
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_consultation import body_of, edit_of, has, in_thread, open_case, send, thread_reply
from tests.test_mailbox import enable_mail
from tests.test_privacy import export_of

FGW, GAT = "浙江省发展和改革委员会", "浙江省公安厅"


@dataclass
class Seams3:
    duty: DutyRoom
    both: MatrixUser  # 值班员 21, on fgw's and gat's rosters
    sink: MailSink


@pytest.fixture
async def seams3(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
                 users: UserFactory) -> AsyncIterator[Seams3]:
    both = await users("officer")
    sink = MailSink()
    sink.start()
    enable_mail(bridge_settings, sink.port)
    duty = await start_duty_room(
        bridge_settings, roster_dir, tmp_path, users, extra_roster=lambda _: (
            "officers:\n"
            f'  - {{mxid: "{both.user_id}", alias: 值班员 21, departments: [fgw, gat]}}\n'))
    duty.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    for dept in ("fgw", "gat"):
        await both.join(duty.officers_rooms[dept])
    try:
        yield Seams3(duty, both, sink)
    finally:
        await duty.bridge.stop()
        sink.stop()


async def transferred(duty: DutyRoom, citizen: MatrixUser, question: str,
                      source: str = "fgw", target: str = "gat") -> tuple[str, str, str]:
    """A case asked at `source`, transferred by its officer to `target`: (dm, old root, new root)."""
    officer = {"fgw": duty.officers["fgw1"], "gat": duty.officers["gat1"]}
    dm, root, _ = await open_case(duty, citizen, source, question)
    await send(officer[source], duty.officers_rooms[source], thread_reply(root, f"!转办 {target} 请贵单位答复"))
    [new_root] = await officer[target].wait_for(duty.officers_rooms[target], has("转入咨询"))
    await citizen.wait_for(dm, has("转来"))
    return dm, root, new_root["event_id"]


# 1. Transfer × the officers' thread: a message in the thread the case left -----------------------
async def test_an_answer_written_in_the_old_thread_is_refused_to_its_writer(
        seams3: Seams3, users: UserFactory) -> None:
    """值班员 01 (fgw only) transfers a case to 省公安厅 and, a moment later, adds an answer in
    the same thread. It is not relayed (right), but the refusal 「您不在「浙江省公安厅」的值班名单中，
    这条消息没有转给市民」 is posted into 公安厅's thread: 值班员 01 sees nothing and believes the
    citizen has the answer, and 公安厅's officers read a refusal meant for someone else."""
    duty = seams3.duty
    fgw1, gat1 = duty.officers["fgw1"], duty.officers["gat1"]
    fgw_room, gat_room = duty.officers_rooms["fgw"], duty.officers_rooms["gat"]
    dm, root, gat_root = await transferred(duty, await users("citizen"), "身份证补办要多久")
    await send(fgw1, fgw_room, thread_reply(root, "补充：补办一般需要 7 个工作日。"))
    await fgw1.wait_for(fgw_room, in_thread(root, "没有转给市民"), timeout=15)
    await gat1.sync(0)
    assert not [e for e in gat1.events.get(gat_room, []) if "没有转给市民" in body_of(e)]


async def test_an_officer_of_both_departments_is_told_the_old_thread_no_longer_reaches_the_citizen(
        seams3: Seams3, users: UserFactory) -> None:
    """值班员 21 serves both 省发改委 and 省公安厅. A case moves from one to the other; 值班员 21
    answers in the thread where they saw it, 省发改委's: the answer is dropped without a word
    (officer_side.handle returns for 'an old thread of a transferred case'); the citizen never
    gets it and nobody knows. Nothing is dropped silently."""
    duty, both = seams3.duty, seams3.both
    fgw_room = duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, _ = await transferred(duty, citizen, "企业搬迁后户籍怎么办")
    await send(both, fgw_room, thread_reply(root, "您好，请到新住址派出所办理。"))
    [told] = await both.wait_for(fgw_room, in_thread(root, "没有转给市民"), timeout=10)
    assert "已转交「浙江省公安厅」办理" in body_of(told)
    assert not [e for e in await citizen.history(dm) if "新住址派出所" in body_of(e)]
    # Nor does a 👍 on the root the case left claim it in the department it is with now.
    await send(both, fgw_room, {"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": "👍"}},
               "m.reaction")
    await send(both, fgw_room, thread_reply(root, "再试一次"))  # (handled after the 👍)
    await both.wait_for(fgw_room, in_thread(root, "没有转给市民"), count=2)
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case is not None and case.status == "open" and case.claimed_by is None


# 2. Transfer × an officer's edit × signed replies ------------------------------------------------
async def test_an_answer_edited_after_a_transfer_keeps_its_writers_signature(
        seams3: Seams3, users: UserFactory) -> None:
    """值班员 01 answered at 省发改委 (signed 「—— 值班员 01」), then transferred the case to
    省公安厅, then corrected a typo in that answer. The edit is signed with the alias 值班员 01 has
    in the department the case is in *now*: none, so the citizen's answer now reads 「—— 负责人」
    (the supervisor's signature)."""
    duty = seams3.duty
    fgw1, fgw_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "身份证丢了怎么补办")
    answer = await send(fgw1, fgw_room, thread_reply(root, "请携带户口本到派出所办理。"))
    [got] = await citizen.wait_for(dm, has("户口本"))
    assert body_of(got).endswith("—— 值班员 01")
    await send(fgw1, fgw_room, thread_reply(root, "!转办 gat 户籍业务"))
    await citizen.wait_for(dm, has("转来"))
    await send(fgw1, fgw_room, edit_of(answer, "请携带户口簿到户籍派出所办理。"))
    [edited] = await citizen.wait_for(dm, lambda e: "户口簿" in str(e["content"].get("m.new_content")))
    new_body = edited["content"]["m.new_content"]["body"]
    assert new_body.endswith("—— 值班员 01"), new_body


# 3. The e-mail fallback × a transfer afterwards --------------------------------------------------
async def test_an_office_mail_answer_after_a_transfer_is_filtered_and_attributed_as_the_offices(
        seams3: Seams3, users: UserFactory) -> None:
    """Nobody answered at 省发改委; the citizen took the e-mail, which went to fgw's mailbox;
    an officer then transferred the case to 省公安厅. fgw's mail office answers by e-mail, signed
    by its officer 张科长 (值班员 01's name in fgw's officers' room). The answer reaches the
    citizen (1) with 张科长 in it: the privacy filter hid the names of the *receiving* room's
    members (公安厅's), not those of the office that wrote; before the transfer the same mail is
    relayed with the name hidden; (2) as 「浙江省公安厅通过邮件答复了您的咨询」 under 公安厅's account:
    it was 省发改委 that answered."""
    duty, sink = seams3.duty, seams3.sink
    fgw1, fgw_room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await fgw1.client.set_displayname("张科长")
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "项目核准的流程")
    duty.clock.set(duty.clock.now() + timedelta(minutes=31))
    await duty.bot("consultation").tick()
    await citizen.wait_for(dm, has("回复“邮件”"))
    await citizen.send_text(dm, "邮件")
    await citizen.wait_for(dm, has("已把您的咨询"))
    [mail] = sink.wait_for(1, timeout=20)
    assert mail.rcpt_tos == ["fgw@mail.example.gov.cn"]
    await send(fgw1, fgw_room, thread_reply(root, "!转办 gat 涉及公安审批"))
    await citizen.wait_for(dm, has("转来"))
    reply = mail.message["Reply-To"]
    answer = (
        f"From: fgw@mail.example.gov.cn\r\nTo: {reply}\r\nSubject: Re: {mail.subject}\r\n"
        "Message-ID: <seams3-1@mail.example.gov.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "您好，核准流程请见省发展改革委网站办事指南。经办人：张科长\r\n").encode()
    await aiosmtplib.send(answer, hostname="127.0.0.1", port=duty.runtime.mail.listen_port,  # type: ignore[union-attr]
                          sender="fgw@mail.example.gov.cn", recipients=[reply])
    [answered] = await citizen.wait_for(dm, has("办事指南"), timeout=30)
    problems = []
    if "张科长" in body_of(answered):
        problems.append("an fgw officer's name reached the citizen")
    if FGW not in body_of(answered) or GAT in body_of(answered):
        problems.append("attributed to 公安厅")
    if answered["sender"] != duty.ghost("fgw"):
        problems.append(f"sent as {answered['sender']}")
    assert problems == [], (problems, body_of(answered))
    # 省发改委's thread hears its mailbox answered; 公安厅's, that it still has the case (which
    # the mail did not claim for it: its reminders go on).
    await fgw1.wait_for(fgw_room, in_thread(root, "部门邮箱已答复"))
    gat1, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    await gat1.wait_for(gat_room, has("本咨询仍由本部门办理"))
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case is not None and case.status == "open" and case.claimed_by is None


# 4. A supervisor's block × a transfer: lifting it ---------------------------------------------------
async def test_a_citizen_blocked_by_the_department_a_case_moved_to_is_told_when_the_block_ends(
        seams3: Seams3, users: UserFactory) -> None:
    """A case asked at 省公安厅 moves to 省发改委, whose supervisor blocks the citizen for a day
    (the citizen is told in their chat, from 省发改委's account) and then lifts it. The lift is
    announced in 'the citizen's DM with 省发改委', which this citizen never opened: the citizen
    is not told they may write again, while the thread says 「已告知市民」."""
    duty = seams3.duty
    chief, fgw_room = duty.officers["chief"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, _, fgw_root = await transferred(duty, citizen, "项目备案和户籍都要问", source="gat", target="fgw")
    await send(chief, fgw_room, thread_reply(fgw_root, "!屏蔽 1天 辱骂工作人员"))
    await citizen.wait_for(dm, has("辱骂工作人员"))
    await send(chief, fgw_room, thread_reply(fgw_root, "!解除屏蔽"))
    await chief.wait_for(fgw_room, in_thread(fgw_root, "屏蔽已解除"))
    await citizen.wait_for(dm, has("功能已恢复"), timeout=15)


# 5. Citizens' data × a transfer: the export ---------------------------------------------------------
async def test_the_export_names_the_department_that_gave_each_answer(
        seams3: Seams3, users: UserFactory) -> None:
    """After a transfer 公安厅 answers in the same chat, under its own account: the citizen's
    export listed that answer as 省发改委's (the chat's first department)."""
    duty = seams3.duty
    gat1, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    citizen = await users("citizen")
    dm, _, gat_root = await transferred(duty, citizen, "户口迁入需要什么材料")
    await send(gat1, gat_room, thread_reply(gat_root, "请携带户口簿和房产证明到派出所办理。"))
    await citizen.wait_for(dm, has("房产证明"))
    data = await export_of(citizen, dm, duty.ghost("fgw"))
    said = {c["department"]: [m["text"] for m in c["messages_from_department"]] for c in data["conversations"]}
    assert any("房产证明" in text for text in said[GAT]), said
    assert not any("房产证明" in text for text in said[FGW]), said
