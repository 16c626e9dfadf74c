"""Consultations end to end: citizen DM → thread for the officers → replies from the ghost."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom


def body_of(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


def has(text: str):
    return lambda e: text in body_of(e)


def is_root(event: dict[str, Any]) -> bool:
    """A case's thread root (its later status edits start with "* ")."""
    return body_of(event).startswith("新咨询")


def in_thread(root: str, text: str):
    def check(e: dict[str, Any]) -> bool:
        rel = e.get("content", {}).get("m.relates_to", {})
        return rel.get("rel_type") == "m.thread" and rel.get("event_id") == root and text in body_of(e)
    return check


def edit_of(target: str, text: str) -> dict[str, Any]:
    """An edit of `target` to `text`, as Element sends it."""
    return {"msgtype": "m.text", "body": f"* {text}", "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}


def thread_reply(root: str, text: str, reply_to: str | None = None) -> dict[str, Any]:
    return {
        "msgtype": "m.text", "body": text,
        "m.relates_to": {
            "rel_type": "m.thread", "event_id": root, "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or root},
        },
    }


async def send(user: MatrixUser, room: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
    resp = await user.client.room_send(room, event_type, content)
    assert hasattr(resp, "event_id"), resp
    return resp.event_id


async def open_case(duty: DutyRoom, citizen: MatrixUser, dept: str, text: str) -> tuple[str, str, str]:
    """Citizen DMs the department and asks; returns (dm room, root event id, reference)."""
    dm = await citizen.create_dm(duty.ghost(dept))
    await citizen.wait_for(dm, has("网上值班室"))  # the greeting
    officer = duty.officers["fgw1" if dept == "fgw" else "gat1"]
    room = duty.officers_rooms[dept]
    await officer.sync(0)
    before = len([e for e in officer.events.get(room, []) if is_root(e)])
    await citizen.send_text(dm, text)
    root = (await officer.wait_for(room, is_root, count=before + 1))[-1]
    await officer.wait_for(room, in_thread(root["event_id"], text))
    ref = body_of(root).split()[1]
    return dm, root["event_id"], ref


async def test_round_trip_with_edits_replies_redactions_and_media(
    duty: DutyRoom, users: UserFactory
) -> None:
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "你好，我想咨询企业投资项目备案")
    await citizen.wait_for(dm, has(ref))  # the acknowledgement names the reference
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    [root_event] = [e for e in officer.events[room] if e["event_id"] == root]
    assert officer.user_id in root_event["content"]["m.mentions"]["user_ids"]  # on duty: mentioned
    assert citizen.user_id not in json.dumps(root_event)  # officers see a pseudonym
    assert "市民 #" in body_of(root_event)

    answer = await send(officer, room, thread_reply(root, f"您好，请通过在线平台备案。{officer.user_id}"))
    [reply] = await citizen.wait_for(dm, has("请通过在线平台备案"))
    assert reply["sender"] == duty.ghost("fgw")
    assert "值班员 01" in body_of(reply)  # signed with the duty alias
    assert officer.user_id not in json.dumps(reply)

    # The citizen replies to the answer; the officers see it as a reply to the officer's message.
    await send(citizen, dm, {"msgtype": "m.text", "body": "好的，谢谢",
                             "m.relates_to": {"m.in_reply_to": {"event_id": reply["event_id"]}}})
    [mapped] = await officer.wait_for(room, in_thread(root, "好的，谢谢"))
    assert mapped["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == answer

    # The officer edits the answer, then redacts it; the citizen's copy follows both.
    await send(officer, room, {
        "msgtype": "m.text", "body": "* 更正：请到政务服务网备案",
        "m.new_content": {"msgtype": "m.text", "body": "更正：请到政务服务网备案"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": answer},
    })
    [edit] = await citizen.wait_for(dm, has("更正"))
    assert edit["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": reply["event_id"]}
    await officer.client.room_redact(room, answer)
    await citizen.wait_for(dm, lambda e: e.get("type") == "m.room.redaction"
                           and e.get("redacts", e["content"].get("redacts")) == reply["event_id"])

    # The citizen edits their own message.
    asked = await send(citizen, dm, {"msgtype": "m.text", "body": "项目在杭州"})
    copy = (await officer.wait_for(room, in_thread(root, "项目在杭州")))[0]
    await send(citizen, dm, {
        "msgtype": "m.text", "body": "* 项目在宁波",
        "m.new_content": {"msgtype": "m.text", "body": "项目在宁波"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": asked},
    })
    [edited] = await officer.wait_for(room, has("项目在宁波"))
    assert edited["content"]["m.relates_to"]["event_id"] == copy["event_id"]
    # Edited, the copy still names the citizen by their pseudonym, as it did.
    assert edited["content"]["m.new_content"]["body"] == body_of(copy).replace("杭州", "宁波")

    # Images go both ways as fresh uploads.
    mxc = await citizen.upload(b"\x89PNG fake image bytes", "image/png", "photo.png")
    await send(citizen, dm, {"msgtype": "m.image", "body": "photo.png", "url": mxc,
                             "info": {"mimetype": "image/png", "size": 22}})
    [image] = await officer.wait_for(room, lambda e: e["content"].get("msgtype") == "m.image")
    assert image["content"]["url"].startswith("mxc://") and image["content"]["url"] != mxc
    assert image["content"]["m.relates_to"]["event_id"] == root
    # Whose it is, as a caption under the pseudonym (Element shows `body` as a caption when
    # `filename` differs); a caption the citizen wrote keeps its words after the pseudonym.
    label = body_of(copy).partition("：")[0]
    assert image["content"]["body"] == f"{label}：photo.png" and image["content"]["filename"] == "photo.png"
    await send(citizen, dm, {"msgtype": "m.file", "body": "这是**合同**第二页", "filename": "合同.pdf",
                             "format": "org.matrix.custom.html",
                             "formatted_body": "这是<strong>合同</strong>第二页", "url": mxc,
                             "info": {"mimetype": "application/pdf", "size": 22}})
    [file] = await officer.wait_for(room, lambda e: e["content"].get("msgtype") == "m.file")
    assert file["content"]["body"] == f"{label}：这是**合同**第二页"
    assert file["content"]["formatted_body"] == f"<b>{label}</b>：这是<strong>合同</strong>第二页"
    assert file["content"]["filename"] == "合同.pdf"
    # Paragraphs (Element's Markdown of two): the pseudonym starts the first, not a line alone.
    await send(citizen, dm, {"msgtype": "m.text", "body": "第一段\n\n第二段", "format": "org.matrix.custom.html",
                             "formatted_body": "<p>第一段</p>\n<p>第二段</p>\n"})
    [paragraphs] = await officer.wait_for(room, in_thread(root, "第二段"))
    assert paragraphs["content"]["formatted_body"].startswith(f"<p><b>{label}</b>：第一段</p>")


async def test_claim_transfer_close_and_rating(duty: DutyRoom, users: UserFactory) -> None:
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "我的身份证丢了怎么办")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, {"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": "👍"}},
               "m.reaction")
    await officer.wait_for(room, in_thread(root, "已认领"))

    await send(officer, room, thread_reply(root, "!转办 gat 涉及身份证补办"))
    await officer.wait_for(room, in_thread(root, "转交「浙江省公安厅」"))
    gat_officer, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    [gat_root] = await gat_officer.wait_for(gat_room, has("转入咨询"))
    assert "我的身份证丢了怎么办" in body_of(gat_root) and "涉及身份证补办" in body_of(gat_root)
    await citizen.wait_for(dm, has("已转交「浙江省公安厅」"))

    # The citizen corrects the question asked before the transfer: fgw's copy is edited under
    # fgw's pseudonym for the citizen, and gat's officers, who have the case now, hear under
    # theirs (pseudonyms differ by department, so neither side can link them).
    asked = next(e for e in await citizen.history(dm) if body_of(e) == "我的身份证丢了怎么办")
    await send(citizen, dm, edit_of(asked["event_id"], "我的身份证和户口本都丢了怎么办"))
    [fgw_edit] = await officer.wait_for(room, has("户口本都丢了"))
    [gat_told] = await gat_officer.wait_for(gat_room, in_thread(gat_root["event_id"], "户口本都丢了"))
    fgw_label = next(body_of(e) for e in officer.events[room]
                     if body_of(e).endswith("：我的身份证丢了怎么办")).split("：")[0]
    gat_label = body_of(gat_root).split("市民 #")[1][:4]
    assert fgw_edit["content"]["m.new_content"]["body"].startswith(fgw_label)
    assert "修改了此前发出的" in body_of(gat_told) and f"市民 #{gat_label}：" in body_of(gat_told)

    await send(gat_officer, gat_room, thread_reply(gat_root["event_id"], "请带户口本到派出所补办。"))
    [answer] = await citizen.wait_for(dm, has("派出所"))
    assert answer["sender"] == duty.ghost("gat")
    # A fgw officer can no longer answer through the old thread.
    await send(officer, room, thread_reply(root, "这条不应转发"))
    await send(gat_officer, gat_room, thread_reply(gat_root["event_id"], "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"))
    await citizen.send_text(dm, "1")
    await citizen.wait_for(dm, has("督办"))
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.rating == 1 and case.status == "open" and case.dept_id == "gat"
    assert not [e for e in await citizen.history(dm) if "这条不应转发" in body_of(e)]


async def test_unlisted_officer_is_refused_and_citizens_never_cross(
    duty: DutyRoom, users: UserFactory
) -> None:
    first, second = await users("citizen"), await users("citizen")
    dm1, root1, _ = await open_case(duty, first, "fgw", "第一位市民的问题")
    dm2, root2, _ = await open_case(duty, second, "fgw", "第二位市民的问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root1, "答复第一位"))
    await send(officer, room, thread_reply(root2, "答复第二位"))
    await first.wait_for(dm1, has("答复第一位"))
    await second.wait_for(dm2, has("答复第二位"))
    assert not [e for e in await first.history(dm1) if "第二位" in body_of(e)]
    assert not [e for e in await second.history(dm2) if "第一位" in body_of(e)]
    assert second.user_id not in json.dumps(await first.history(dm1))

    # A supervisor may answer too.
    await send(duty.officers["chief"], room, thread_reply(root1, "负责人补充说明"))
    await first.wait_for(dm1, has("负责人补充说明"))

    # Someone added to the officers' room by hand, not in the roster: refused with a notice.
    stranger = await users("stranger")
    await duty.runtime.az.intent.invite_user(room, stranger.user_id)
    await stranger.join(room)
    await send(stranger, room, thread_reply(root1, "我不是值班人员"))
    await officer.wait_for(room, in_thread(root1, "值班名单"))
    await send(officer, room, thread_reply(root1, "最后一条"))
    await first.wait_for(dm1, has("最后一条"))
    assert not [e for e in await first.history(dm1) if "我不是值班人员" in body_of(e)]


async def test_closed_case_reopens_within_quiet_period_and_renews_after(
    duty: DutyRoom, users: UserFactory
) -> None:
    from datetime import timedelta

    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "第一个问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    start = duty.clock.now()
    await send(officer, room, thread_reply(root, "!close"))
    await citizen.wait_for(dm, has("请回复数字 1–5"))
    duty.clock.set(start + timedelta(minutes=5))
    await citizen.send_text(dm, "还有一点补充")
    await officer.wait_for(room, in_thread(root, "还有一点补充"))
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.ref == ref and case.status == "open"
    await send(officer, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"), count=2)
    await citizen.send_text(dm, "5")
    await citizen.wait_for(dm, has("感谢您的评价（5 分）"))
    duty.clock.set(start + timedelta(minutes=60))
    await citizen.send_text(dm, "一个新问题")
    roots = await officer.wait_for(room, is_root, count=2)
    assert ref not in body_of(roots[-1])
    case = await duty.bot("consultation").tables.latest_case(dm)
    assert case.ref != ref and case.status == "open"


async def test_notes_citizen_redactions_and_oversized_media(
    duty: DutyRoom, users: UserFactory, stack
) -> None:
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "附件和撤回")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await send(officer, room, thread_reply(root, "!备注 市民情绪激动，注意语气"))
    await officer.wait_for(room, in_thread(root, "内部备注已记录"))

    oops = await send(citizen, dm, {"msgtype": "m.text", "body": "发错了这条"})
    [copy] = await officer.wait_for(room, in_thread(root, "发错了这条"))
    await citizen.client.room_redact(dm, oops)
    await officer.wait_for(room, lambda e: e.get("type") == "m.room.redaction"
                           and e.get("redacts", e["content"].get("redacts")) == copy["event_id"])

    # A message relayed in two parts (too long for one event) is retracted whole.
    long = "\n".join(f"第{i:02d}段 撤回长信" + "长" * 400 for i in range(40))
    oops = await send(citizen, dm, {"msgtype": "m.text", "body": long})
    parts = await officer.wait_for(room, in_thread(root, "撤回长信"), count=2)
    # Edited, it is replaced part by part: shorter, the part it no longer needs says so; longer
    # again (a client that sends a short fallback), both parts carry it; `!历史` shows the
    # latest words, as the thread does, marked as edited.
    def edited(target: dict[str, Any], text: str):  # type: ignore[no-untyped-def]
        return lambda e: (e.get("content", {}).get("m.relates_to", {}).get("event_id") == target["event_id"]
                          and text in str(e["content"].get("m.new_content", {}).get("body", "")))

    edit = edit_of(oops, "改短了")
    await send(citizen, dm, edit)
    await officer.wait_for(room, edited(parts[0], "改短了"))
    await officer.wait_for(room, edited(parts[1], "编辑后此部分已无内容"))
    longer = "\n".join(f"第{i:02d}段 改长了" + "长" * 400 for i in range(44))
    await send(citizen, dm, {**edit, "body": "* 改长了", "m.new_content": {"msgtype": "m.text", "body": longer}})
    await officer.wait_for(room, edited(parts[0], "第00段 改长了"))
    await officer.wait_for(room, edited(parts[1], "第43段 改长了"))
    # Formatted messages (Element sends the Markdown typed as `body`) read as they were shown:
    # no "**", a link's target kept; an officer's edit, too.
    await send(citizen, dm, {"msgtype": "m.text", "body": "请看**第三条**\n\n和[公告](https://www.zj.gov.cn/gg)",
                             "format": "org.matrix.custom.html", "formatted_body":
                             '<p>请看<strong>第三条</strong></p>\n<p>和<a href="https://www.zj.gov.cn/gg">公告</a></p>\n'})
    await officer.wait_for(room, in_thread(root, "第三条"))
    mxc = await citizen.upload(b"\x89PNG fake image bytes", "image/png", "现场.png")
    await send(citizen, dm, {"msgtype": "m.image", "body": "现场.png", "url": mxc,
                             "info": {"mimetype": "image/png", "size": 22}})
    await officer.wait_for(room, lambda e: e["content"].get("msgtype") == "m.image")
    answer = await send(officer, room, {**thread_reply(root, "*草稿*"), "format": "org.matrix.custom.html",
                                        "formatted_body": "<em>草稿</em>"})
    await send(officer, room, {**edit_of(answer, "_按第三条办理_"), "m.new_content": {
        "msgtype": "m.text", "body": "_按第三条办理_", "format": "org.matrix.custom.html",
        "formatted_body": "<em>按第三条办理</em>"}})
    await citizen.wait_for(dm, lambda e: "按第三条办理" in str(e["content"].get("m.new_content", {}).get("body")))
    await send(officer, room, thread_reply(root, "!历史"))
    [record] = await officer.wait_for(room, in_thread(root, "以下是最近"))
    assert "第00段 改长了" in body_of(record) and "撤回长信" not in body_of(record)
    assert "（已编辑）" in body_of(record)
    assert "：请看第三条\n　　和公告 (https://www.zj.gov.cn/gg)\n" in body_of(record)  # no blank line
    assert "：[图片] 现场.png\n" in body_of(record)
    assert "（已编辑）：按第三条办理" in body_of(record) and "草稿" not in body_of(record)
    assert "**" not in body_of(record) and "_按" not in body_of(record)
    await citizen.client.room_redact(dm, oops)
    for part in parts:
        await officer.wait_for(room, lambda e, p=part: e.get("type") == "m.room.redaction"
                               and e.get("redacts", e["content"].get("redacts")) == p["event_id"])
    # Retracted, its words are not read back either: `!历史` shows that it was retracted.
    await send(officer, room, thread_reply(root, "!历史"))
    record = (await officer.wait_for(room, in_thread(root, "以下是最近"), count=2))[-1]
    assert "撤回长信" not in body_of(record) and "改长了" not in body_of(record)
    assert "（已撤回）" in body_of(record)

    mxc = await citizen.upload(b"x" * 2048, "application/pdf", "big.pdf")
    await send(citizen, dm, {"msgtype": "m.file", "body": "big.pdf", "url": mxc,
                             "info": {"mimetype": "application/pdf", "size": 999_999_999}})
    await citizen.wait_for(dm, has("附件过大"))
    history = await citizen.history(dm)
    assert not [e for e in history if "市民情绪激动" in body_of(e)]  # notes never reach citizens
    assert not [e for e in await officer.history(room) if e["content"].get("msgtype") == "m.file"]

    # A poll (Element's composer offers one in any chat) cannot be passed on: the citizen hears.
    poll = {"org.matrix.msc3381.poll.start": {
        "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
        "question": {"org.matrix.msc1767.text": "哪天办理？"},
        "answers": [{"id": "a", "org.matrix.msc1767.text": "周一"}]},
        "org.matrix.msc1767.text": "哪天办理？\n1. 周一"}
    status, _ = await citizen.request(
        "PUT", f"/_matrix/client/v3/rooms/{dm}/send/org.matrix.msc3381.poll.start/poll1", poll)
    assert status == 200
    [told] = await citizen.wait_for(dm, has("投票无法转交"))
    assert told["sender"] == duty.ghost("fgw")
    assert not [e for e in await officer.history(room) if "哪天办理" in json.dumps(e, ensure_ascii=False)]
    # ... and an officer's poll in the thread is not relayed either: the officer hears.
    status, _ = await officer.request(
        "PUT", f"/_matrix/client/v3/rooms/{room}/send/org.matrix.msc3381.poll.start/poll2",
        {**poll, "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    assert status == 200
    await officer.wait_for(room, in_thread(root, "投票不会转给市民"))


async def test_homeserver_restart_mid_conversation(duty: DutyRoom, users: UserFactory, stack) -> None:
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "服务器重启前")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    for i in range(5):
        await send(officer, room, thread_reply(root, f"重启测试答复 {i}"))
    await asyncio.to_thread(stack.synapse.restart)
    for i in range(5, 8):
        await send(officer, room, thread_reply(root, f"重启测试答复 {i}"))
    for i in range(8):
        await citizen.wait_for(dm, has(f"重启测试答复 {i}"), timeout=60)
    await duty.runtime.idle()
    answers = [body_of(e).split("\n")[0] for e in await citizen.history(dm)
               if body_of(e).startswith("重启测试答复")]
    # Every answer exactly once. One sent just before the restart may arrive late: Synapse
    # loses appservice pushes it had only queued in memory, and the bridge recovers them.
    assert sorted(answers) == [f"重启测试答复 {i}" for i in range(8)]
