"""Outbox keys and relations: how a message on one side finds its counterpart on the other.

Every relayed message is queued under a key naming its source event; the outbox later knows
which event each key became, so replies, edits and redactions are mapped through the keys.
"""

from __future__ import annotations

from typing import Any

# What either side can send but is never passed on (the sender is told): re-exported.
from bridge.event_kinds import UNSUPPORTED as UNSUPPORTED
from bridge.outbox_sender import REFERENCE


def key_in(citizen_event: str) -> str:
    """A citizen's message copied into the officers' thread."""
    return f"relay-in/{citizen_event}"


def key_out(officer_event: str) -> str:
    """An officer's message copied to the citizen."""
    return f"relay-out/{officer_event}"


def key_edit(key: str, edit_event: str) -> str:
    """An edit of the message queued under `key` (relay-in or relay-out): named after it, so
    that withdrawing or erasing the message finds its edits (OutboxTable.derived_of)."""
    return f"{key}/edit/{edit_event}"


def source_of(key: str | None, kind: str) -> str | None:
    """The source event of a relay key of the given kind ("relay-in" or "relay-out")."""
    if key and key.startswith(kind + "/"):
        return key.split("/")[1]
    return None


def ref(key: str) -> str:
    return REFERENCE + key


def thread(root_key: str, reply_to: str | None = None) -> dict[str, Any]:
    """A relation into the case's thread, optionally replying to a message in it."""
    return {
        "rel_type": "m.thread",
        "event_id": ref(root_key),
        "is_falling_back": reply_to is None,
        "m.in_reply_to": {"event_id": reply_to or ref(root_key)},
    }


def edit_of(target: str, new_content: dict[str, Any]) -> dict[str, Any]:
    """An m.replace edit whose target may be an outbox reference."""
    body = new_content.get("body", "")
    content: dict[str, Any] = {
        "msgtype": new_content.get("msgtype", "m.text"),
        "body": f"* {body}",
        "m.new_content": new_content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }
    if "formatted_body" in new_content:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = f"* {new_content['formatted_body']}"
    return content


def relation(content: dict[str, Any]) -> dict[str, Any]:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, dict) else {}


def redacted(event: Any) -> str | None:
    """The event a redaction removes (top-level `redacts` before room v11, content after)."""
    target = getattr(event, "redacts", None) or event.content.serialize().get("redacts")
    return target if isinstance(target, str) else None


def replied_to(content: dict[str, Any]) -> str | None:
    reply = relation(content).get("m.in_reply_to")
    if isinstance(reply, dict) and not relation(content).get("is_falling_back"):
        event_id = reply.get("event_id")
        return event_id if isinstance(event_id, str) else None
    return None
