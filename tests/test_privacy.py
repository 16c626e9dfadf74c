"""Citizens' data rights and retention against the real homeserver, mail server and database
(SQLite and PostgreSQL): a citizen's export holds exactly their own records; an erasure leaves
no trace of their texts or contact details in any table of the bridge's database (searched for
the test's unique strings, mail decoded) except the complaint a rule keeps, withdraws the copies
in the officers' room and ends the conversations; the retention run purges a case and a letter
past their period while the figures stay what they were."""

from __future__ import annotations

import email
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mautrix.util.async_db import Database

from bots.assessment.figures import compute
from bots.assessment.periods import parse_period
from bots.assessment.settings import AssessSettings
from bots.privacy.cli import _parser as retention_parser
from bots.privacy.cli import run as retention_run
from devstack import MailSink
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_avatars import media
from tests.test_consultation import body_of, edit_of, has, in_thread, open_case, send, thread_reply
from tests.test_mailbox import Chat, enable_mail, sink, wait_mail, write_letter

__all__ = ["sink"]

# Strings that exist only because this test wrote them: searched for in every table.
A_CASE = "甲的咨询 QZA1-CASE"
A_MORE = "甲的补充 QZA1-MORE"
# Too long for one event once relayed: the officers get it as two parts (bridge/long_messages.py).
A_LONG = "\n".join(f"甲的长信第{i:02d}段 QZA1-LONG" + "长" * 400 for i in range(40))
A_LETTER = "甲的来信 QZA1-LETTER"
A_COMPLAINT = "甲的投诉 QZA1-COMPLAINT"
B_CASE = "乙的咨询 QZB2-CASE"
B_LONG = "\n".join(f"乙的长信第{i:02d}段 QZB2-LONG" + "长" * 400 for i in range(40))
ANSWER = "部门答复 QZD3-ANSWER"


@pytest.fixture
async def duty(bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
               users: UserFactory, sink: MailSink) -> AsyncIterator[DutyRoom]:
    enable_mail(bridge_settings, sink.port)
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    room.runtime.mail.poll_seconds = 0.05  # type: ignore[union-attr]
    yield room
    await room.bridge.stop()


def _texts(value: Any) -> str:
    """A cell as text, with any mail in it decoded (bodies are base64 or quoted-printable)."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if "MIME-Version" in text:
        message = email.message_from_string(text)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text += payload.decode("utf-8", "replace")
        text += "".join(str(email.header.make_header(email.header.decode_header(v)))
                        for v in message.values())
    return text


async def tables_holding(db: Database, needles: list[str]) -> dict[str, set[str]]:
    """needle → the tables of the bridge's database with a cell containing it."""
    if db.scheme.value == "sqlite":
        names = [r[0] for r in await db.fetch("SELECT name FROM sqlite_master WHERE type='table'")]
    else:
        names = [r[0] for r in await db.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='public'")]
    found: dict[str, set[str]] = {n: set() for n in needles}
    for table in names:
        for row in await db.fetch(f'SELECT * FROM "{table}"'):
            text = " ".join(_texts(row[i]) for i in range(len(row)))
            for needle in needles:
                if needle in text:
                    found[needle].add(table)
    return found


async def month_figures(duty: DutyRoom) -> dict[str, Any]:
    """The assessment of November 2026 (bots/assessment), as of a fixed moment."""
    ctx = duty.bot("privacy").ctx
    start, end = parse_period("2026-11").bounds(ctx.roster.timezone)
    report = await compute(ctx.db, ctx.roster, AssessSettings.from_config(ctx.config), start, end,
                           asof=end)
    return {"province": report.province.as_dict(),
            "departments": [f.as_dict() for f in report.departments]}


async def export_of(citizen: MatrixUser, dm: str, sender: str) -> dict[str, Any]:
    await citizen.send_text(dm, "!我的数据")
    [file] = await citizen.wait_for(dm, lambda e: e["sender"] == sender
                                    and e["content"].get("msgtype") == "m.file")
    return json.loads(await media(citizen, file["content"]["url"]))


async def test_export_erase_and_retention(duty: DutyRoom, users: UserFactory, sink: MailSink) -> None:
    a, b = await users("citizen"), await users("citizen")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    dm, root, ref = await open_case(duty, a, "fgw", A_CASE)
    await send(officer, room, thread_reply(root, ANSWER))
    await a.wait_for(dm, has(ANSWER))
    more = await send(a, dm, {"msgtype": "m.text", "body": A_MORE})
    [copy] = await officer.wait_for(room, in_thread(root, A_MORE))
    await send(a, dm, edit_of(more, "甲改过的补充 QZA1-EDIT"))
    [edited] = await officer.wait_for(room, has("QZA1-EDIT"))
    await a.send_text(dm, A_LONG)
    long_parts = await officer.wait_for(room, in_thread(root, "QZA1-LONG"), count=2)
    # An officer's `!历史` repeats the citizen's words in the thread: erased with them below.
    await send(officer, room, thread_reply(root, "!历史"))
    [record_before] = await officer.wait_for(room, in_thread(root, "以下是最近"))
    assert A_CASE in body_of(record_before)
    await send(officer, room, thread_reply(root, "!办结"))
    await a.wait_for(dm, has("请回复数字"))
    await a.send_text(dm, "5")
    await a.wait_for(dm, has("感谢您的评价"))
    dm_b, _, ref_b = await open_case(duty, b, "fgw", B_CASE)
    second = await send(b, dm_b, {"msgtype": "m.text", "body": "乙的第二条"})
    await officer.wait_for(room, has("乙的第二条"))
    await send(b, dm_b, edit_of(second, "乙改过的第二条 QZB2-EDIT"))
    await officer.wait_for(room, has("QZB2-EDIT"))
    await b.send_text(dm_b, B_LONG)
    await officer.wait_for(room, has("QZB2-LONG"), count=2)
    letters = await Chat.open(duty, a, "mailbox", "请选择收信人")
    letter = await write_letter(letters, "省发展改革委", "备案", A_LETTER)
    complaints = await Chat.open(duty, a, "complaints", "被投诉单位")
    for answer, expect in (("gat", "投诉类别"), ("服务态度", "请输入正文"), (A_COMPLAINT, "已记录"),
                           ("完成", "姓名"), ("跳过", "联系电话"), ("跳过", "是否同意"),
                           ("不同意", "请核对"), ("确认", "已提交")):
        await complaints.say(answer, expect)
    await wait_mail(sink, 2)
    bot = duty.bot("privacy")

    # Someone the citizen let into their DM gets nothing of the citizen's, and erases nothing.
    ghost = duty.ghost("fgw")
    friend = await users("citizen")
    await a.client.room_invite(dm, friend.user_id)
    await friend.join(dm)
    await friend.send_text(dm, "!我的数据")
    await friend.send_text(dm, "!删除我的数据 确认")
    await a.client.room_kick(dm, friend.user_id)

    # The export: the citizen's own cases, messages, the department's answers, letters.
    data = await export_of(a, dm, ghost)  # one file: the friend's commands (before) did nothing
    dumped = json.dumps(data, ensure_ascii=False)
    [case] = data["consultations"]
    assert case["reference"] == ref and case["your_rating"] == 5 and case["status"] == "closed"
    assert [m["text"] for m in case["your_messages"]] == [A_CASE, A_MORE, A_LONG]
    assert [m.get("edited_to") for m in case["your_messages"]] == [None, ["甲改过的补充 QZA1-EDIT"], None]
    assert ANSWER in dumped, dumped
    assert A_LETTER in dumped and letter in dumped
    assert A_COMPLAINT in dumped
    for other in (B_CASE, ref_b, officer.user_id, duty.officers["chief"].user_id, "市民 #"):
        assert other not in dumped, other  # nobody else's records, no officer, no pseudonym

    # The erasure: asked, told what stays, confirmed.
    await a.send_text(dm, "!删除我的数据")
    [asked] = await a.wait_for(dm, has("如确认删除"))
    kept_until = (duty.clock.now() + timedelta(days=180)).strftime("%Y-%m-%d")
    assert "TS" in body_of(asked) and kept_until in body_of(asked)
    await a.send_text(dm, "!删除我的数据 确认")
    [erased] = await a.wait_for(dm, has("已按您的要求删除"))
    assert "咨询 1 件" in body_of(erased) and kept_until in body_of(erased)
    await a.wait_for(dm, lambda e: e["type"] == "m.room.member" and e["state_key"] == ghost
                     and e["content"]["membership"] == "leave")
    await a.wait_for(letters.room, has("您的数据已按您的要求删除"))
    # The copies, the edit, the long one's parts, the `!历史` that repeated them, and the root
    # (it would show the citizen's Matrix ID where a department shows them).
    for relayed in (copy, edited, record_before, {"event_id": root}, *long_parts):
        await officer.wait_for(room, lambda e, r=relayed: e["type"] == "m.room.redaction"
                               and e.get("redacts", e["content"].get("redacts")) == r["event_id"])

    # The case's thread stays: `!历史` there shows that the messages were erased, not them, and
    # under no pseudonym (a new one would be shared by every erased citizen). A reply, or a
    # command that would write to the citizen, is refused in the thread, not left to fail.
    await send(officer, room, thread_reply(root, "!历史"))
    record = (await officer.wait_for(room, in_thread(root, "以下是最近"), count=2))[-1]
    assert [line.split(" ", 2)[2] for line in body_of(record).splitlines()[1:]] == [
        "市民（已删除数据）：（已删除）", "浙江省发展和改革委员会 → 市民（已删除数据）：（已删除）",
        "市民（已删除数据）：（已删除）", "市民（已删除数据）：（已删除）"]
    for said in ("删除之后再回一句", "!办结", "!转办 gat 试试"):
        await send(officer, room, thread_reply(root, said))
    await officer.wait_for(room, in_thread(root, "无法再回复、转办或办结"), count=3)
    assert not await bot.ctx.db.fetchval("SELECT COUNT(*) FROM outbox WHERE room_id='erased'")
    assert not await bot.ctx.db.fetchval(
        "SELECT COUNT(*) FROM consult_pseudonym WHERE citizen='erased'")

    db = bot.ctx.db
    found = await tables_holding(db, [A_CASE, A_MORE, "QZA1-EDIT", "QZA1-LONG", A_LETTER, A_COMPLAINT,
                                      a.user_id, B_CASE])
    assert found[A_CASE] == found[A_MORE] == found["QZA1-EDIT"] == found["QZA1-LONG"] \
        == found[A_LETTER] == set(), found
    # Kept by rule, for the supervision office: its mail and the complaint's own DM.
    assert found[A_COMPLAINT] == {"mail_outbox", "outbox"}, found
    assert {r["room_id"] for r in await db.fetch(
        "SELECT room_id FROM outbox WHERE content LIKE $1", f"%{A_COMPLAINT}%")} == {complaints.room}
    assert found[B_CASE], "another citizen's data is untouched"
    assert await db.fetchval("SELECT COUNT(*) FROM consult_case WHERE rating=5") == 1  # figures stay

    # A citizen who erases their data while their case waits for an answer: no reminders to the
    # officers for nobody, and no e-mail offer sent into a DM that is gone.
    c = await users("citizen")
    dm_c, _, ref_c = await open_case(duty, c, "fgw", "C 的问题还没人回")
    await c.send_text(dm_c, "!删除我的数据")
    await c.wait_for(dm_c, has("如确认删除"))
    await c.send_text(dm_c, "!删除我的数据 确认")
    await c.wait_for(dm_c, has("已按您的要求删除"))
    duty.clock.set(duty.clock.now() + timedelta(hours=6))
    await duty.bot("consultation").tick()
    steps = await db.fetchval("SELECT COUNT(*) FROM consult_log l JOIN consult_case c ON c.id=l.case_id"
                              " WHERE c.ref=$1 AND l.kind NOT IN ('opened', 'citizen_message')", ref_c)
    assert steps == 0 and not await db.fetchval("SELECT COUNT(*) FROM outbox WHERE room_id='erased'")

    # Retention: four years on, B's case (closed now) and A's complaint are past their period
    # (the outbox dates its rows by the real clock, which this fixed clock is days behind).
    await send(officer, room, thread_reply(
        next(e["event_id"] for e in officer.events[room] if ref_b in body_of(e)), "!办结"))
    await b.wait_for(dm_b, has("请回复数字"))
    before = await month_figures(duty)
    duty.clock.set(duty.clock.now() + timedelta(days=4 * 365))
    args = retention_parser().parse_args(["-c", str(duty.bridge.config_path), "--dry-run"])
    assert await retention_run(args, now=duty.clock.now()) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM consult_case WHERE citizen='purged'") == 0
    assert await bot.run_retention_once() is not None
    assert await bot.run_retention_once() is None  # once a day
    assert await month_figures(duty) == before  # the month's assessment is what it was
    assert before["province"]["cases"] == 3 and before["province"]["rated"] == 1
    found = await tables_holding(db, [B_CASE, "QZB2-EDIT", "QZB2-LONG", A_COMPLAINT])
    assert found == {B_CASE: set(), "QZB2-EDIT": set(), "QZB2-LONG": set(), A_COMPLAINT: set()}, found
    # The state store's copy of the citizen's memberships goes with the rooms the bridge left.
    found = await tables_holding(db, [a.user_id])
    assert found[a.user_id] <= {"complaints_letter", "complaints_dm", "mx_user_profile", "mx_room_state",
                                "crypto_device", "crypto_cross_signing_keys"}, found
    profiles = {r["room_id"] for r in await db.fetch(
        "SELECT room_id FROM mx_user_profile WHERE user_id=$1", a.user_id)}
    assert profiles <= {complaints.room}, profiles


async def test_an_erasure_withdraws_the_history_a_transfer_carried(
    duty: DutyRoom, users: UserFactory, roster_dir: Path
) -> None:
    """A transfer posts the case's history in the receiving department's room (bots/consultation
    /commands.py): an erasure withdraws it there too, and keeps none of it in the database; nor
    the citizen's Matrix ID, which a department that shows them has in its root and the root's
    edits."""
    departments = roster_dir / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "    email: fgw@mail.example.gov.cn\n",
        "    email: fgw@mail.example.gov.cn\n    show_citizen_id: true\n"), encoding="utf-8")
    assert await duty.runtime.rosters.check_now()
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "丙的咨询 QZC3-CASE")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    gat, gat_room = duty.officers["gat1"], duty.officers_rooms["gat"]
    await send(officer, room, thread_reply(root, "!转办 gat 请公安厅答复"))
    [moved] = await gat.wait_for(gat_room, has("QZC3-CASE"))
    await officer.wait_for(room, lambda e: citizen.user_id in json.dumps(e))  # (shown there)
    await citizen.send_text(dm, "!删除我的数据 确认")
    await citizen.wait_for(dm, has("已按您的要求删除"))
    await gat.wait_for(gat_room, lambda e: e["type"] == "m.room.redaction"
                       and e.get("redacts", e["content"].get("redacts")) == moved["event_id"])
    found = await tables_holding(duty.bot("privacy").ctx.db, ["QZC3-CASE", citizen.user_id])
    assert found["QZC3-CASE"] == set() and "outbox" not in found[citizen.user_id], found


async def test_retention_forgets_the_old_encryption_keys_of_dms(database_url: str) -> None:
    """Megolm keys of citizens' DMs received or made before the period go with the texts (any
    device's: a department's, the bot's); other rooms' keys and recent ones stay."""
    from datetime import datetime, timezone

    from mautrix.appservice.state_store.asyncpg import PgASStateStore
    from mautrix.crypto import PgCryptoStore

    from bots.consultation.upgrade import upgrade_table as consultation_tables
    from bots.privacy.retention import ENCRYPTION_KEYS, plan_for, run_retention
    from bridge.db import upgrade_table

    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        for tables in (consultation_tables, PgCryptoStore.upgrade_table,
                       PgASStateStore.upgrade_table):
            await tables.upgrade(db)
        now = datetime(2030, 6, 1, tzinfo=timezone.utc)
        await db.execute("INSERT INTO consult_dm (room_id, citizen, dept_id) "
                         "VALUES ('!dm:localhost', '@c:localhost', 'fgw')")
        keys = [("@dutyroom_fgw:localhost", "old", "!dm:localhost", 200),
                ("@dutyroom_bot:localhost", "oldbot", "!dm:localhost", 400),
                ("@dutyroom_fgw:localhost", "recent", "!dm:localhost", 10),
                ("@dutyroom_bot:localhost", "officers", "!officers:localhost", 400)]
        for account, session, room, days in keys:
            await db.execute(
                "INSERT INTO crypto_megolm_inbound_session (account_id, session_id, sender_key,"
                " room_id, received_at) VALUES ($1, $2, $3, $4, $5)", account, session.ljust(43, "x"),
                "k" * 43, room, (now - timedelta(days=days)).replace(tzinfo=None))
        await db.execute(
            "INSERT INTO crypto_megolm_outbound_session (account_id, room_id, session_id, session,"
            " shared, max_messages, message_count, max_age, created_at, last_used) VALUES"
            " ($1, '!dm:localhost', $2, $3, true, 100, 1, 604800000, $4, $4)",
            "@dutyroom_fgw:localhost", "out".ljust(43, "x"), b"pickle",
            (now - timedelta(days=200)).replace(tzinfo=None))
        plan = plan_for(int(now.timestamp() * 1000), {"cases": 180})
        own = "@dutyroom\\_% @dutyroom_bot:localhost"
        await run_retention(db, plan, dry_run=True, own_pattern=own)
        assert plan.counts[ENCRYPTION_KEYS] == 3
        await run_retention(db, plan_for(int(now.timestamp() * 1000), {"cases": 180}),
                            dry_run=False, own_pattern=own)
        left = {r["session_id"].rstrip("x") for r in await db.fetch(
            "SELECT session_id FROM crypto_megolm_inbound_session")}
        assert left == {"recent", "officers"}
        assert not await db.fetchval("SELECT COUNT(*) FROM crypto_megolm_outbound_session")
    finally:
        await db.stop()
