"""What a citizen is notified of (issue #14): the messages that answer the citizen or ask them for
something are m.text and raise a notification under the homeserver's default push rules (checked
with its notifications API); pure status stays a notice. Officers are mentioned by duty alias."""

from __future__ import annotations

from typing import Any

from tests.kit.clients import MatrixUser, UserFactory, eventually
from tests.kit.duty import DutyRoom
from tests.test_consultation import body_of, has, open_case, send, thread_reply


async def notified(user: MatrixUser) -> dict[str, dict[str, Any]]:
    status, body = await user.request("GET", "/_matrix/client/v3/notifications?limit=50")
    assert status == 200, body
    return {n["event"]["event_id"]: n["event"] for n in body["notifications"]}


async def _receipt(user: MatrixUser, room: str, event_id: str, reader: str) -> bool:
    await user.sync(500)
    return (event_id, reader) in user.receipts.get(room, set())


async def test_the_greeting_the_reference_and_the_rating_request_notify(
    duty: DutyRoom, users: UserFactory
) -> None:
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "请问备案需要哪些材料")
    [greeting] = await citizen.wait_for(dm, has("网上值班室"))
    assert "现在有值班人员在线（至 12:00）" in body_of(greeting)  # Friday 10:00
    [ack] = await citizen.wait_for(dm, has(ref))

    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    [root_event] = [e for e in officer.events[room] if e["event_id"] == root]
    mention_line = body_of(root_event).splitlines()[-1]
    assert "值班员 01" in mention_line and officer.user_id not in mention_line
    assert ">值班员 01</a>" in root_event["content"]["formatted_body"]

    reply = await send(officer, room, thread_reply(root, "请携带营业执照。"))
    [answer] = await citizen.wait_for(dm, has("营业执照"))
    # The officer sees it arrived: the department's account has read it in the thread.
    await eventually(lambda: _receipt(officer, room, reply, duty.ghost("fgw")))
    await send(officer, room, thread_reply(root, "!办结"))
    [rating] = await citizen.wait_for(dm, has("评分"))
    await send(citizen, dm, {"msgtype": "m.text", "body": "5"})
    [thanks] = await citizen.wait_for(dm, has("感谢您的评价"))

    for event in (greeting, ack, answer, rating):
        assert event["content"]["msgtype"] == "m.text"
    assert thanks["content"]["msgtype"] == "m.notice"  # status: no badge
    seen = await notified(citizen)
    for event in (greeting, ack, answer, rating):
        assert event["event_id"] in seen, body_of(event)
    assert thanks["event_id"] not in seen
