"""A crash in the middle of a step, and a race at opening (the fourth seam hunt of session 13):
each test is a defect it found, and states what a user should see.

One fixture for all: the duty room (Friday 10:00, fgw and gat open), and `crash_after`, which
makes a table write of the consultation bot succeed and then fail once: the state a SIGKILL at
that instant leaves (the handlers are not transactions: what was written stays, and the inbox
hands the event to the bot again, as it does after a restart)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest

from tests.kit.bridge import InProcessBridge
from tests.kit.clients import UserFactory, eventually
from tests.kit.duty import SHANGHAI, DutyRoom
from tests.test_consultation import body_of, has, in_thread, is_root, open_case, send, thread_reply


class Crash(Exception):
    """The bridge dying right after a write (the inbox retries the event)."""


@pytest.fixture
async def seams4(duty: DutyRoom) -> AsyncIterator[DutyRoom]:
    yield duty


def crash_after(duty: DutyRoom, method: str, when: Callable[..., bool] = lambda *a, **k: True,
                owner: Any = None) -> None:
    """`owner`'s (default: the consultation tables') `method` does its write, then the bridge
    'dies' (once)."""
    tables = duty.bot("consultation").tables if owner is None else owner
    original = getattr(tables, method)
    state = {"crashed": False}

    async def write_then_die(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        if not state["crashed"] and when(*args, **kwargs):
            state["crashed"] = True
            raise Crash(f"killed after {method}")
        return result

    setattr(tables, method, write_then_die)


# 1. A crash × `!转办` ----------------------------------------------------------------------------
async def test_a_transfer_interrupted_after_the_move_still_reaches_the_new_department(
        seams4: DutyRoom, users: UserFactory) -> None:
    """值班员 01 transfers a case to 省公安厅; the bridge dies just after the case row moved.
    When the `!转办` is handled again, the case already belongs to gat, so the command is taken
    for a message in the thread the case left: 值班员 01 reads 「已转至浙江省公安厅」, but 公安厅
    never gets the case (no 「转入咨询」 root), the citizen is never told, and the case sits in
    gat's books with a thread root that was never posted. It should finish the transfer."""
    duty = seams4
    fgw1, gat1 = duty.officers["fgw1"], duty.officers["gat1"]
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "身份证补办要多久")
    crash_after(duty, "move")
    await send(fgw1, duty.officers_rooms["fgw"], thread_reply(root, "!转办 gat 请贵单位答复"))
    await gat1.wait_for(duty.officers_rooms["gat"], has("转入咨询"), timeout=20)
    await citizen.wait_for(dm, has("转来"), timeout=10)
    # Finished as a transfer, not refused as a message in a thread the case had left.
    assert not [e for e in await fgw1.history(duty.officers_rooms["fgw"]) if "不再处理" in body_of(e)]


# 2. A crash × `!办结` and its rating request -----------------------------------------------------
async def test_a_close_interrupted_after_the_status_still_asks_the_citizen_to_rate(
        seams4: DutyRoom, users: UserFactory) -> None:
    """值班员 01 closes a case; the bridge dies just after the row says closed. Handled again,
    `!办结` finds the case closed and answers 「咨询 … 已办结」 as for a second close: the citizen
    is never asked for a rating (so never rates: 考核's satisfaction has a hole), and the thread
    never says who closed it. It should finish the close: the rating request and the notice."""
    duty = seams4
    fgw1, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "企业投资项目备案要哪些材料")
    await send(fgw1, room, thread_reply(root, "请在投资项目在线审批监管平台填报。"))
    await citizen.wait_for(dm, has("在线审批"))
    crash_after(duty, "set_status", lambda case_id, status, **_: status == "closed")
    await send(fgw1, room, thread_reply(root, "!办结"))
    await citizen.wait_for(dm, has("请回复数字 1–5"), timeout=20)


# 3. A crash × `!删除我的数据 确认` ------------------------------------------------------------------
async def test_an_erasure_interrupted_after_the_rows_went_still_withdraws_the_copies(
        seams4: DutyRoom, users: UserFactory) -> None:
    """A citizen confirms the erasure; the bridge dies just after the database rows were erased
    (records.erase), before the copies of their words in the officers' room were redacted and
    before the goodbye. The erasure also deleted the citizen's inbox events, the confirmation
    among them, so it was never handled again: the officers' room kept showing the citizen's
    words, the department stayed in the DM, and the citizen was never told. Written down
    before the rows go, it is finished at the next start."""
    duty = seams4
    fgw1, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "我的手机号 13812345678 能登记吗")
    [copy] = await fgw1.wait_for(room, in_thread(root, "13812345678"))
    crash_after(duty, "erase", owner=duty.bot("privacy").records)
    await citizen.send_text(dm, "!删除我的数据 确认")
    await eventually(lambda: _audited(duty))  # (the erasure began: its rows are gone)
    await duty.runtime.idle()
    # The bridge starts again (after a crash, a restart): the erasure is finished.
    await duty.bridge.stop()
    duty.bridge = InProcessBridge(duty.bridge.config_path, duty.clock)
    duty.runtime = await duty.bridge.start()
    await fgw1.wait_for(room, lambda e: e["type"] == "m.room.redaction"
                        and e.get("redacts", e["content"].get("redacts")) == copy["event_id"], timeout=20)
    await citizen.wait_for(dm, has("已按您的要求删除"), timeout=10)
    assert await duty.runtime.db.fetchval(
        "SELECT COUNT(*) FROM privacy_erasure WHERE done_at IS NULL OR citizen<>''") == 0


async def _audited(duty: DutyRoom) -> bool:
    return bool(await duty.runtime.db.fetchval("SELECT COUNT(*) FROM privacy_erasure"))


# 4. The backlog's delivery at opening × a citizen writing at that moment ------------------------
async def test_a_message_written_while_the_backlog_is_delivered_is_not_lost(
        seams4: DutyRoom, users: UserFactory) -> None:
    """A citizen leaves a message over lunch (12:30); at 14:00 the backlog goes to the officers:
    the case's kept messages are read, its root and those messages sent, then the case is
    marked released. A message the citizen sends between the read and the release is kept
    as a leave-message (the case still says waiting) and never sent: the release does not look
    again, and no later backlog includes a released case. It stays in consult_pending for good;
    the officers never see it and the citizen is not told. (The window is the time the root
    and the kept messages take to queue: longer with a large backlog or a slow knowledge-base
    search; the test widens it to 3 s.)"""
    duty = seams4
    fgw1, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    bot = duty.bot("consultation")
    duty.clock.set(datetime(2026, 11, 27, 12, 30, tzinfo=SHANGHAI))
    citizen = await users("citizen")
    dm = await citizen.create_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    await citizen.send_text(dm, "午休时的留言：项目备案怎么办")
    await citizen.wait_for(dm, has("您的留言已记录"))
    released = bot.tables.released

    async def slow_release(*args: Any) -> None:
        await asyncio.sleep(3)
        await released(*args)

    bot.tables.released = slow_release
    duty.clock.set(datetime(2026, 11, 27, 14, 1, tzinfo=SHANGHAI))
    delivery = asyncio.create_task(bot.tick())
    [root] = await fgw1.wait_for(room, is_root)
    await fgw1.wait_for(room, in_thread(root["event_id"], "午休时的留言"))
    await citizen.send_text(dm, "补充：是技改项目")
    await delivery
    await fgw1.wait_for(room, in_thread(root["event_id"], "补充：是技改项目"), timeout=15)
