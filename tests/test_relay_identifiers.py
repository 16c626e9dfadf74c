"""The privacy filter against every identifier form the homeserver produces (room IDs with and
without a server part, event IDs of every room version, aliases, user IDs, matrix.to and
matrix: URIs) in every place a citizen sees, and against other citizens' pseudonyms.

Pure unit tests of bridge.relay_content; no homeserver needed. Split from test_relay_content.py,
whose officers, rooms and alphabet they share.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.relay_content import contains_identifier, officer_to_citizen
from tests.test_relay_content import (
    _ALPHABET,
    DOMAIN,
    EVENT_V1,
    EVENT_V4,
    HIDDEN,
    OFFICERS_ALIAS,
    OFFICERS_ROOM,
)

# --- every identifier form the homeserver produces, in every place ------------------------------
# Room version 12 (MSC4291): "!" + 43 url-safe base64 characters, no server part.
ROOM_V12 = "!" + "Kx7vK2mZp9LwR4tYb8NcD1eF6gH3jS5aU0oI2kE7r_-"
EVENT_V3 = "$" + "ab+/Qx7vK2mZp9LwR4tYb8NcD1eF6gH3jS5aU0oI2kE"  # standard base64
STAFF = "@zhao.liu:gov.example"
OTHER_CITIZEN = "@qian.qi:citizen.example"
OWN_LABEL = "市民 #4821"
FOREIGN_LABELS = ["市民 #5216", "市民#5216", "Citizen #5216", "#5216", "市民 ＃５２１６"]
# identifier → substrings that must not come out (besides the identifier itself).
IDENTIFIERS = {
    "room_v12": (ROOM_V12, [ROOM_V12[1:]]),
    "room_v11": (OFFICERS_ROOM, [OFFICERS_ROOM[1:].split(":")[0]]),
    "event_v1": (EVENT_V1, [EVENT_V1[1:].split(":")[0]]),
    "event_v3": (EVENT_V3, [EVENT_V3[1:]]),
    "event_v4": (EVENT_V4, [EVENT_V4[1:]]),
    "alias": (OFFICERS_ALIAS, ["jyt-officers"]),
    "staff": (STAFF, ["zhao.liu"]),
    "citizen": (OTHER_CITIZEN, ["qian.qi"]),
    **{f"label{i}": (label, ["5216", "５２１６"]) for i, label in enumerate(FOREIGN_LABELS)},
}


def _matrix_uri(ident: str) -> str:
    sigil, rest = ident[0], ident[1:]
    if sigil == "@":
        return f"matrix:u/{rest}?action=chat"
    if sigil == "!":
        return f"matrix:roomid/{rest}?via={DOMAIN}"
    if sigil == "$":
        return f"matrix:roomid/{ROOM_V12[1:]}/e/{rest}"
    if sigil == "#" and ":" in ident:
        return f"matrix:r/{rest}"
    return ident


def _h(text: str) -> str:
    return html.escape(text)


# form → content carrying the identifier x, with 前文 and 后文 around it that must survive.
FORMS: dict[str, Any] = {
    "body": lambda x: {"body": f"前文 {x} 后文"},
    "body_glued": lambda x: {"body": f"前文{x}，后文"},
    "html_text": lambda x: {"formatted_body": f"<p>前文 <b>{_h(x)}</b> 后文</p>"},
    "html_split": lambda x: {"formatted_body": f"前文 {_h(x[:3])}<i>{_h(x[3:])}</i> 后文"},
    "link_text": lambda x: {
        "formatted_body": f'<a href="https://www.zj.gov.cn/">{_h(x)}</a> 前文 后文'},
    "href": lambda x: {
        "formatted_body": f'<a href="https://www.zj.gov.cn/s?q={quote(x)}">前文</a> 后文'},
    "attributes": lambda x: {"formatted_body": (
        f'<img src="mxc://{DOMAIN}/AbC" alt="{_h(x)}" title="{_h(x)}">'
        f'<span data-mx-spoiler="{_h(x)}">前文</span> <code data-mx-maths="{_h(x)}">后文</code>')},
    "img_src": lambda x: {"formatted_body": f'<img src="mxc://{DOMAIN}/{quote(x)}">前文 后文'},
    "matrix_to": lambda x: {
        "body": f"前文 https://matrix.to/#/{x}?via={DOMAIN} 后文",
        "formatted_body": f'<a href="https://matrix.to/#/{_h(x)}">{_h(x)}</a> 前文 后文'},
    "matrix_to_encoded": lambda x: {
        "body": f"前文 https://matrix.to/#/{quote(x, safe='')}，后文",
        "formatted_body": f'前文 <a href="https://matrix.to/#/{quote(x, safe="")}">x</a> 后文'},
    "matrix_to_bare": lambda x: {"body": f"前文 matrix.to/#/{x} 后文"},
    "matrix_uri": lambda x: {
        "body": f"前文 {_matrix_uri(x)} 后文",
        "formatted_body": f'前文 <a href="{_h(_matrix_uri(x))}">x</a> 后文'},
    "matrix_uri_encoded": lambda x: {
        "body": f"前文 {quote(_matrix_uri(x), safe=':/?=')} 后文"},
    "percent_encoded": lambda x: {"body": f"前文 {quote(x, safe='')} 后文"},
    "full_width": lambda x: {"body": "前文 " + x.translate(str.maketrans("@!#:$", "＠！＃：＄"))
                             + " 后文"},
}


def _content(form: str, ident: str) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.text", **FORMS[form](ident)}
    if "formatted_body" in content:
        content["format"] = "org.matrix.custom.html"
        content.setdefault("body", "前文 后文")
    return content


def _scrub(content: dict[str, Any]) -> dict[str, Any]:
    return officer_to_citizen(content, hidden_names=[], domain=DOMAIN, staff_ids=[STAFF],
                              own_pseudonym=OWN_LABEL)


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("name", sorted(IDENTIFIERS))
def test_every_identifier_form_is_hidden_and_the_text_kept(name: str, form: str) -> None:
    ident, fragments = IDENTIFIERS[name]
    content = _content(form, ident)
    edit = {"msgtype": "m.text", "body": "* x", "m.new_content": content,
            "m.relates_to": {"rel_type": "m.replace", "event_id": EVENT_V4}}
    for result in (_scrub(content), _scrub(edit)):
        dumped = json.dumps(result, ensure_ascii=False)
        assert not contains_identifier(dumped, [ident, *fragments]), dumped
        for key in ("body", "formatted_body"):
            if key in result:
                visible = html.unescape(result[key])
                assert "前文" in visible and "后文" in visible, (key, result)
        # a citizen is never called staff
        if name not in ("staff",):
            assert "值班人员" not in dumped, dumped


def test_own_pseudonym_stays_and_others_go() -> None:
    content = {
        "msgtype": "m.text",
        "body": f"您（{OWN_LABEL}）的问题与市民 #5216 相同，参见 Citizen #0093",
        "format": "org.matrix.custom.html",
        "formatted_body": f'<b>{OWN_LABEL}</b> 与 市民 <i>#5216</i> <img src="mxc://s/m" alt="#4821 #5216">',
    }
    result = _scrub(content)
    assert result["body"] == "您（市民 #4821）的问题与[已隐去] 相同，参见 [已隐去]"
    assert result["formatted_body"] == (
        '<b>市民 #4821</b> 与 市民 <i>[已隐去]</i> <img src="mxc://s/m" alt="#4821 [已隐去]">')
    # Without a recipient label, every pseudonym goes.
    anonymous = officer_to_citizen(content, hidden_names=[], domain=DOMAIN)
    assert "4821" not in json.dumps(anonymous, ensure_ascii=False)


def test_ordinary_numbers_hashes_and_exclamations_survive() -> None:
    body = ("请于 #1:30 前拨打 12345 热线，市民 可在 2024年 办理；编号 #12345、第3号、"
            "https://www.zj.gov.cn/a#1234 与 https://www.zj.gov.cn/#/list。注意！请携带身份证 "
            "#matrix:matrix.org !ok:2")
    assert _scrub({"msgtype": "m.text", "body": body})["body"] == body


def test_room_id_passed_as_a_name_hides_its_bare_opaque_part() -> None:
    content = {"msgtype": "m.text", "body": f"房间 {ROOM_V12[1:]} 见 https://x.example/{ROOM_V12[1:]}"}
    result = officer_to_citizen(content, hidden_names=[ROOM_V12, ROOM_V12[1:]], domain=DOMAIN)
    assert result["body"] == "房间 [已隐去] 见 [链接已隐去]"


NEW_FORMS = [ROOM_V12, EVENT_V3, "市民 #5216", "Citizen #5216", f"matrix:roomid/{ROOM_V12[1:]}",
             f"https://matrix.to/#/{quote(ROOM_V12, safe='')}", f"matrix.to/#/{OTHER_CITIZEN}"]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.text(alphabet=_ALPHABET, max_size=12), min_size=1, max_size=6),
    inserted=st.lists(st.sampled_from(NEW_FORMS), min_size=1, max_size=4),
    as_html=st.booleans(),
)
def test_property_serverless_ids_and_labels_never_leak(
    pieces: list[str], inserted: list[str], as_html: bool
) -> None:
    text = "".join(p + i for p, i in zip(pieces, inserted + [""] * len(pieces), strict=False))
    content: dict = {"msgtype": "m.text", "body": text + f" {OWN_LABEL}"}
    if as_html:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = f"<p>{html.escape(text)}</p>"
    dumped = json.dumps(_scrub(content), ensure_ascii=False)
    secrets = [ROOM_V12[1:], EVENT_V3[1:], OTHER_CITIZEN]
    assert not contains_identifier(dumped, secrets), (text, dumped)
    # The other citizen's number, as a number: "#52160" (an ID glued to "Citizen #5216" and a
    # "0") is another number, not a leak of 5216.
    assert not re.search(r"[#＃]\s*5216(?!\d)", dumped), (text, dumped)
    assert OWN_LABEL in dumped


HOSTILE = {
    "percent_sigils": "%40" * 20000, "percent_hash": "%23" * 20000 + ":x", "mentions": "@a" * 30000,
    "long_localparts": ("@" + "a" * 250) * 240, "long_aliases": ("#" + "a" * 250) * 240,
    "long_room_ids": ("!" + "a" * 250) * 240, "one_long_hash": "!" + "A" * 60000,
    "labels": "市民 #" * 10000, "links": "matrix.to/" * 6000, "names": "张三" * 30000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_scrubbing_stays_linear_on_hostile_text(name: str) -> None:
    """No quadratic backtracking: 60 KB of sigils and near-identifiers (an event's size limit)
    scrub well under a second (~0.2 s here; the relay scrubs every officer reply)."""
    import time

    hostile = HOSTILE[name]
    started = time.perf_counter()
    officer_to_citizen({"msgtype": "m.text", "body": hostile, "format": "org.matrix.custom.html",
                        "formatted_body": f"<p>{hostile}</p>"},
                       hidden_names=HIDDEN + ["张三"], domain=DOMAIN, staff_ids=[STAFF],
                       own_pseudonym=OWN_LABEL)
    assert time.perf_counter() - started < 1.5
