"""Notices in encrypted officers' rooms: officers whose clients encrypt read the copy, their
encrypted receipt counts, and the correction (an encrypted m.replace) and the recall (a
redaction) reach them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bots.notices.cli import main as notice_cli
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.e2ee import EncryptingUserFactory
from tests.test_notices import body, has, is_edit


async def test_a_notice_in_encrypted_officers_rooms(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory, users: UserFactory,
) -> None:
    admin = await e2ee_users("admin")
    bridge_settings.extra.update({"consultation.encrypt_officers_rooms": True,
                                  "encryption.key_wait_seconds": 10,
                                  "admins": [admin.user_id], "notices.check_interval": 3600})
    duty: DutyRoom = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users)  # type: ignore[arg-type]
    try:
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        await officer.sync(0)
        # The administrator's DM with the notices account is encrypted too (Element's default).
        notices = f"@{duty.prefix}notices:localhost"
        dm = await admin.create_encrypted_dm(notices)
        await admin.wait_for(dm, has("我是通知助手"))
        await admin.send_text(dm, "新通知")
        await admin.wait_for(dm, has("请选择通知类型"))
        await admin.send_text(dm, "取消")
        await admin.wait_for(dm, has("已取消"))
        notice = tmp_path / "notice.md"
        notice.write_text(f'---\nkind: 工作通知\ntitle: 加密群测试\nsender: "{admin.user_id}"\n'
                          "recipients: fgw gat\ndeadline: 1d\n---\n第一版正文\n", encoding="utf-8")
        config = str(duty.bridge.config_path)
        assert await asyncio.to_thread(notice_cli, ["-c", config, "send", str(notice)]) == 0
        bot: Any = duty.bot("notices")
        await bot.tick()
        [copy] = await officer.wait_for(room, has("第一版正文"))  # decrypted by the officer
        raw = [e for e in await officer.history(room) if e["event_id"] == copy["event_id"]]
        assert raw[0]["type"] == "m.room.encrypted"
        await officer.send_text(room, "!回执")
        await officer.wait_for(room, has("已为省发展改革委回执"))
        assert await bot.tables.dm_of(admin.user_id) == dm  # the tally comes to that DM
        await admin.wait_for(dm, lambda e: "已回执 1/2" in body(e))

        await admin.send_text(dm, "!通知 更正 TZ-0001\n第二版正文")
        [edit] = await officer.wait_for(room, lambda e: is_edit(e) and "第二版正文" in body(e))
        assert edit["content"]["m.relates_to"]["event_id"] == copy["event_id"]
        await officer.wait_for(room, has("已更正（第 1 次）"))

        await admin.send_text(dm, "!通知 撤回 TZ-0001 测试结束")
        await officer.wait_for(room, has("已撤回，原因：测试结束"))
        [after] = [e for e in await officer.history(room) if e["event_id"] == copy["event_id"]]
        assert after["content"] == {} and after["unsigned"]["redacted_because"]
        assert not admin.undecrypted(dm) and not officer.undecrypted(room)
        raw = [e for e in await admin.history(dm) if e["sender"] == notices
               and e["type"] in ("m.room.message", "m.room.encrypted")]
        assert raw and all(e["type"] == "m.room.encrypted" for e in raw)
    finally:
        await duty.bridge.stop()
