"""Privacy end to end: officer messages full of identifiers, through the real bridge.

The citizen's whole timeline must contain no officer ID, name or alias (except the department's
chosen signature), no other citizen, and nothing pointing into the officers' room. The second
test takes every identifier from the running homeserver (the officers' room's version-12 ID, a
real event, the room's alias, a real officer, another real citizen and that citizen's
pseudonym), so the corpus is what an officer could actually copy, not a hand-written example.
"""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bridge.mail.inbound import InboundMail
from bridge.relay_content import contains_identifier
from tests.kit.bridge import BridgeSettings
from tests.kit.clients import UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.test_consultation import body_of, has, in_thread, is_root, open_case, send, thread_reply

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


def _matrix_uri(ident: str, room: str) -> str:
    """The matrix: URI form of an identifier (spec: u/, r/, roomid/, roomid/.../e/)."""
    sigil, rest = ident[0], ident[1:]
    if sigil == "@":
        return f"matrix:u/{rest}?action=chat"
    if sigil == "!":
        return f"matrix:roomid/{rest}?via=localhost"
    if sigil == "$":
        return f"matrix:roomid/{room[1:]}/e/{rest}"
    if sigil == "#":
        return f"matrix:r/{rest}"
    return f"matrix:u/{quote(ident)}"  # a name: nonsense, but no client would leak it either


def real_corpus(ids: list[str], room: str, marker: str) -> tuple[str, str]:
    """(body, formatted_body): every identifier in every form, each between two words
    `marker`+n that must reach the citizen."""
    plain: list[str] = []
    rich: list[str] = []
    for x in ids:
        h, uri = html.escape(x), _matrix_uri(x, room)
        plain += [x, f"https://matrix.to/#/{x}", f"https://matrix.to/#/{quote(x, safe='')}",
                  uri, quote(uri, safe=":/?=")]
        rich += [h, f"<b>{h}</b>", f'<a href="https://www.zj.gov.cn/">{h}</a>',
                 f'<a href="https://www.zj.gov.cn/s?q={quote(x)}">官网</a>',
                 f'<a href="https://matrix.to/#/{quote(x, safe="")}">{h}</a>',
                 f'<a href="{html.escape(uri)}">{h}</a>',
                 f'<span data-mx-spoiler="{h}">剧透</span>']
    body = "".join(f"{marker}{i} {p} " for i, p in enumerate(plain)) + f"{marker}{len(plain)}"
    formatted = "".join(f"{marker}{i} {p} " for i, p in enumerate(rich)) + f"{marker}{len(rich)}"
    return body, formatted


async def _labels(duty: DutyRoom, room: str) -> dict[str, tuple[str, str]]:
    """Thread root event ID and pseudonym label of each case, as the officers see them."""
    officer = duty.officers["fgw1"]
    await officer.sync(0)
    out = {}
    for root in filter(is_root, officer.events[room]):
        label = re.search(r"市民 #\d{4}", body_of(root))
        assert label, body_of(root)
        out[body_of(root).split()[1]] = (root["event_id"], label.group(0))
    return out


async def test_real_identifiers_of_this_run_never_reach_the_citizen(
    duty: DutyRoom, users: UserFactory
) -> None:
    officer, room = duty.officers["fgw1"], duty.officers_rooms["fgw"]
    await officer.client.set_displayname("张科长")
    other = await users("citizen")
    _, _, other_ref = await open_case(duty, other, "fgw", "另一位市民的问题")
    citizen = await users("citizen")
    dm, root, ref = await open_case(duty, citizen, "fgw", "我的问题")
    status, aliases = await officer.request(
        "GET", f"/_matrix/client/v3/rooms/{quote(room)}/aliases")
    assert status == 200, aliases
    [alias] = aliases["aliases"]
    labels = await _labels(duty, room)
    other_root, other_label = labels[other_ref]
    own_label = labels[ref][1]
    assert re.fullmatch(r"![A-Za-z0-9_\-]{43}", room)  # room version 12: no server part
    ids = [room, other_root, alias, officer.user_id, "张科长", other_label, other.user_id]
    forbidden = ids + [room[1:], other_root[1:], alias[1:].split(":")[0],
                       officer.user_id[1:].split(":")[0], other.user_id[1:].split(":")[0],
                       other_label.replace("市民 ", "")]

    question = (await officer.wait_for(room, in_thread(root, "我的问题")))[-1]["event_id"]
    words = f"您（{own_label}）好；另一位市民 {other.user_id} 也问过，同事 {officer.user_id} 在跟进。"
    body, formatted = real_corpus(ids, room, "甲")
    reply = thread_reply(root, f"> <{duty.ghost('fgw')}> 我的问题\n\n{words}{body}", question)
    reply.update(format="org.matrix.custom.html", formatted_body=(
        f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{question}">In reply to</a>'
        f"</blockquote></mx-reply>{html.escape(words)}{formatted}"))
    reply["m.mentions"] = {"user_ids": [officer.user_id, other.user_id]}
    first = await send(officer, room, reply)
    body, formatted = real_corpus(ids, room, "乙")
    new = {"msgtype": "m.text", "body": words + body, "format": "org.matrix.custom.html",
           "formatted_body": html.escape(words) + formatted}
    await send(officer, room, {**new, "body": "* " + new["body"], "m.new_content": new,
                               "m.relates_to": {"rel_type": "m.replace", "event_id": first}})
    # The department's mailbox answers by e-mail: the same filter on the way to the citizen.
    body, _ = real_corpus(ids, room, "丙")
    await duty.bot("consultation").attention.mail_reply(InboundMail(
        message_id="<privacy@mail.example>", reply_ref=ref, sender="fgw@mail.example.gov.cn",
        subject="Re", text=words + body, html=None))

    await citizen.wait_for(dm, has("丙0"))
    [edit] = await citizen.wait_for(dm, has("乙0"))
    [answer] = await citizen.wait_for(dm, lambda e: "甲0" in body_of(e))
    mail = (await citizen.wait_for(dm, has("丙0")))[0]
    relayed = [e["content"] for e in (answer, edit, mail)]
    dumped = json.dumps(relayed, ensure_ascii=False)
    leaked = [f for f in forbidden if contains_identifier(dumped, [f])]
    assert leaked == [], dumped
    assert "matrix.to" not in dumped and "matrix:" not in dumped and "mx-reply" not in dumped
    # The rest of the text arrives, in the body and the HTML, in the reply, the edit and the mail.
    texts = [(answer["content"], "甲", 5), (edit["content"]["m.new_content"], "乙", 5),
             (mail["content"], "丙", 5)]
    for content, marker, per_id in texts:
        for key, count in (("body", per_id * len(ids)), ("formatted_body", 7 * len(ids))):
            if key == "formatted_body" and marker == "丙":
                continue
            visible = html.unescape(content[key])
            missing = [i for i in range(count + 1)
                       if not re.search(rf"{marker}{i}(?!\d)", visible)]
            assert missing == [], (key, visible)
            assert own_label in visible  # the citizen's own pseudonym stays
            assert f"另一位市民 {'[已隐去]'} 也问过" in visible  # a citizen is no officer
            if marker != "丙":
                assert "同事 [值班人员] 在跟进" in visible
