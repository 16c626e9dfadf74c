"""SIGKILL the bridge mid-conversation: every message reaches the other side once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.kit.bridge import BridgeProcess, BridgeSettings, write_config
from tests.kit.clients import MatrixUser, UserFactory
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
        questions, answers = await converse_across_a_kill(
            process, officer, room, root["event_id"], citizen, dm, asked, answered, kill_after=7)
        assert questions == ["问题 0", *asked]
        assert answers == answered
    finally:
        process.stop()


async def converse_across_a_kill(
    process: BridgeProcess, officer: MatrixUser, room: str, root: str, citizen: MatrixUser,
    dm: str, asked: list[str], answered: list[str], *, kill_after: int,
) -> tuple[list[str], list[str]]:
    """Question and answer in turn, the bridge SIGKILLed and restarted after turn `kill_after`;
    returns what the officer's thread and the citizen's chat hold once everything arrived (and
    two seconds more, for anything doubled): the questions, "问题 0" first, and the answers."""
    for i, (question, answer) in enumerate(zip(asked, answered, strict=True)):
        await citizen.send_text(dm, question)
        await send(officer, room, thread_reply(root, answer))
        if i == kill_after:
            process.kill()
            await asyncio.sleep(0.5)
            await process.astart()

    def relayed(e: dict[str, Any]) -> bool:
        return body_of(e).split("：")[-1].startswith("问题 ") and e["sender"] != officer.user_id

    def answer(e: dict[str, Any]) -> bool:
        return body_of(e).startswith("答复 ")

    await officer.wait_for(room, relayed, count=len(asked) + 1, timeout=90)
    await citizen.wait_for(dm, answer, count=len(answered), timeout=90)
    await asyncio.sleep(2)
    await officer.sync(500)
    await citizen.sync(500)
    return ([body_of(e).split("：")[-1] for e in officer.events[room] if relayed(e)],
            [body_of(e).split("\n")[0] for e in citizen.events[dm] if answer(e)])
