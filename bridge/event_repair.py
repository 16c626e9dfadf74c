"""Repairs an event whose content mautrix cannot read, keeping what can be kept.

A text message whose `m.relates_to` is a string, whose reply target is junk, or whose `info` is
not an object fails deserialisation as a whole; without repair the citizen's text became a dead
letter. Here broken parts are dropped one step at a time, least first, until the event reads;
the content then names what was dropped under DROPPED, so a bot can tell the sender what could
not be passed on. The stored event is left as it came.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

DROPPED = "org.dutyroom.dropped"

Step = Callable[[dict[str, Any]], list[str]]


def _relation(content: dict[str, Any]) -> list[str]:
    rel = content.get("m.relates_to")
    if rel is None:
        return []
    if not isinstance(rel, dict):
        del content["m.relates_to"]
        return ["m.relates_to"]
    dropped = []
    reply = rel.get("m.in_reply_to")
    if reply is not None and not (isinstance(reply, dict) and isinstance(reply.get("event_id"), str)):
        del rel["m.in_reply_to"]
        dropped.append("m.in_reply_to")
    if "event_id" in rel and not isinstance(rel["event_id"], str):
        rel.pop("event_id")
        rel.pop("rel_type", None)
        dropped.append("m.relates_to")
    for key in ("rel_type", "key"):
        if key in rel and not isinstance(rel[key], str):
            del rel[key]
            dropped.append("m.relates_to")
    if not rel:
        del content["m.relates_to"]
    return dropped


def _whole_relation(content: dict[str, Any]) -> list[str]:
    dropped = []
    for key in ("m.relates_to", "m.new_content"):
        if key in content:
            del content[key]
            dropped.append(key)
    return dropped


def _info(content: dict[str, Any]) -> list[str]:
    """A media message's `info` (sizes, thumbnails): without it the media can still be relayed."""
    if "info" in content:
        del content["info"]
        return ["info"]
    return []


def _extras(content: dict[str, Any]) -> list[str]:
    """Everything but the text itself."""
    keep = {"msgtype", "body", "format", "formatted_body", "m.relates_to", "m.new_content"}
    dropped = [k for k in content if k not in keep]
    for key in dropped:
        del content[key]
    return dropped


def _text_only(content: dict[str, Any]) -> list[str]:
    body = content.get("body")
    dropped = [k for k in content if k not in ("msgtype", "body")]
    msgtype = content.get("msgtype")
    content.clear()
    content["msgtype"] = msgtype if msgtype in ("m.text", "m.notice", "m.emote") else "m.text"
    content["body"] = body if isinstance(body, str) else "" if body is None else str(body)
    return dropped


STEPS: tuple[Step, ...] = (_relation, _info, _whole_relation, _extras, _text_only)


def repaired(payload: dict[str, Any], readable: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """A copy of `payload` that `readable` accepts, with DROPPED in its content; None if even the
    bare text is not readable. Only room messages are repaired: their text is what matters;
    another event with broken content stays a dead letter for an administrator."""
    if payload.get("type") != "m.room.message" or not isinstance(payload.get("content"), dict):
        return None
    fixed = copy.deepcopy(payload)
    dropped: list[str] = []
    for step in STEPS:
        dropped += step(fixed["content"])
        if dropped and readable(fixed):
            fixed["content"][DROPPED] = sorted(set(dropped))
            return fixed
    return None
