"""Abuse controls and the audit trail against the real homeserver, on SQLite and PostgreSQL:
a supervisor's block (refused to an officer, told to the citizen with the way to appeal, the
citizen's messages kept and not relayed, lifted at its end by the clock), a flood that leaves
another citizen's relay at its usual latency and loses nothing, and each audited action writing
one entry that the database will not let anyone rewrite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from mautrix.util.async_db import Database

from bots.consultation.guard import DAY_MS, HOUR_MS, MINUTE_MS, parse_duration
from bridge.audit import (
    AUDIT_READ,
    BLOCK_LIFTED,
    CITIZEN_BLOCKED,
    CITIZEN_ID_SHOWN,
    AuditLog,
    audit_upgrade_table,
)
from bridge.audit_cli import _parser, run
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_consultation import body_of, edit_of, has, in_thread, open_case, send, thread_reply
from tests.test_dead_letters_cli import config  # noqa: F401  (fixture: a config on this database)


def test_durations() -> None:
    assert parse_duration("7天") == 7 * DAY_MS
    assert parse_duration("12小时") == 12 * HOUR_MS
    assert parse_duration("30分钟") == 30 * MINUTE_MS
    assert parse_duration("3d") == 3 * DAY_MS and parse_duration("2H") == 2 * HOUR_MS
    for bad in ("", "0天", "七天", "7 weeks", "-1d", "1.5天"):
        assert parse_duration(bad) is None, bad


@pytest.fixture
async def audit_db(database_url: str) -> AsyncIterator[Database]:
    db = Database.create(database_url, upgrade_table=audit_upgrade_table)
    await db.start()
    try:
        yield db
    finally:
        await db.stop()


async def test_audit_entries_are_written_once_and_never_rewritten(audit_db: Database) -> None:
    log = AuditLog(audit_db)
    assert await log.record("@chief:x", CITIZEN_BLOCKED, "case/FGW-1", at_ms=1000, key="$e1")
    assert not await log.record("@chief:x", CITIZEN_BLOCKED, "case/FGW-1", at_ms=1000, key="$e1")
    assert await log.record("bridge", BLOCK_LIFTED, "block/1", at_ms=2000)
    assert [e.action for e in await log.entries()] == [CITIZEN_BLOCKED, BLOCK_LIFTED]
    assert [e.actor for e in await log.entries(since_ms=1500)] == ["bridge"]
    assert [e.record for e in await log.entries(record="case/")] == ["case/FGW-1"]
    with pytest.raises(Exception, match="append-only"):
        await audit_db.execute("UPDATE audit_log SET actor='someone else'")
    assert {e.actor for e in await log.entries()} == {"@chief:x", "bridge"}


async def test_reading_the_trail_is_audited(
    audit_db: Database, config: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    log = AuditLog(audit_db)
    await log.record("@chief:x", CITIZEN_BLOCKED, "case/FGW-20261127-0001", at_ms=1_764_208_800_000,
                     detail="fgw until 2026-11-28 10:00: 辱骂")
    assert await run(_parser().parse_args(["-c", str(config), "--action", CITIZEN_BLOCKED])) == 0
    out = capsys.readouterr().out
    assert "case/FGW-20261127-0001" in out and "辱骂" in out
    assert await run(_parser().parse_args(["-c", str(config), "--format", "csv"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,at,actor,action,record,detail" and len(lines) == 3  # + the first read
    reads = await log.entries(action=AUDIT_READ)
    assert len(reads) == 2 and reads[0].actor.startswith("cli:")
    assert CITIZEN_BLOCKED in reads[0].detail


async def test_block_told_kept_and_lifted_at_its_end(duty: DutyRoom, users: UserFactory) -> None:
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "你们怎么还不处理")
    officer, chief, room = duty.officers["fgw1"], duty.officers["chief"], duty.officers_rooms["fgw"]
    bot = duty.bot("consultation")

    await send(officer, room, thread_reply(root, "!屏蔽 1天 多次辱骂"))  # not a supervisor
    await officer.wait_for(room, in_thread(root, "只有本部门负责人"))
    await send(chief, room, thread_reply(root, "!屏蔽 一天"))
    await chief.wait_for(room, in_thread(root, "用法：!屏蔽 时长 理由"))
    await send(chief, room, thread_reply(root, "!屏蔽 1天 多次发送辱骂信息"))
    [told] = await citizen.wait_for(dm, has("已被暂停"))
    assert "多次发送辱骂信息" in body_of(told) and "2026-11-28 10:00" in body_of(told)
    assert f"@{duty.prefix}complaints:localhost" in body_of(told)  # how to appeal
    assert told["sender"] == duty.ghost("fgw") and chief.user_id not in str(told)
    await chief.wait_for(room, in_thread(root, "已屏蔽该市民至 2026-11-28 10:00"))

    # An edit of a message passed on before is a message too: kept from the officers.
    asked = next(e for e in await citizen.history(dm) if body_of(e) == "你们怎么还不处理")
    await send(citizen, dm, edit_of(asked["event_id"], "改成骂人的话"))
    await citizen.wait_for(dm, has("已被暂停"), count=2)  # reminded (once a day)
    await citizen.send_text(dm, "被屏蔽时的消息")
    held = await eventually(lambda: bot.ctx.db.fetch("SELECT kind, content FROM consult_held"))
    assert [r["kind"] for r in held] == ["blocked"] and "被屏蔽时的消息" in held[0]["content"]
    await duty.runtime.idle()
    await officer.sync(0)
    assert not [e for e in officer.events[room] if "被屏蔽时的消息" in body_of(e) or "骂人" in body_of(e)]

    duty.clock.set(duty.clock.now() + timedelta(minutes=40))  # the unanswered case's ladder
    await bot.tick()
    duty.clock.set(duty.clock.now() + timedelta(days=1, minutes=1))
    await bot.tick()
    await citizen.wait_for(dm, has("功能已恢复"))
    # Nobody was reminded of a blocked citizen's case, nor was e-mail offered to them.
    assert not [e for e in await citizen.history(dm) if "已再次提醒" in body_of(e) or "邮件" in body_of(e)]
    assert not [e for e in await officer.history(room) if "仍未答复" in body_of(e)]
    await chief.wait_for(room, in_thread(root, "屏蔽已解除"))
    await bot.tick()  # lifting twice tells nobody twice
    await citizen.send_text(dm, "现在可以了吗")
    await officer.wait_for(room, in_thread(root, "现在可以了吗"))
    await citizen.sync(0)
    assert len([e for e in citizen.events[dm] if "功能已恢复" in body_of(e)]) == 1

    entries = [e for e in await AuditLog(bot.ctx.db).entries() if e.action != "retention_run"]
    assert [(e.actor, e.action) for e in entries] == [
        (chief.user_id, CITIZEN_BLOCKED), ("bridge", BLOCK_LIFTED)]
    assert entries[0].record == f"case/{ref}" and citizen.user_id not in str(entries)


async def _relay_seconds(citizen, dm: str, officer, room: str, root: str, text: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    await citizen.send_text(dm, text)
    await officer.wait_for(room, in_thread(root, text), timeout=60)
    return time.monotonic() - started


async def test_a_flood_is_held_whole_and_does_not_slow_another_citizen(
    duty: DutyRoom, users: UserFactory
) -> None:
    flooder, other = await users("citizen"), await users("citizen")
    dm_a, root_a, _ = await open_case(duty, flooder, "fgw", "第一条")
    dm_b, root_b, _ = await open_case(duty, other, "fgw", "我也有问题")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    usual = [await _relay_seconds(other, dm_b, officer, room, root_b, f"平常 {n}") for n in range(3)]

    count = 300
    async def flood() -> None:
        for n in range(count):  # five of them long: 30,000 characters would not fit one event
            await flooder.send_text(dm_a, f"刷屏 {n:03d}" + ("长" * 6000 if 150 <= n < 155 else ""))
    flooding = asyncio.create_task(flood())
    await asyncio.sleep(3)  # well into the flood
    during = await _relay_seconds(other, dm_b, officer, room, root_b, "刷屏期间的正常咨询")
    await flooding
    assert during < max(3 * max(usual), max(usual) + 2.0), (during, usual)

    bot = duty.bot("consultation")
    async def all_held() -> bool:
        held = await bot.ctx.db.fetchval("SELECT COUNT(*) FROM consult_held WHERE kind='flood'")
        return held == count - 19  # 20 a minute: "第一条" and 19 of the flood went straight on
    deadline = time.monotonic() + 60
    while not await all_held():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    sent = {body_of(e): e["event_id"] for e in await flooder.history(dm_a)}
    # Edited while held: the digest carries the edited words.
    await send(flooder, dm_a, edit_of(sent["刷屏 298"], "刷屏 298 改过"))
    await eventually(lambda: bot.ctx.db.fetchval(
        "SELECT 1 FROM consult_held WHERE content LIKE '%刷屏 298 改过%'"))
    await bot.tick()
    await officer.wait_for(room, in_thread(root_a, "刷屏 299"), timeout=60)
    bodies = "\n".join(body_of(e) for e in officer.events[room])
    assert all(f"刷屏 {n:03d}" in bodies for n in range(count))  # none lost
    assert "刷屏 298 改过" in bodies
    # Edited once in a digest (which cannot be edited): the officers are told in the thread.
    await send(flooder, dm_a, edit_of(sent["刷屏 299"], "刷屏 299 改过"))
    await officer.wait_for(room, in_thread(root_a, "刷屏 299 改过"))
    digests = [e for e in officer.events[room] if "合并转交" in body_of(e)]
    # 281 held, 50 a digest, and the long ones split further to keep each digest one event.
    assert len(digests) > 6 and all(len(body_of(d)) < 13_000 for d in digests)
    told = [e for e in await flooder.history(dm_a) if "发送得较快" in body_of(e)]
    assert len(told) == 1, [body_of(e) for e in (await flooder.history(dm_a))[-5:]]  # one window
    assert not await bot.ctx.db.fetchval("SELECT COUNT(*) FROM consult_held")


async def test_a_close_while_messages_are_held_passes_them_on_first(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    """An officer who closes a case while the citizen's messages are held for a digest has not
    seen them: they are passed on at once and the case stays open until closed again (before,
    the digest went into the closed case's thread and nobody answered it)."""
    bridge_settings.extra["consultation.rate_limit.messages_per_minute"] = 2
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    try:
        citizen = await users("citizen")
        dm, root, ref = await open_case(duty, citizen, "fgw", "第一条")
        officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
        for n in range(4):  # "第一条" and the first go on, three are held
            await citizen.send_text(dm, f"补充 {n}")
        db = duty.bot("consultation").ctx.db
        await eventually(lambda: _count(db, 3))
        await send(officer, room, thread_reply(root, "!办结"))
        [told] = await officer.wait_for(room, in_thread(root, "尚未办结"))
        assert ref in body_of(told) and "3 条" in body_of(told)
        [digest] = await officer.wait_for(room, in_thread(root, "连续发送的消息"))
        assert all(f"补充 {n}" in body_of(digest) for n in (1, 2, 3))
        case = await duty.bot("consultation").tables.latest_case(dm)
        assert case.status != "closed" and await _count(db, 0)
        assert not [e for e in await citizen.history(dm) if "请回复数字 1–5" in body_of(e)]
        await send(officer, room, thread_reply(root, "!办结"))
        await citizen.wait_for(dm, has("请回复数字 1–5"))
    finally:
        await duty.bridge.stop()


async def _count(db: Database, n: int) -> bool:
    return await db.fetchval("SELECT COUNT(*) FROM consult_held WHERE kind='flood'") == n


@pytest.fixture
async def duty_with_admin(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
                          users: UserFactory) -> AsyncIterator[tuple[DutyRoom, MatrixUser]]:
    admin = await users("admin")
    bridge_settings.extra["admins"] = [admin.user_id]
    departments = roster_dir / "departments.yaml"  # officers of 公安厅 see citizens' Matrix IDs
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "    email: gat@mail.example.gov.cn\n",
        "    email: gat@mail.example.gov.cn\n    show_citizen_id: true\n"), encoding="utf-8")
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    yield room, admin
    await room.bridge.stop()


async def test_the_trail_in_the_administrators_room(
    duty_with_admin: tuple[DutyRoom, MatrixUser], users: UserFactory
) -> None:
    duty, admin = duty_with_admin
    bot = duty.bot("consultation")
    citizen = await users("citizen")
    _, _, ref = await open_case(duty, citizen, "gat", "请问护照怎么办")
    [shown] = await AuditLog(bot.ctx.db).entries(action=CITIZEN_ID_SHOWN)
    assert (shown.actor, shown.record) == ("officers/gat", f"case/{ref}")
    assert citizen.user_id not in str(shown)  # the entry says which case, not who
    await AuditLog(bot.ctx.db).record("@chief:x", CITIZEN_BLOCKED, "case/FGW-20261127-0009",
                                      at_ms=int(duty.clock.now().timestamp() * 1000) - 3600_000)
    room = await admin.wait_for_invite()
    await admin.join(room)
    officer = duty.officers["fgw1"]  # in the room by an administrator's mistake
    await admin.client.room_invite(room, officer.user_id)
    await officer.join(room)
    await officer.send_text(room, "!审计")
    await officer.wait_for(room, has("只有网上值班室的管理员"))
    await admin.send_text(room, "!审计 30")
    # The block written above, the shown ID, and the day's retention run the bridge did at start.
    [listed] = await admin.wait_for(room, has("最近 30 天的审计记录共 3 条"))
    assert "case/FGW-20261127-0009" in body_of(listed) and "retention_run" in body_of(listed)
    reads = await AuditLog(bot.ctx.db).entries(action=AUDIT_READ)
    assert [(e.actor, e.detail) for e in reads] == [(admin.user_id, "!审计 30")]
