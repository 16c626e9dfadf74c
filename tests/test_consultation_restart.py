"""SIGKILL the bridge mid-conversation: every message reaches the other side once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.kit.bridge import BridgeProcess, BridgeSettings, write_config
from tests.kit.clients import UserFactory
from tests.kit.duty import prepare_roster
from tests.kit.stack import Stack
from tests.test_consultation import body_of, has, is_root, send, thread_reply
from tests.test_directory import resolve


async def test_kill_mid_conversation_delivers_everything_once_in_order(
    stack: Stack, bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    users: UserFactory, prefix: str,
) -> None:
    officers = await prepare_roster(bridge_settings, roster_dir, users, always_open=True)
    process = BridgeProcess(write_config(tmp_path / "config.yaml", bridge_settings), stack.port)
    await process.astart()
    try:
        officer = officers["fgw1"]
        room = await resolve(officer, f"#{prefix}officers_fgw:localhost")
        await officer.join(room)
        citizen = await users("citizen")
        dm = await citizen.create_dm(f"@{prefix}fgw:localhost")
        await citizen.wait_for(dm, has("网上值班室"))
        await citizen.send_text(dm, "问题 0")
        [root] = await officer.wait_for(room, is_root)

        asked = [f"问题 {i}" for i in range(1, 16)]
        answered = [f"答复 {i}" for i in range(1, 16)]
        for i, (question, answer) in enumerate(zip(asked, answered, strict=True)):
            await citizen.send_text(dm, question)
            await send(officer, room, thread_reply(root["event_id"], answer))
            if i == 7:
                process.kill()
                await asyncio.sleep(0.5)
                await process.astart()

        def relayed(prefix_text: str):
            return lambda e: body_of(e).split("：")[-1].startswith(prefix_text) and \
                e["sender"] != officer.user_id
        got_questions = await officer.wait_for(room, relayed("问题 "), count=16, timeout=90)
        got_answers = await citizen.wait_for(dm, lambda e: body_of(e).startswith("答复 "),
                                             count=15, timeout=90)
        await asyncio.sleep(2)
        await officer.sync(500)
        await citizen.sync(500)
        questions = [body_of(e).split("：")[-1] for e in officer.events[room] if relayed("问题 ")(e)]
        answers = [body_of(e).split("\n")[0] for e in citizen.events[dm]
                   if body_of(e).startswith("答复 ")]
        assert questions == ["问题 0", *asked]
        assert answers == answered
        assert len(got_questions) == 16 and len(got_answers) == 15
    finally:
        process.stop()
