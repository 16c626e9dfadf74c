"""Broken parts of an event are dropped, never the citizen's text; text a database refuses is
cleaned before anything is stored (the inbox on both databases)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mautrix.util.async_db import Database

from bridge.db import InboxTable, upgrade_table
from bridge.event_repair import DROPPED, repaired
from bridge.inbox_processor import _readable, deserialize
from bridge.storable import storable


def message(content: Any, event_type: str = "m.room.message") -> dict[str, Any]:
    return {"event_id": "$e", "room_id": "!r:x", "sender": "@c:x", "type": event_type,
            "origin_server_ts": 1, "content": content}


@pytest.mark.parametrize(("content", "dropped", "kept_relation"), [
    ({"msgtype": "m.text", "body": "文字", "m.relates_to": "junk"}, ["m.relates_to"], None),
    ({"msgtype": "m.text", "body": "文字", "m.relates_to": ["junk"]}, ["m.relates_to"], None),
    ({"msgtype": "m.text", "body": "文字", "m.relates_to": {"m.in_reply_to": "junk"}},
     ["m.in_reply_to"], None),
    ({"msgtype": "m.text", "body": "文字",
      "m.relates_to": {"rel_type": "m.thread", "event_id": "$root", "m.in_reply_to": 5}},
     ["m.in_reply_to"], {"rel_type": "m.thread", "event_id": "$root"}),
    ({"msgtype": "m.text", "body": "文字", "m.new_content": "junk",
      "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}},
     ["m.new_content", "m.relates_to"], None),
    ({"msgtype": "m.image", "body": "文字", "url": "mxc://x/y", "info": "junk"}, ["info"], None),
    ({"msgtype": "m.file", "body": "文字", "url": "mxc://x/y", "info": 5,
      "m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}},
     ["info"], {"m.in_reply_to": {"event_id": "$a"}}),
])
def test_broken_parts_are_dropped_and_named(
    content: dict[str, Any], dropped: list[str], kept_relation: dict[str, Any] | None
) -> None:
    payload = message(content)
    assert not _readable(payload)
    fixed = repaired(payload, _readable)
    assert fixed is not None and fixed["content"][DROPPED] == dropped
    event = deserialize(fixed)
    assert event.content.body == "文字"
    assert event.content.serialize().get("url") == content.get("url")  # media kept
    assert event.content.serialize().get("m.relates_to") == kept_relation
    assert payload["content"] == content  # the stored event is left as it came


def test_only_messages_are_repaired() -> None:
    assert repaired(message({"membership": 5}, "m.room.member"), _readable) is None


def test_storable_removes_what_databases_refuse() -> None:
    raw = json.loads('{"a\\u0000b": ["x\\u0000y", "\\ud800z", 1], "n": {"d": "名\\u0000字"}}')
    assert storable(raw) == {"ab": ["xy", "\ufffdz", 1], "n": {"d": "名字"}}


@pytest.fixture
async def db(database_url: str):
    database = Database.create(database_url, upgrade_table=upgrade_table)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def test_the_inbox_stores_events_with_nul_and_lone_surrogates(db: Database) -> None:
    raw = json.loads('{"event_id": "$n", "room_id": "!r:x", "sender": "@c:x", "type":'
                     ' "m.room.member", "state_key": "@c:x", "content": {"membership": "join",'
                     ' "displayname": "张\\u0000三\\udc80"}}')
    [stored] = await InboxTable(db).store("t", [raw])
    assert stored.payload["content"]["displayname"] == "张三\ufffd"
    [read] = await InboxTable(db).next_pending("!r:x")
    assert read.payload["content"]["displayname"] == "张三\ufffd"
