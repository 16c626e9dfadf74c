"""Privacy of relayed content: nothing on the citizen side identifies an officer or another
citizen (issue 4, "a privacy test over a corpus of at least 200 officer messages").

Pure unit tests of bridge.relay_content; no homeserver needed.
"""

from __future__ import annotations

import html
import json
import random
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.mail.sanitise import sanitise_html as mail_sanitise_html
from bridge.matrix_html import ALLOWED_TAGS
from bridge.relay_content import (
    ALLOWED_URL_SCHEMES,
    IMG_URL_SCHEMES,
    citizen_to_officer,
    contains_identifier,
    officer_to_citizen,
    sanitise_html,
    strip_reply_fallback,
)
from tests.kit.html import allowlist_problems

DOMAIN = "gov.example"
# (MXID, display name) of the department's officers.
OFFICERS = [
    ("@zhang.san:gov.example", "张三"),
    ("@li_si:gov.example", "李四（教育厅）"),
    ("@wangwu:gov.example", "Wang Wu"),
    ("@officer-07:gov.example", "赵科长"),
]
DUTY_ALIASES = ["值班员小王", "教育厅3号席"]
SIGNATURE = "值班员小王"
# Other citizens: (MXID, pseudonym shown to officers).
CITIZENS = [("@carol:matrix.org", "市民 #4821"), ("@dave.q:citizen.example", "市民 #0093")]
OFFICERS_ROOM = "!OffIcErsRoOmXyz:gov.example"
OFFICERS_ALIAS = "#jyt-officers:gov.example"
EVENT_V1 = "$1a2b3c4d5e:gov.example"
EVENT_V4 = "$" + "Qx7vK2mZp9LwR4tYb8NcD1eF6gH3jS5aU0oI2kE7rTy"  # 43 url-safe base64 chars
EVENTS = [EVENT_V1, EVENT_V4]

HIDDEN = (
    [m for m, _ in OFFICERS]
    + [n for _, n in OFFICERS]
    + DUTY_ALIASES
    + [m for m, _ in CITIZENS]
    + [n for _, n in CITIZENS]
)
LOCALPARTS = [m[1:].split(":")[0] for m, _ in OFFICERS + CITIZENS]
# Substrings that must never reach a citizen (the signature is allowed back in when chosen).
FORBIDDEN = (
    HIDDEN
    + [f"{lp}@" for lp in LOCALPARTS]
    + [f"@{lp}" for lp in LOCALPARTS]
    + [OFFICERS_ROOM, OFFICERS_ROOM[1:].split(":")[0], OFFICERS_ALIAS, "jyt-officers"]
    + [e for e in EVENTS]
    + [EVENT_V1[1:].split(":")[0], EVENT_V4[1:]]
    + ["matrix.to", "matrix:", "mx-reply", "m.relates_to", "user_ids", "In reply to"]
    + ["m.in_reply_to", "m.thread", "event_id", "javascript:", "onerror", "<script"]
)
RESULT_KEYS = {
    "msgtype", "body", "format", "formatted_body", "url", "info", "filename",
    "m.new_content", "m.mentions",
}  # fmt: skip


def _zw(name: str) -> str:
    """The name split by a zero-width space, as some clients paste it."""
    return name[0] + "\u200b" + name[1:]


def _plain_leaks(rng: random.Random) -> list[str]:
    mxid, name = rng.choice(OFFICERS)
    cmxid, pseudo = rng.choice(CITIZENS)
    lp = mxid[1:].split(":")[0]
    alias = rng.choice(DUTY_ALIASES)
    event = rng.choice(EVENTS)
    return [
        mxid,
        name,
        alias,
        cmxid,
        pseudo,
        f"@{lp}",
        f"{lp}@{DOMAIN}",
        f"{mxid}: 请跟进",
        f"https://matrix.to/#/{mxid}",
        f"https://matrix.to/#/{quote(mxid, safe='')}",
        f"https://matrix.to/#/{OFFICERS_ROOM}/{event}?via={DOMAIN}",
        f"https://matrix.to/#/{OFFICERS_ALIAS}",
        f"matrix:u/{mxid[1:]}?action=chat",
        f"matrix:roomid/{OFFICERS_ROOM[1:]}/e/{event[1:]}",
        OFFICERS_ROOM,
        OFFICERS_ALIAS,
        event,
        f"https://www.zj.gov.cn/search?q={quote(mxid)}",
        _zw(name),
        mxid.upper(),
        mxid.replace("@", "＠").replace(":", "："),
        f"见{cmxid}的问题",
    ]


def _html_leaks(rng: random.Random) -> list[str]:
    mxid, name = rng.choice(OFFICERS)
    cmxid, pseudo = rng.choice(CITIZENS)
    event = rng.choice(EVENTS)
    n = html.escape(name)
    return [
        f'<a href="https://matrix.to/#/{mxid}">{n}</a>',
        f'<a href="https://matrix.to/#/{mxid}"><b>{n}</b></a>',
        f'<a href="https://matrix.to/#/{cmxid}">{html.escape(pseudo)}</a>',
        f'<a href="matrix:u/{mxid[1:]}">{n}</a>',
        f'<a href="https://matrix.to/#/{OFFICERS_ROOM}/{event}">{OFFICERS_ROOM}</a>',
        f'<a href="matrix:r/{OFFICERS_ALIAS[1:]}">值班室</a>',
        f"{html.escape(name[0])}<b>{html.escape(name[1:])}</b>",
        "".join(f"&#x{ord(c):x};" for c in name),
        f'<img src="mxc://{DOMAIN}/AbCd" alt="{n}" title="{mxid}">',
        f'<span data-mx-maths="{mxid}">x</span>',
        f'<font color="#ff0000" data-mx-color="#00ff00">{n}</font>',
        f'<a href="https://www.zj.gov.cn/?by={mxid[1:].split(":")[0]}@{DOMAIN}">官网</a>',
        f"<code>{mxid}</code>",
        f"<!-- {mxid} -->",
        f'<script>alert("{mxid}")</script>',
        f"<a href=\"javascript:alert('{name}')\">点我</a>",
    ]


NASTY = [
    "<img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    "<svg onload=alert(1)><circle/></svg>",
    "<b><i>未闭合",
    '<a href="javascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">样式</div>',
    '<img src="https://tracker.example/p.gif">',
    "<mx-reply>残留的回复</mx-reply>",
    '<table><tr><td onclick="x()">表格</td></tr></table>',
]


def _answer(i: int) -> str:
    # The text the citizen must still receive: unique per message so loss is detectable.
    emoji = ["🙂", "👍", "📄", "🏛️", "✅"][i % 5]
    return f"回复内容{i}：您好，办理社保卡补办请携带身份证原件 {emoji}"


def _fallback_body(mxid: str) -> str:
    return f"> <{mxid}> 原文：请问社保卡怎么补办？\n> 第二行\n\n"


def _fallback_html(mxid: str, event: str) -> str:
    return (
        f'<mx-reply><blockquote><a href="https://matrix.to/#/{OFFICERS_ROOM}/{event}">'
        f'In reply to</a> <a href="https://matrix.to/#/{mxid}">{mxid}</a><br>原文'
        f"</blockquote></mx-reply>"
    )


def _make_message(i: int) -> tuple[dict, str, str | None]:
    """One officer message of the corpus: (content, answer that must survive, signature)."""
    rng = random.Random(i)
    answer = _answer(i)
    mxid, _ = rng.choice(OFFICERS)
    event = rng.choice(EVENTS)
    plain = rng.sample(_plain_leaks(rng), 3)
    rich = rng.sample(_html_leaks(rng), 3)
    nasty = rng.choice(NASTY)
    body = " ".join([plain[0], answer, plain[1], "\n", plain[2]])
    formatted = " ".join([rich[0], html.escape(answer), rich[1], nasty, "<br>", rich[2]])
    kind = ["text", "reply", "edit", "media", "thread"][i % 5]
    msgtype = rng.choice(["m.text", "m.notice", "m.emote"])
    content: dict = {"msgtype": msgtype, "body": body}
    if rng.random() < 0.8:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = formatted
    if rng.random() < 0.7:
        content["m.mentions"] = {"user_ids": [m for m, _ in OFFICERS[:2]], "room": True}
    content["com.example.officer"] = {"sender": mxid, "room": OFFICERS_ROOM}
    if kind == "reply":
        content["body"] = _fallback_body(mxid) + content["body"]
        if "formatted_body" in content:
            content["formatted_body"] = _fallback_html(mxid, event) + content["formatted_body"]
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": event}}
    elif kind == "thread":
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": EVENT_V1,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": event},
        }
    elif kind == "edit":
        new = dict(content)
        new.pop("com.example.officer")
        content = {
            "msgtype": msgtype,
            "body": "* " + _fallback_body(mxid) + body,
            "format": "org.matrix.custom.html",
            "formatted_body": "* " + _fallback_html(mxid, event) + formatted,
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": event},
            "m.mentions": {"user_ids": [mxid]},
        }
    elif kind == "media":
        _, name = rng.choice(OFFICERS)
        filename = f"{name}_{mxid}_办事指南.pdf"
        content = {
            "msgtype": rng.choice(["m.image", "m.file", "m.video", "m.audio"]),
            "body": body,  # a caption (MSC2530) since filename is set
            "filename": filename,
            "url": f"mxc://{DOMAIN}/MeDiA{i}",
            "info": {
                "mimetype": "application/pdf",
                "size": 1234 + i,
                "thumbnail_url": f"mxc://{DOMAIN}/ThUmB{i}",
                "thumbnail_info": {"mimetype": "image/png", "w": 10, "h": 10, "x-uploader": mxid},
                "thumbnail_file": {"url": f"mxc://{DOMAIN}/enc", "key": {"k": mxid}},
                "x-officer": mxid,
            },
            "file": {"url": f"mxc://{DOMAIN}/enc{i}", "v": "v2"},
            "m.relates_to": {"m.in_reply_to": {"event_id": event}},
        }
        if rng.random() < 0.5:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted
    signature = SIGNATURE if i % 3 == 0 else None
    return content, answer, signature


CORPUS = [_make_message(i) for i in range(250)]


def _relay(content: dict, signature: str | None) -> dict:
    return officer_to_citizen(content, hidden_names=HIDDEN, domain=DOMAIN, signature=signature)


def _assert_private(result: dict, signature: str | None) -> None:
    dumped = json.dumps(result, ensure_ascii=False)
    forbidden = [f for f in FORBIDDEN if f != signature]
    leaked = [f for f in forbidden if f.casefold() in dumped.casefold()]
    assert not leaked, f"leaked {leaked} in {dumped}"
    assert not contains_identifier(dumped, forbidden), dumped
    assert set(result) <= RESULT_KEYS
    assert result["m.mentions"] == {}


def test_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 200
    kinds = {("m.new_content" in c, "m.relates_to" in c, c["msgtype"]) for c, _, _ in CORPUS}
    assert len(kinds) >= 8


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_corpus_message_leaks_nothing_and_keeps_the_answer(index: int) -> None:
    content, answer, signature = CORPUS[index]
    result = _relay(content, signature)
    _assert_private(result, signature)
    assert answer in result["body"]
    if "formatted_body" in result:
        assert answer in html.unescape(result["formatted_body"])
    if "m.new_content" in content:
        new = result["m.new_content"]
        assert result["body"].startswith("* ")
        assert answer in new["body"]
        assert set(new) <= RESULT_KEYS - {"m.new_content"}
    if signature and result["msgtype"] in ("m.text", "m.notice", "m.emote"):
        assert result["body"].endswith(f"\n—— {signature}")
    if content["msgtype"] in ("m.image", "m.file", "m.video", "m.audio"):
        assert result["url"] == content["url"]
        assert result["info"]["size"] == content["info"]["size"]
        assert "thumbnail_file" not in result["info"]
        assert result["filename"].endswith("_办事指南.pdf")


def test_reply_fallback_removed_from_both_bodies() -> None:
    content = {
        "msgtype": "m.text",
        "body": "> <@zhang.san:gov.example> 原文\n> 第二行\n\n回复内容",
        "format": "org.matrix.custom.html",
        "formatted_body": _fallback_html("@zhang.san:gov.example", EVENT_V1) + "回复内容",
        "m.relates_to": {"m.in_reply_to": {"event_id": EVENT_V1}},
    }
    result = _relay(content, None)
    assert result["body"] == "回复内容"
    assert result["formatted_body"] == "回复内容"
    assert "m.relates_to" not in result


def test_strip_reply_fallback() -> None:
    assert strip_reply_fallback("> <@a:b> x\n> y\n\nanswer\n> kept") == "answer\n> kept"
    assert strip_reply_fallback("no quote\n\nhere") == "no quote\n\nhere"
    assert strip_reply_fallback("> only") == ""


def test_pills_and_identifiers_become_placeholders() -> None:
    content = {
        "msgtype": "m.text",
        "body": "请 @wangwu:gov.example 和 @carol:matrix.org 处理，抄送 @someone:elsewhere.org",
        "format": "org.matrix.custom.html",
        "formatted_body": '<a href="https://matrix.to/#/@nobody:gov.example">老周</a> 您好'
        ' <a href="https://matrix.to/#/@wangwu:gov.example">王</a>',
    }
    staff = [m for m, _ in OFFICERS]
    result = officer_to_citizen(content, hidden_names=[], domain=DOMAIN, staff_ids=staff)
    # Only staff read as staff; another citizen or a stranger reads as hidden, never as staff.
    assert result["body"] == "请 [值班人员] 和 [已隐去] 处理，抄送 [已隐去]"
    # A pill is replaced whole: its text is a display name we may not have been told.
    assert result["formatted_body"] == "[已隐去] 您好 [值班人员]"
    bare = officer_to_citizen({"msgtype": "m.text", "body": "@wangwu 与 @carol"},
                              hidden_names=[], domain=DOMAIN, staff_ids=staff)
    assert bare["body"] == "[值班人员] 与 [已隐去]"


def test_edit_returns_scrubbed_new_content_with_fallback() -> None:
    content = {
        "msgtype": "m.text",
        "body": "* 新答复 张三",
        "m.new_content": {"msgtype": "m.text", "body": "新答复 张三", "m.mentions": {}},
        "m.relates_to": {"rel_type": "m.replace", "event_id": EVENT_V1},
    }
    result = _relay(content, None)
    assert result == {
        "msgtype": "m.text",
        "body": "* 新答复 [已隐去]",
        "m.new_content": {"msgtype": "m.text", "body": "新答复 [已隐去]", "m.mentions": {}},
        "m.mentions": {},
    }


def test_signature_is_kept_and_escaped() -> None:
    content = {
        "msgtype": "m.text",
        "body": "值班员小王 在此，教育厅3号席 不在",
        "format": "org.matrix.custom.html",
        "formatted_body": "<p>答复</p>",
    }
    result = officer_to_citizen(
        content, hidden_names=HIDDEN + ["<b>"], domain=DOMAIN, signature="<b>"
    )
    assert result["formatted_body"] == "<p>答复</p><p>—— &lt;b&gt;</p>"  # no blank line before it
    result = _relay(content, SIGNATURE)
    assert result["body"] == "值班员小王 在此，[已隐去] 不在\n—— 值班员小王"


def test_public_alias_can_be_named_and_foreign_alias_is_kept() -> None:
    content = {"msgtype": "m.text", "body": "见 #jyt:gov.example 与 #matrix:matrix.org"}
    kept = officer_to_citizen(
        content, hidden_names=[], domain=DOMAIN, public_aliases=["#jyt:gov.example"]
    )
    assert kept["body"] == content["body"]
    hidden = officer_to_citizen(content, hidden_names=[], domain=DOMAIN)
    assert hidden["body"] == "见 [已隐去] 与 #matrix:matrix.org"


def test_ordinary_text_and_links_survive() -> None:
    body = (
        "请访问 https://www.zj.gov.cn/art/2024 或发邮件至 jyt@zj.gov.cn，时间 9:00-17:00 #1:30 😀"
    )
    content = {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": '<a href="https://www.zj.gov.cn/" target="_blank">官网</a>'
        '<ol start="3"><li><code class="language-python">x</code></li></ol>',
    }
    result = _relay(content, None)
    assert result["body"] == body
    assert result["formatted_body"] == (
        '<a href="https://www.zj.gov.cn/" target="_blank" rel="noopener">官网</a>'
        '<ol start="3"><li><code class="language-python">x</code></li></ol>'
    )


def test_unknown_msgtype_and_hostile_values_do_not_crash() -> None:
    assert _relay({"msgtype": "m.location", "body": "here", "geo_uri": "geo:30,120"}, None) == {
        "msgtype": "m.text",
        "body": "here",
        "m.mentions": {},
    }
    odd = {"msgtype": 3, "body": None, "format": "org.matrix.custom.html", "formatted_body": 5}
    assert _relay(odd, None)["body"] == ""
    assert _relay([], None)["body"] == ""  # type: ignore[arg-type]
    edit_without_new = {"msgtype": "m.text", "body": "x", "m.relates_to": {"rel_type": "m.replace"}}
    assert _relay(edit_without_new, None)["body"] == "x"


def test_citizen_to_officer_sanitises_and_drops_relations() -> None:
    content = {
        "msgtype": "m.text",
        "body": "> <@dept_jyt:gov.example> 之前的答复\n\n我的问题",
        "format": "org.matrix.custom.html",
        "formatted_body": _fallback_html("@dept_jyt:gov.example", EVENT_V1)
        + "<b>我的问题</b><script>x()</script><img src=x onerror=y>",
        "m.relates_to": {"m.in_reply_to": {"event_id": EVENT_V1}},
        "m.mentions": {"room": True},
        "com.example": 1,
    }
    assert citizen_to_officer(content) == {
        "msgtype": "m.text",
        "body": "我的问题",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>我的问题</b>",
        "m.mentions": {},
    }
    media = {"msgtype": "m.image", "body": "a.png", "url": "mxc://x/y", "info": {"w": 1}}
    assert citizen_to_officer(media) == {**media, "m.mentions": {}}
    edit = {
        "msgtype": "m.text",
        "body": "* 改",
        "m.new_content": {"msgtype": "m.text", "body": "改"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": EVENT_V1},
    }
    assert citizen_to_officer(edit)["m.new_content"]["body"] == "改"


# --- sanitise_html only emits the allowlist ----------------------------------------------------
def _allowlist_problems(output: str) -> list[str]:
    return allowlist_problems(output, ALLOWED_URL_SCHEMES, IMG_URL_SCHEMES)


@pytest.mark.parametrize("sanitise", [sanitise_html, mail_sanitise_html], ids=["relay", "mail"])
def test_both_sanitisers_keep_the_one_shared_allowlist(sanitise: Any) -> None:
    """Citizens' HTML and mail HTML are cut down to the same list (bridge/matrix_html.py)."""
    for tag in ("s", "strike", "del", "u", "sup", "sub", "code", "b", "strong", "em", "font",
                "span", "p", "div", "blockquote", "pre", "h3", "details"):
        assert sanitise(f"<{tag}>x</{tag}>") == f"<{tag}>x</{tag}>", tag
    assert sanitise("<marquee>x</marquee>") == "x"


def test_sanitise_html_corpus_only_allowlisted() -> None:
    for content, _, _ in CORPUS:
        source = content.get("formatted_body", "")
        output = sanitise_html(source)
        assert not _allowlist_problems(output), (source, output)
        assert "mx-reply" not in output and "matrix.to" not in output and "matrix:" not in output


def test_sanitise_html_examples() -> None:
    assert sanitise_html('<a href="https://matrix.to/#/@z:s">张三</a>') == "张三"
    assert sanitise_html('<a href="https://a.example/">a</a>') == (
        '<a href="https://a.example/" rel="noopener">a</a>'
    )
    assert sanitise_html('<img src="mxc://s/m" onerror="x">') == '<img src="mxc://s/m">'
    assert sanitise_html('<img src="https://t.example/p.gif">') == ""
    assert sanitise_html('<font color="red;x" data-mx-color="#AbCdEf">c</font>') == (
        '<font data-mx-color="#AbCdEf">c</font>'
    )
    assert sanitise_html('<a href="mxc://s/m">m</a><a href="magnet:?xt=1">g</a>') == (
        'm<a href="magnet:?xt=1" rel="noopener">g</a>'
    )


_TAGS = sorted(ALLOWED_TAGS) + ["script", "iframe", "mx-reply", "svg", "style", "x-y"]
_ATTRS = ["href", "src", "onclick", "style", "class", "color", "data-mx-color", "start", "alt"]
_VALUES = ["javascript:alert(1)", "https://a.example/", "mxc://s/m", "matrix:u/a:b", "#fff",
           "language-js x", "1", '"><script>', "data:text/html,x", "https://matrix.to/#/@a:b"]  # fmt: skip


@st.composite
def _html_soup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(st.sampled_from(_TAGS))
        attrs = draw(
            st.lists(st.tuples(st.sampled_from(_ATTRS), st.sampled_from(_VALUES)), max_size=3)
        )
        rendered = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs)
        parts.append(
            draw(st.sampled_from([f"<{tag}{rendered}>", f"</{tag}>", f"<{tag}{rendered}/>"]))
        )
        parts.append(draw(st.text(max_size=8)))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(_html_soup())
def test_sanitise_html_property_only_allowlisted(source: str) -> None:
    output = sanitise_html(source)
    assert not _allowlist_problems(output), (source, output)
    assert 'href="matrix' not in output and "https://matrix.to" not in output


# --- property: inserted identifiers never leak --------------------------------------------------
_ALPHABET = st.characters(
    codec="utf-8",
    categories=("Lu", "Ll", "Nd", "Zs", "Po", "Lo", "So"),
)
# (text inserted, identifier that must not come out)
INSERTIONS = (
    [(i, i) for i in HIDDEN + [OFFICERS_ROOM, OFFICERS_ALIAS] + EVENTS]
    + [(f"https://matrix.to/#/{m}", m) for m, _ in OFFICERS + CITIZENS]
    + [(f"matrix:u/{m[1:]}", m[1:]) for m, _ in OFFICERS]
    + [(_zw(n), n) for _, n in OFFICERS]
    + [(f"{lp}@{DOMAIN}", f"{lp}@") for lp in LOCALPARTS]
)


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.text(alphabet=_ALPHABET, max_size=12), min_size=1, max_size=6),
    inserted=st.lists(st.sampled_from(INSERTIONS), min_size=1, max_size=5),
    as_html=st.booleans(),
    signed=st.booleans(),
)
def test_property_inserted_identifiers_never_leak(
    pieces: list[str], inserted: list[tuple[str, str]], as_html: bool, signed: bool
) -> None:
    fills = [i for i, _ in inserted] + [""] * len(pieces)
    text = "".join(p + i for p, i in zip(pieces, fills, strict=False))
    content: dict = {"msgtype": "m.text", "body": text}
    if as_html:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = f"<p>{html.escape(text)}</p>"
    signature = SIGNATURE if signed else None
    result = _relay(content, signature)
    dumped = json.dumps(result, ensure_ascii=False)
    present = [i for _, i in inserted if i != signature]
    assert not contains_identifier(dumped, present), (text, dumped)


def test_contains_identifier_sees_through_encodings() -> None:
    assert contains_identifier("x 张\u200b三 y", ["张三"])
    assert contains_identifier("&#x5f20;&#x4e09;", ["张三"])
    assert contains_identifier("%40zhang.san%3Agov.example", ["@zhang.san:gov.example"])
    assert contains_identifier("WANG WU", ["Wang Wu"])
    assert not contains_identifier("张四", ["张三", ""])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_KEYS = ["msgtype", "body", "format", "formatted_body", "url", "info", "filename", "file",
         "m.new_content", "m.relates_to", "m.mentions"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8))
def test_property_hostile_content_never_crashes(content: dict) -> None:
    for result in (_relay(content, SIGNATURE), citizen_to_officer(content)):
        assert set(result) <= RESULT_KEYS
        assert isinstance(result["body"], str)
        json.dumps(result)


def test_the_signature_sits_right_under_the_last_line() -> None:
    plain = officer_to_citizen({"msgtype": "m.text", "body": "您好，已受理。\n\n"},
                               hidden_names=[], domain=DOMAIN, signature="值班员 01")
    assert plain["body"] == "您好，已受理。\n—— 值班员 01"
    html_reply = officer_to_citizen(
        {"msgtype": "m.text", "body": "您好", "format": "org.matrix.custom.html",
         "formatted_body": "<p>您好，已受理。</p>\n"},
        hidden_names=[], domain=DOMAIN, signature="值班员 01")
    assert html_reply["formatted_body"].endswith("<p>您好，已受理。</p><p>—— 值班员 01</p>")
    inline = officer_to_citizen(
        {"msgtype": "m.text", "body": "您好", "format": "org.matrix.custom.html",
         "formatted_body": "<b>您好</b><br>"},
        hidden_names=[], domain=DOMAIN, signature="值班员 01")
    assert inline["formatted_body"].endswith("<b>您好</b><br>—— 值班员 01")


def test_a_matrix_link_in_a_free_text_attribute_goes_too() -> None:
    output = sanitise_html('<img src="mxc://s/m" alt="https://matrix.to/#/@a:b">')
    assert "matrix.to" not in output and "mxc://s/m" in output
