"""A registration from before the bot became a user of the namespace: the bot is the appservice's
own user, which Synapse does not let read its device's to-device inbox (bridge/crypto/to_device.py).
The bridge keeps working as before, and says at start what it cannot do, in its log and to the
administrators."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.kit.duty import start_duty_room
from tests.kit.e2ee import EncryptingUserFactory
from tests.kit.stack import start_stack
from tests.test_consultation import has, in_thread, is_root

DATA = Path(__file__).parent / "data"


async def test_a_registration_where_the_bot_is_the_appservice_user_still_works(
    tmp_path: Path, roster_dir: Path, prefix: str, caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "stack").mkdir()
    stack = await asyncio.to_thread(start_stack, tmp_path / "stack", None, "dutyroom_bot")
    users = EncryptingUserFactory(stack, tmp_path / "stores")
    try:
        settings = stack.bridge_settings(f"sqlite:{tmp_path}/bridge.db", prefix,
                                         [str(DATA / "rosters" / "small" / "*.yaml")])
        settings.extra["consultation.encrypt_officers_rooms"] = True
        admin = await users("admin")
        settings.extra["admins"] = [admin.user_id]
        with caplog.at_level(logging.WARNING, logger="dutyroom.crypto.inbox"):
            duty = await start_duty_room(settings, roster_dir, tmp_path, users)  # type: ignore[arg-type]
        try:
            assert "the bot is the appservice's own user" in caplog.text.lower()
            # The administrators are told too, with what to do.
            admin_room = duty.bot("admin").room_id
            await admin.join(admin_room)
            [told] = await admin.wait_for(admin_room, has("注册文件是旧版的"))
            assert "dutyroom -g" in told["content"]["body"]
            citizen = await users("citizen")
            dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
            await citizen.wait_for(dm, has("网上值班室"))
            await citizen.send_text(dm, "旧注册也能咨询吗")
            officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
            [root] = await officer.wait_for(room, is_root)
            await officer.wait_for(room, in_thread(root["event_id"], "旧注册也能咨询吗"))
        finally:
            await duty.bridge.stop()
    finally:
        await users.close()
        stack.synapse.stop()
