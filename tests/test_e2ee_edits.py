"""Edits and retractions where both rooms are encrypted: the relation travels in the clear beside
the ciphertext (as Element sends it) and the new words inside it, so the bridge must read the
one after decrypting and write both again when it encrypts the copy. The unencrypted versions
of these steps are in tests/test_consultation.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit.duty import DutyRoom
from tests.kit.e2ee import EncryptingUserFactory
from tests.test_consultation import body_of, edit_of, has, in_thread, is_root, send, thread_reply


def edit_to(target: str, text: str):  # type: ignore[no-untyped-def]
    """An edit of `target` whose new words hold `text`, as the receiving client decrypted it."""
    return lambda e: (e.get("content", {}).get("m.relates_to", {}).get("event_id") == target
                      and e["content"]["m.relates_to"].get("rel_type") == "m.replace"
                      and text in str(e["content"].get("m.new_content", {}).get("body", "")))


def retraction_of(target: str):  # type: ignore[no-untyped-def]
    return lambda e: (e.get("type") == "m.room.redaction"
                      and e.get("redacts", e.get("content", {}).get("redacts")) == target)


async def test_edits_parts_and_retractions_through_encrypted_rooms(
    e2ee_duty: DutyRoom, e2ee_users: EncryptingUserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    duty = e2ee_duty
    citizen = await e2ee_users("citizen")
    dm = await citizen.create_encrypted_dm(duty.ghost("fgw"))
    await citizen.wait_for(dm, has("网上值班室"))
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await officer.sync(0)
    asked = await send(citizen, dm, {"msgtype": "m.text", "body": "项目在杭州"})
    [root] = await officer.wait_for(room, is_root)
    thread = root["event_id"]
    [copy] = await officer.wait_for(room, in_thread(thread, "项目在杭州"))

    # The citizen's correction edits the officers' copy, labelled with the pseudonym as before.
    await send(citizen, dm, edit_of(asked, "项目在宁波"))
    [edited] = await officer.wait_for(room, edit_to(copy["event_id"], "项目在宁波"))
    assert edited["content"]["m.new_content"]["body"] == body_of(copy).replace("杭州", "宁波")

    # The officer's correction of an answer edits the citizen's copy.
    answer = await send(officer, room, thread_reply(thread, "请到市发改委备案"))
    [reply] = await citizen.wait_for(dm, has("请到市发改委备案"))
    await send(officer, room, {**thread_reply(thread, "* 更正：请到政务服务网备案"),
                               "m.new_content": {"msgtype": "m.text", "body": "更正：请到政务服务网备案"},
                               "m.relates_to": {"rel_type": "m.replace", "event_id": answer}})
    await citizen.wait_for(dm, edit_to(reply["event_id"], "更正：请到政务服务网备案"))

    # A message too long for one encrypted copy goes in two parts; edited shorter, the second
    # part says it is empty now; retracted, both parts go.
    long = "\n".join(f"第{i:02d}段 加密长信" + "长" * 400 for i in range(37))
    oops = await send(citizen, dm, {"msgtype": "m.text", "body": long})
    parts = await officer.wait_for(room, in_thread(thread, "加密长信"), count=2)
    await send(citizen, dm, edit_of(oops, "改短了"))
    await officer.wait_for(room, edit_to(parts[0]["event_id"], "改短了"))
    await officer.wait_for(room, edit_to(parts[1]["event_id"], "编辑后此部分已无内容"))
    await citizen.client.room_redact(dm, oops)
    for part in parts:
        await officer.wait_for(room, retraction_of(part["event_id"]))
    await send(officer, room, thread_reply(thread, "!历史"))
    [record] = await officer.wait_for(room, in_thread(thread, "以下是最近"))
    assert "（已撤回）" in body_of(record) and "加密长信" not in body_of(record)
    assert "（已编辑）：项目在宁波" in body_of(record) and "杭州" not in body_of(record)  # as the thread shows it

    # All of it went over the wire encrypted, and every client could read all of it.
    for user, room_id in ((citizen, dm), (officer, room)):
        sent: list[dict[str, Any]] = [e for e in await user.history(room_id)
                                      if e["type"] in ("m.room.message", "m.room.encrypted")]
        assert sent and all(e["type"] == "m.room.encrypted" for e in sent)
        assert not user.undecrypted(room_id)
    # One-time key counts of the accounts' cross-signing keys (hidden devices to Synapse) are
    # not "unknown devices": that warning was 99% of the demo's log.
    assert not [r for r in caplog.records if "OTK count for unknown device" in r.getMessage()]
