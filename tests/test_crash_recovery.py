"""SIGKILL the bridge process mid-conversation: every event is processed and answered once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mautrix.util.async_db import Database

from tests.kit.bridge import BridgeProcess, BridgeSettings, write_config
from tests.kit.clients import UserFactory, eventually
from tests.kit.stack import Stack

RECORDER = "tests.kit.recorder:RecorderBot"


async def db_count(url: str, query: str) -> int:
    db = Database.create(url)
    await db.start()
    try:
        return await db.fetchval(query)
    finally:
        await db.stop()


def echoes(events: list[dict]) -> list[str]:
    return [
        e["content"]["body"] for e in events
        if e.get("type") == "m.room.message" and e["content"].get("body", "").startswith("echo ")
    ]


async def test_sigkill_after_storing_and_mid_stream_loses_and_doubles_nothing(
    stack: Stack, bridge_settings: BridgeSettings, tmp_path: Path, users: UserFactory, prefix: str
) -> None:
    bridge_settings.extra["bots.extra"] = [RECORDER]
    config = tmp_path / "config.yaml"
    process = BridgeProcess(write_config(config, bridge_settings), stack.port)
    citizen = await users("citizen")
    ghost = f"@{prefix}fgw:localhost"
    try:
        await process.astart()
        dm = await citizen.create_dm(ghost)
        await eventually(lambda: _joined(citizen, dm, ghost))
        process.stop()

        # 1. Stored but not processed when the process dies.
        bridge_settings.hold_processing = True
        write_config(config, bridge_settings)
        await process.astart()
        held = [f"probe-echo held {i}" for i in range(5)]
        for body in held:
            await citizen.send_text(dm, body)
        await eventually(lambda: _stored(bridge_settings.database, len(held)))
        process.kill()

        # 2. Killed while messages stream in and are being processed.
        bridge_settings.hold_processing = False
        write_config(config, bridge_settings)
        await process.astart()
        streamed = [f"probe-echo stream {i}" for i in range(20)]
        for i, body in enumerate(streamed):
            await citizen.send_text(dm, body)
            if i == 9:
                await asyncio.sleep(0.05)
                process.kill()
        await process.astart()

        expected = [f"echo {body}" for body in held + streamed]
        await citizen.wait_for(
            dm, lambda e: e.get("content", {}).get("body", "").startswith("echo "),
            count=len(expected), timeout=90,
        )
        await asyncio.sleep(2)  # anything doubled would arrive now
        await citizen.sync(500)
        got = echoes(citizen.events[dm])
        assert sorted(got) == sorted(expected)
        assert got[: len(held)] == expected[: len(held)]  # held messages answered in order
        seen = await db_count(
            bridge_settings.database,
            "SELECT COUNT(*) FROM (SELECT event_id FROM recorder_seen GROUP BY event_id"
            " HAVING COUNT(*) > 1) AS doubled",
        )
        assert seen == 0
    finally:
        process.stop()


async def _joined(user, room_id: str, member: str) -> bool:
    return (await user.members(room_id)).get(member) == "join"


async def _stored(url: str, count: int) -> bool:
    n = await db_count(url, "SELECT COUNT(*) FROM inbox_event WHERE payload LIKE '%probe-echo held%'")
    return n >= count
