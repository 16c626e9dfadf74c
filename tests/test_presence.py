"""Presence: a department's account follows the duty calendar, as citizens see it through the
presence API (capability 9; issue #14). Uses a homeserver of its own with presence enabled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import SHANGHAI, DutyRoom, start_duty_room
from tests.kit.stack import Stack, start_stack

# 2026's Spring Festival: Saturday 14 February is an adjusted working day (调休), and the
# holiday runs from the 15th to the 23rd.
ADJUSTED_SATURDAY = datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI)
SPRING_FESTIVAL = datetime(2026, 2, 17, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def presence_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Synapse takes a user that does not sync offline at its next presence timer after its last
    # update (sync_online_timeout 30 s, last_active_granularity 60 s by default); shortened so
    # the test shows the bot's updates hold a department up past them, and that without the
    # updates it drops.
    running = start_stack(tmp_path_factory.mktemp("presence"), {"presence": {
        "enabled": True, "sync_online_timeout": "3s", "last_active_granularity": "4s"}})
    try:
        yield running
    finally:
        running.synapse.stop()


@pytest.fixture
async def presence_duty(
    presence_stack: Stack, database_url: str, prefix: str, roster_dir: Path, tmp_path: Path
) -> AsyncIterator[tuple[DutyRoom, UserFactory]]:
    users = UserFactory(presence_stack)
    settings = presence_stack.bridge_settings(database_url, prefix, [str(roster_dir / "*.yaml")])
    settings.extra["presence.refresh_seconds"] = 1  # under the homeserver's 3 s, as 20 is under 30
    duty = await start_duty_room(settings, roster_dir, tmp_path, users, at=ADJUSTED_SATURDAY)
    try:
        yield duty, users
    finally:
        await duty.bridge.stop()
        for user in users.made:
            await user.close()


async def presence_of(user: MatrixUser, mxid: str) -> dict:
    status, body = await user.request("GET", f"/_matrix/client/v3/presence/{quote(mxid)}/status")
    assert status == 200, body
    return body


async def test_a_departments_presence_follows_the_duty_calendar(
    presence_duty: tuple[DutyRoom, UserFactory],
) -> None:
    duty, users = presence_duty
    bot, citizen, ghost = duty.bot("presence"), await users("citizen"), duty.ghost("fgw")
    assert await bot.watched() == []  # nobody can see a department yet: nothing is sent
    dm = await citizen.create_dm(ghost)
    await citizen.wait_for(dm, lambda e: "网上值班室" in e.get("content", {}).get("body", ""))
    assert await bot.watched() == ["fgw"]

    # A 调休 Saturday is a working day: on duty until the lunch break.
    assert await bot.refresh() == 1
    seen = await presence_of(citizen, ghost)
    assert (seen["presence"], seen.get("status_msg")) == ("online", "值班中 · 至 12:00")
    assert bot.homeserver_keeps_presence is True
    # The DM's topic gives the department's hours once the citizen has a case (every client
    # shows a topic), and stays so through the shifts: each change would be a line in the chat.
    await citizen.send_text(dm, "请问企业投资项目怎么备案？")
    await citizen.wait_for(dm, lambda e: "已收到您的咨询" in e.get("content", {}).get("body", ""))
    await bot.refresh()
    hours = "浙江省发展和改革委员会网上值班室 · 工作日 08:30–12:00、14:00–17:30"
    assert await topic_of(citizen, dm) == hours
    duty.clock.set(ADJUSTED_SATURDAY.replace(hour=12, minute=30))
    await bot.refresh()
    assert await topic_of(citizen, dm) == hours
    topics = [e["content"].get("topic") for e in await citizen.history(dm) if e.get("type") == "m.room.topic"]
    assert topics == [hours], topics
    # Live (presence.dm_topic_live), it says what the presence says, and changes with it.
    duty.clock.set(ADJUSTED_SATURDAY)
    bot.ctx.config["presence.dm_topic_live"] = True
    await bot.refresh()
    assert await topic_of(citizen, dm) == "浙江省发展和改革委员会网上值班室 · 值班中 · 至 12:00"

    # The Spring Festival: closed, and says when it opens.
    duty.clock.set(SPRING_FESTIVAL)
    await bot.refresh()
    seen = await presence_of(citizen, ghost)
    assert seen["presence"] == "unavailable"
    assert seen.get("status_msg") == "下班 · 2月24日（周二）08:30 上班"
    assert (await topic_of(citizen, dm)).endswith("· 下班 · 2月24日（周二）08:30 上班")

    # Back at work: online again, and the loop keeps it so past the homeserver's timeout.
    duty.clock.set(datetime(2026, 2, 24, 9, 0, tzinfo=SHANGHAI))
    await eventually(lambda: _online(citizen, ghost))
    await asyncio.sleep(7)  # past both shortened timers
    assert await _online(citizen, ghost)
    # Without the bot's updates the homeserver takes it offline: the updates are what hold it.
    # (Anything the department's account sends also marks it active, and the case above is
    # overdue on this clock: its reminder steps, e-mail offer included, are taken and sent
    # first, or one of them, sent while the test waits, keeps the account online.)
    await duty.bot("consultation").tick()
    outbox = duty.runtime.outbox.table
    await eventually(lambda: _none_pending(outbox))
    await bot.stop()
    await eventually(lambda: _offline(citizen, ghost), timeout=30)


async def _none_pending(outbox: Any) -> bool:
    return await outbox.count("pending") == 0


async def _offline(user: MatrixUser, mxid: str) -> bool:
    return (await presence_of(user, mxid))["presence"] == "offline"


async def topic_of(user: MatrixUser, room: str) -> str:
    status, body = await user.request(
        "GET", f"/_matrix/client/v3/rooms/{quote(room)}/state/m.room.topic")
    return str(body.get("topic")) if status == 200 else ""


async def _online(user: MatrixUser, mxid: str) -> bool:
    return (await presence_of(user, mxid))["presence"] == "online"


async def test_a_homeserver_without_presence_is_noticed_and_asked_rarely(
    duty: DutyRoom, users: UserFactory
) -> None:
    """The shared test homeserver has presence off: the bot says so instead of sending every
    20 s for nothing."""
    bot, citizen = duty.bot("presence"), await users("citizen")
    dm = await citizen.create_dm(duty.ghost("gat"))
    await citizen.wait_for(dm, lambda e: "网上值班室" in e.get("content", {}).get("body", ""))
    await bot.refresh()
    assert bot.homeserver_keeps_presence is False
