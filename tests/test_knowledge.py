"""The knowledge base end to end: officers search and send entries, citizens get suggestions
out of hours and open one by number, edits go live on reload, broken edits are refused."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

from bridge.clock import FixedClock
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory
from tests.kit.duty import SHANGHAI, start_duty_room
from tests.kit.e2ee import EncryptingUserFactory
from tests.test_consultation import body_of, edit_of, has, in_thread, is_root, send, thread_reply

FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
FRIDAY_18 = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)

PRICE = """---
title: 居民阶梯电价听证会安排
keywords: [电价, 听证会, 阶梯电价]
review_by: 2027-06-30
---
居民阶梯电价调整听证会的时间和报名方式在本委网站公告。经办人值班员 01 负责登记。
"""
PROJECT = """---
title: 企业投资项目备案
keywords: [投资项目, 备案, 核准]
review_by: 2026-01-31
---
企业投资项目在投资项目在线审批监管平台备案，一般当场办结。
"""
ID_CARD = """---
title: 身份证补领
keywords: [身份证, 补领, 丢失]
review_by: 2027-06-30
---
到任一派出所补领。
"""


def knowledge_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    for rel, text in {"fgw/price.md": PRICE, "fgw/project.md": PROJECT, "gat/id.md": ID_CARD}.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    (folder / "synonyms.yaml").write_text("synonyms:\n  - [电价, 电费价格]\n", encoding="utf-8")
    return folder


async def test_officer_searches_sends_and_entries_reload(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    folder = knowledge_folder(tmp_path)
    bridge_settings.extra["knowledge.path"] = str(folder)
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=FRIDAY_10)
    try:
        kb = duty.bot("knowledge")
        await kb.watcher.ready()
        citizen = await users("citizen")
        dm = await citizen.create_dm(duty.ghost("fgw"))
        await citizen.wait_for(dm, has("网上值班室"))
        await citizen.send_text(dm, "请问电费价格听证会什么时候开？")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        [root] = await officer.wait_for(room, is_root)
        assert "1. 居民阶梯电价听证会安排" in body_of(root)  # the root's suggestion (a synonym)
        # Each line of the root is a line in Element too (a bare newline in HTML is a space).
        html_body = root["content"]["formatted_body"]
        assert "\n" not in html_body and html_body.count("<br>") >= body_of(root).count("\n")
        assert "身份证" not in body_of(root)  # another department's entry is never offered
        root_id = root["event_id"]

        await send(officer, room, thread_reply(root_id, "!kb 投资项目"))
        [results] = await officer.wait_for(room, in_thread(root_id, "知识库检索"))
        assert "1. 企业投资项目备案" in body_of(results)
        assert not [e for e in await citizen.history(dm) if "企业投资项目" in body_of(e)]  # officers only

        sent_id = await send(officer, room, thread_reply(root_id, "!答 1"))
        [answer] = await citizen.wait_for(dm, has("投资项目在线审批监管平台"))
        assert answer["sender"] == duty.ghost("fgw")
        await officer.wait_for(room, in_thread(root_id, "已把知识库条目《企业投资项目备案》"))
        # Editing the command runs nothing again and sends the citizen nothing (before, the
        # command's new words replaced the entry in the citizen's chat).
        await send(officer, room, edit_of(sent_id, "!答 2"))
        await officer.wait_for(room, in_thread(root_id, "编辑命令不会重新执行"))
        assert not [e for e in await citizen.history(dm) if "答 2" in str(e["content"])]

        # The price entry's text names an officer's alias: the privacy filter takes it out.
        await send(officer, room, thread_reply(root_id, "!答 电价"))
        await officer.wait_for(room, in_thread(root_id, "知识库检索“电价”"))
        await send(officer, room, thread_reply(root_id, "!答 1"))
        [price] = await citizen.wait_for(dm, has("阶梯电价调整听证会"))
        assert "值班员 01" not in body_of(price) and price["sender"] == duty.ghost("fgw")
        assert "值班员" not in str(price["content"])
        case = await duty.bot("consultation").tables.latest_case(dm)
        logged = await duty.runtime.db.fetch(
            "SELECT event_id, detail FROM consult_log WHERE case_id=$1 AND kind='kb_answer'", case.id)
        assert [r["detail"] for r in logged] == ["fgw/project", "fgw/price"] and logged[0]["event_id"] == sent_id
        assert case.first_reply_at is not None
        counts = await kb.tables.counts()
        assert counts["fgw/project"]["sent"] == 1 and counts["fgw/price"]["suggested_officer"] >= 2

        # An edit is live after the reload.
        (folder / "fgw" / "project.md").write_text(PROJECT.replace("企业投资项目备案", "企业投资项目备案（新）"),
                                                   encoding="utf-8")
        assert await kb.watcher.check_now()
        await send(officer, room, thread_reply(root_id, "!答 投资项目"))
        await officer.wait_for(room, in_thread(root_id, "企业投资项目备案（新）"))

        # A broken file is refused with its file and line; the entries in force keep working.
        broken = folder / "fgw" / "broken.md"
        broken.write_text("---\ntitle: 坏条目\nkeywords: [坏]\nreview_by: 下周\n---\n正文\n", encoding="utf-8")
        assert not await kb.watcher.check_now()
        assert f"{broken}:4:12: review_by: expected a date" in str(kb.watcher.last_error)
        refused = await duty.runtime.db.fetch("SELECT content FROM outbox WHERE key LIKE 'kb/refused/%'")
        assert len(refused) == 1 and f"{broken}:4:12" in refused[0]["content"]
        hits = await kb.search("fgw", "投资项目备案")
        assert hits[0].entry.title == "企业投资项目备案（新）"

        # Entries past their review date go to the department's supervisors once a week.
        # The first list went out at start; the same week sends nothing more (the table keeps
        # this across restarts), the next week sends it again.
        chief = duty.officers["chief"]
        [review] = await officer.wait_for(room, has("知识库复核提醒"))
        assert "企业投资项目备案" in body_of(review) and "价格" not in body_of(review)
        assert review["content"]["m.mentions"] == {"user_ids": [chief.user_id]}
        assert await kb.remind_reviews() == 0
        assert isinstance(duty.clock, FixedClock)
        duty.clock.set(FRIDAY_10 + timedelta(days=7))
        assert await kb.remind_reviews() == 1
        assert await kb.remind_reviews() == 0
        await officer.wait_for(room, has("知识库复核提醒"), count=2)

        # After a restart: no second list this week, and the numbered list is still there.
        await duty.bridge.stop()
        duty.runtime = await duty.bridge.start()
        kb = duty.bot("knowledge")
        await kb.watcher.ready()
        assert await kb.remind_reviews() == 0
        # Started with the broken file still there: it is left out and reported, the rest is live.
        assert f"{broken}:4:12" in str(kb.watcher.last_error)
        assert "fgw/project" in kb.watcher.knowledge.entries and "fgw/broken" not in kb.watcher.knowledge.entries
        await send(officer, room, thread_reply(root_id, "!答 1"))
        await citizen.wait_for(dm, has("投资项目在线审批监管平台"), count=2)

        # Transferred: the receiving department answers from its own entries only.
        await send(officer, room, thread_reply(root_id, "!转办 gat 身份证问题"))
        gat_officer, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
        [gat_root] = await gat_officer.wait_for(gat_room, has("转入咨询"))
        gat_thread = gat_root["event_id"]
        await send(gat_officer, gat_room, thread_reply(gat_thread, "!答 1"))  # fgw's list
        await gat_officer.wait_for(gat_room, in_thread(gat_thread, "编号 1 不在最近一次检索结果中"))
        await send(gat_officer, gat_room, thread_reply(gat_thread, "!答 身份证"))
        await gat_officer.wait_for(gat_room, in_thread(gat_thread, "1. 身份证补领"))
        await send(gat_officer, gat_room, thread_reply(gat_thread, "!答 1"))
        [by_gat] = await citizen.wait_for(dm, has("到任一派出所补领"))
        assert by_gat["sender"] == duty.ghost("gat")

        # `!历史`: the knowledge-base answers are in the case's record as the answers they
        # were, by whom, either side of the transfer.
        await send(gat_officer, gat_room, thread_reply(gat_thread, "!历史"))
        [record] = await gat_officer.wait_for(gat_room, in_thread(gat_thread, "以下是最近"))
        lines = re.split(r"\n(?!　　)", body_of(record))[1:]  # (a message's own lines are indented)
        assert "请问电费价格听证会什么时候开？" in lines[0] and "市民 #" in lines[0]
        answers = [line for line in lines if " → 市民 #" in line]
        assert [line.split(" → ")[0][12:] for line in answers] == ["值班员 01"] * 3 + ["值班员 11"]
        assert "投资项目在线审批监管平台" in answers[0] and "到任一派出所补领" in answers[-1]
        assert "转交「浙江省公安厅」，说明：身份证问题" in lines[-2]
    finally:
        await duty.bridge.stop()


async def test_out_of_hours_suggestions_opened_by_number(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    bridge_settings.extra["knowledge.path"] = str(knowledge_folder(tmp_path))
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=FRIDAY_18)
    try:
        citizen = await users("citizen")
        dm = await citizen.create_dm(duty.ghost("fgw"))
        await citizen.wait_for(dm, has("网上值班室"))
        await citizen.send_text(dm, "阶梯电价的听证会在哪里报名")
        [reply] = await citizen.wait_for(dm, has("您的留言已记录"))
        assert "您的问题也许可以在这里找到答案" in body_of(reply)
        assert "1. 居民阶梯电价听证会安排" in body_of(reply) and "回复编号" in body_of(reply)
        await citizen.send_text(dm, "１")  # full-width, as a Chinese keyboard types it
        [full] = await citizen.wait_for(dm, has("本委网站公告"))
        assert full["sender"] == duty.ghost("fgw") and "仅供参考" in body_of(full)
        await citizen.send_text(dm, "7")  # not offered: an ordinary message
        await citizen.send_text(dm, "谢谢")
        bot = duty.bot("consultation")
        case = await bot.tables.latest_case(dm)
        for _ in range(100):  # the homeserver pushes the last message when it pushes it
            if len(await bot.tables.pending(case.id)) == 4:
                break
            await asyncio.sleep(0.1)
        await duty.runtime.idle()
        history = await citizen.history(dm)
        assert len([e for e in history if "您的问题也许" in body_of(e)]) == 1
        assert len([e for e in history if "本委网站公告" in body_of(e)]) == 1
        # Every message, the number too, waits for the officers as a leave-message.
        kept = [body for _, body in await bot.tables.pending(case.id)]
        assert len(kept) == 4 and "已自动发送知识库条目《居民阶梯电价听证会安排》" in kept[1]
        counts = await duty.bot("knowledge").tables.counts()
        assert counts["fgw/price"] == {"suggested_citizen": 1, "opened": 1}
    finally:
        await duty.bridge.stop()


async def test_an_entry_through_encrypted_rooms_and_a_good_rating(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory,
) -> None:
    """Encrypted DM, encrypted officers' room: the officer's encrypted command is read, the
    entry reaches the citizen encrypted from the department's account, and a 5-star rating
    counts the entry as closed well."""
    bridge_settings.extra["knowledge.path"] = str(knowledge_folder(tmp_path))
    bridge_settings.extra["consultation.encrypt_officers_rooms"] = True
    bridge_settings.extra["encryption.key_wait_seconds"] = 10
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users,  # type: ignore[arg-type]
                                 at=FRIDAY_10)
    try:
        citizen = await e2ee_users("citizen")
        dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
        await citizen.wait_for(dm, has("网上值班室"))
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        await officer.sync(0)
        await citizen.send_text(dm, "投资项目怎么备案")
        [root] = await officer.wait_for(room, is_root)
        assert "1. 企业投资项目备案" in body_of(root)
        await send(officer, room, thread_reply(root["event_id"], "!答 1"))
        [answer] = await citizen.wait_for(dm, has("投资项目在线审批监管平台"))
        assert answer["sender"] == duty.ghost("fgw")
        for user, room_id in ((citizen, dm), (officer, room)):
            sent = [e for e in await user.history(room_id) if e["type"].startswith("m.room.message")
                    or e["type"] == "m.room.encrypted"]
            assert sent and all(e["type"] == "m.room.encrypted" for e in sent), json.dumps(sent)[:500]
        await send(officer, room, thread_reply(root["event_id"], "!办结"))
        await citizen.wait_for(dm, has("请回复数字 1–5"))
        await citizen.send_text(dm, "5")
        await citizen.wait_for(dm, has("感谢您的评价（5 分）"))
        counts = await duty.bot("knowledge").tables.counts()
        assert counts["fgw/project"] == {"suggested_officer": 1, "sent": 1, "closed_well": 1}
    finally:
        await duty.bridge.stop()


async def test_nobody_on_duty_reply_suggests_and_the_backlog_root_too(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    """Working hours with nobody on duty (gat's shift starts at 14:00): the reply lists entries;
    when the shift starts, the leave-message's thread root suggests the same for the officers."""
    bridge_settings.extra["knowledge.path"] = str(knowledge_folder(tmp_path))

    def afternoon_only(officers):
        return ("shifts:\n  - department: gat\n    days: workdays\n    time: \"14:00-17:30\"\n"
                f"    officers: [\"{officers['gat1'].user_id}\"]\n")

    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users, at=FRIDAY_10,
                                 extra_roster=afternoon_only)
    try:
        citizen = await users("citizen")
        dm = await citizen.create_dm(duty.ghost("gat"))
        await citizen.wait_for(dm, has("网上值班室"))
        await citizen.send_text(dm, "身份证丢了去哪里补")
        [reply] = await citizen.wait_for(dm, has("您的留言已记录"))
        assert "暂时没有值班人员在线" in body_of(reply)
        assert "您的问题也许可以在这里找到答案" in body_of(reply) and "1. 身份证补领" in body_of(reply)
        assert "电价" not in body_of(reply)  # fgw's entries are not gat's
        duty.clock.set(datetime(2026, 11, 27, 14, 1, tzinfo=SHANGHAI))
        await duty.bot("consultation").tick()
        gat, room = duty.officers["gat1"], duty.officers_rooms["gat"]
        [root] = await gat.wait_for(room, is_root)
        assert "1. 身份证补领" in body_of(root)
        await send(gat, room, thread_reply(root["event_id"], "!答 1"))
        [answer] = await citizen.wait_for(dm, has("到任一派出所补领"))
        assert answer["sender"] == duty.ghost("gat")
    finally:
        await duty.bridge.stop()
