"""No silent dead letter, and broken parts never cost a citizen's text: end to end, with real
clients on a real homeserver, on both databases."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.db.dead_letter import DeadLetter
from bridge.metrics import DEAD_LETTERS_UNRESOLVED
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.raising import RaisingBot
from tests.test_consultation import body_of, has, in_thread, open_case, send
from tests.test_mailbox import Chat

ROOT = Path(__file__).resolve().parent.parent
RAISING = "tests.kit.raising:RaisingBot"


@pytest.fixture
async def watched(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> AsyncIterator[tuple[DutyRoom, MatrixUser, Path]]:
    """The duty room with an administrator in the administrators' room and a buggy bot."""
    admin = await users("admin")
    bridge_settings.extra.update({
        "admins": [admin.user_id], "bots.extra": [RAISING],
        "appservice.inbox_max_attempts": 2, "appservice.dead_letter_sweep_interval": 1,
    })
    RaisingBot.FIXED = False
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    await admin.join(duty.bot("admin").room_id)
    try:
        yield duty, admin, tmp_path / "config.yaml"
    finally:
        await duty.bridge.stop()


def dead_letters_cli(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The administrator's command, as a separate process next to the running bridge."""
    return subprocess.run(
        [sys.executable, "-m", "bridge", "dead-letters", "-c", str(config), *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def unresolved(kind: str) -> float:
    return DEAD_LETTERS_UNRESOLVED.labels(kind)._value.get()


async def test_a_forced_dead_letter_is_told_and_replayed_exactly_once(
    watched: tuple[DutyRoom, MatrixUser, Path], users: UserFactory
) -> None:
    duty, admin, config = watched
    admin_room = duty.bot("admin").room_id
    citizen = await users("citizen")
    dm, root, _ = await open_case(duty, citizen, "fgw", "你好，我想咨询企业投资项目备案")

    event_id = await send(citizen, dm, {"msgtype": "m.text", "body": "boom：补充材料清单"})
    [alert] = await admin.wait_for(admin_room, has(event_id), timeout=60)
    for part in (dm, citizen.user_id, "a handler bug", "dead-letters retry inbox/"):
        assert part in body_of(alert)
    [told] = await citizen.wait_for(dm, has("系统已通知管理员"))
    assert told["sender"] == duty.ghost("fgw")
    assert told["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id
    await eventually(lambda: unresolved("inbox") == 1)
    # The consultation bot handled it before the buggy bot raised: the officers have it once.
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await officer.wait_for(room, in_thread(root, "补充材料清单"))

    listing = dead_letters_cli(config, "list")
    assert listing.returncode == 0, listing.stderr
    [letter_id] = [w for w in listing.stdout.split() if w.startswith("inbox/")]
    RaisingBot.FIXED = True  # the fix is deployed
    retried = dead_letters_cli(config, "retry", letter_id)
    assert retried.returncode == 0, retried.stderr
    again = dead_letters_cli(config, "retry", letter_id)
    assert again.returncode == 1 and "not waiting" in again.stderr
    await citizen.wait_for(dm, has("fixed: boom"), timeout=30)  # within the sweep interval
    await eventually(lambda: unresolved("inbox") == 0)

    await asyncio.sleep(2)  # anything doubled would arrive now
    await citizen.sync(500)
    await officer.sync(500)
    assert len([e for e in citizen.events[dm] if "fixed: boom" in body_of(e)]) == 1
    assert len([e for e in citizen.events[dm] if "系统已通知管理员" in body_of(e)]) == 1
    assert len([e for e in officer.events[room] if "补充材料清单" in body_of(e)]) == 1
    assert await duty.runtime.db.fetchval(
        "SELECT COUNT(*) FROM raising_handled WHERE event_id=$1", event_id) == 1
    assert "No unresolved dead letters" in dead_letters_cli(config, "list").stdout


async def test_a_send_given_up_on_is_told_and_retried_and_letter_writers_are_told_too(
    watched: tuple[DutyRoom, MatrixUser, Path], users: UserFactory
) -> None:
    duty, admin, config = watched
    admin_room = duty.bot("admin").room_id
    citizen = await users("citizen")
    dm, _, _ = await open_case(duty, citizen, "fgw", "你好，我想咨询")
    # The gat ghost is not in the citizen's DM with fgw: the homeserver refuses (403, permanent).
    await duty.runtime.outbox.queue("test/refused", dm, duty.ghost("gat"),
                                    {"msgtype": "m.notice", "body": "不会送达"})
    [alert] = await admin.wait_for(admin_room, has("test/refused"), timeout=60)
    for part in (dm, citizen.user_id, "M_FORBIDDEN", "outbox/"):
        assert part in body_of(alert)  # whom it was for: the citizen cannot be told that way
    await eventually(lambda: unresolved("outbox") == 1)
    # Had the citizen's message failed on its way to the officers (a relay-in send given up
    # on), the consultation bot tells the citizen, in reply to it.
    [mine] = await citizen.wait_for(
        dm, lambda e: e["sender"] == citizen.user_id and body_of(e) == "你好，我想咨询")
    first = mine["event_id"]
    await duty.bot("consultation").dead_letter(DeadLetter(
        kind="outbox", seq=0, error="403", at=0, payload={}, room_id=duty.officers_rooms["fgw"],
        sender=duty.runtime.config.bot_mxid, key=f"relay-in/{first}"))
    [told] = await citizen.wait_for(dm, has("系统已通知管理员"))
    assert told["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == first
    [refused] = [w for w in dead_letters_cli(config, "list").stdout.split() if w.startswith("outbox/")]
    assert dead_letters_cli(config, "discard", refused).returncode == 0
    await eventually(lambda: unresolved("outbox") == 0)

    # A send refused until the cause is fixed (the ghost is not in the room yet), then retried.
    resp = await citizen.client.room_create(name="稍后")
    later, ghost = resp.room_id, duty.ghost("fgw")
    await duty.runtime.outbox.queue("test/later", later, ghost, {"msgtype": "m.notice", "body": "稍后送达"})
    await admin.wait_for(admin_room, has("test/later"), timeout=60)
    await citizen.client.room_invite(later, ghost)  # the fix: the ghost joins the room
    await eventually(lambda: _joined(citizen, later, ghost))
    [letter_id] = [w for w in dead_letters_cli(config, "list").stdout.split() if w.startswith("outbox/")]
    assert dead_letters_cli(config, "retry", letter_id).returncode == 0
    assert dead_letters_cli(config, "retry", letter_id).returncode == 1  # once only
    await citizen.wait_for(later, has("稍后送达"), timeout=30)
    # Marked sent once the homeserver's answer is back, which may be after the citizen saw it.
    await eventually(lambda: "sent" in dead_letters_cli(config, "show", letter_id).stdout)

    # The mailbox bot tells a letter writer whose message became a dead letter, too.
    mailbox = f"@{duty.prefix}mailbox:localhost"
    letters = await citizen.create_dm(mailbox)
    await citizen.wait_for(letters, lambda e: e["sender"] == mailbox)
    await send(citizen, letters, {"msgtype": "m.text", "body": "boom"})
    [told] = await citizen.wait_for(letters, has("系统已通知管理员"), timeout=60)
    assert told["sender"] == mailbox
    # An attachment whose media is missing is refused with a reason, the letter goes on.
    chat = Chat(citizen, letters, mailbox)
    await chat.say("fgw", "请输入主题")
    await chat.say("项目备案", "请输入正文")
    missing = f"mxc://localhost/missing{secrets.token_hex(6)}"
    await chat.say("", "附件「现场照片.png」无法读取", {"msgtype": "m.image", "body": "现场照片.png",
                                                 "url": missing})
    await chat.say("正文照常记录", "已记录")


async def _joined(user: MatrixUser, room_id: str, member: str) -> bool:
    return (await user.members(room_id)).get(member) == "join"


async def test_broken_parts_never_cost_the_citizens_text(
    watched: tuple[DutyRoom, MatrixUser, Path], users: UserFactory
) -> None:
    duty, admin, _ = watched
    citizen, other = await users("citizen"), await users("citizen")
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    dm, root, _ = await open_case(duty, citizen, "fgw", "第一个问题")

    broken_relations = {
        "关系是字符串": "junk",
        "关系是列表": ["junk"],
        "回复目标是垃圾": {"m.in_reply_to": "junk"},
    }
    for text, relation in broken_relations.items():
        await send(citizen, dm, {"msgtype": "m.text", "body": text, "m.relates_to": relation})
    await send(citizen, dm, {"msgtype": "m.text", "body": "正文含\x00空字符"})
    missing = f"mxc://localhost/missing{secrets.token_hex(6)}"
    await send(citizen, dm, {"msgtype": "m.image", "body": "照片.png", "url": missing,
                             "info": {"mimetype": "image/png", "size": 10}})
    await send(citizen, dm, {"msgtype": "m.file", "body": "材料.pdf", "url": "mxc://broken"})
    status, _ = await citizen.request(
        "PUT", f"/_matrix/client/v3/profile/{citizen.user_id}/displayname",
        {"displayname": "张\x00三"})
    assert status == 200
    await send(citizen, dm, {"msgtype": "m.text", "body": "改名之后的消息"})

    for text in [*broken_relations, "正文含空字符", "改名之后的消息"]:
        await officer.wait_for(room, in_thread(root, text), timeout=60)
    for name in ("照片.png", "材料.pdf"):  # a note in the attachment's place, and the citizen told
        await officer.wait_for(room, in_thread(root, f"附件「{name}」无法获取"))
        await citizen.wait_for(dm, has(f"您发送的附件「{name}」无法获取"))
    await citizen.wait_for(dm, has("格式无法识别"), count=len(broken_relations))

    other_dm, _, _ = await open_case(duty, other, "fgw", "另一位市民的问题")  # still served
    assert other_dm != dm
    await duty.runtime.idle()
    counts = await duty.runtime.az.dead_letters.unresolved_counts()
    assert counts == {"malformed": 0, "inbox": 0, "outbox": 0}
