"""A message too long for one Matrix event goes as several, none refused.

The homeserver refuses an event over 64 KiB (M_TOO_LARGE), measured on its JSON with UTF-8 text
(3 bytes a Chinese character); encrypted, the content is base64 inside the envelope, a third
larger. What the bridge writes can be longer than anything a person could send in one event:
an office's e-mail reply of 10,000 characters, with its HTML, is 65 KB before encryption. Such a
send failed for good and only an administrator heard of it (a dead letter), while the citizen
waited for the answer. So a message over MAX_BYTES first loses its HTML (the words stay), and if
it is still too long its text is cut at line ends into numbered parts, each a message of its own.

An edit of a message sent in parts (or an edit too long for one event) is sent as one edit per
part (`edit_in_parts`): the new text is cut the same way, part i replaces part i, parts the new
text no longer needs say so, and parts it needs beyond the old ones follow as messages.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Content as UTF-8 JSON: 44,000 bytes encrypt to about 59,000, and the event's own fields
# (IDs, hashes, signatures, prev/auth events) leave it under 65,536.
MAX_BYTES = 44_000
TEXT_TYPES = ("m.text", "m.notice", "m.emote")
# What an old part says once an edit made the message shorter (bridge/context.py picks the language).
EMPTIED_PART = {"zh": "（编辑后此部分已无内容）", "en": "(this part is empty after an edit)"}
PART_MARK = re.compile(r"\n\((\d+)/(\d+)\)$")  # how each part's body ends: "\n(2/3)"


def part_key(key: str, n: int) -> str:
    """The outbox key of a message's n-th part (the first keeps the message's own key)."""
    return key if n == 1 else f"{key}/part{n}"


def size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def split_long(content: dict[str, Any], limit: int = MAX_BYTES) -> list[dict[str, Any]]:
    """The content as it is when it fits; else without its HTML; else in parts marked (i/n)."""
    if size(content) <= limit or content.get("msgtype") not in TEXT_TYPES:
        return [content]
    plain = _without_html(content)
    if size(plain) <= limit:
        return [plain]
    if isinstance(plain.get("m.new_content"), dict):
        return [_shorter_edit(plain, limit)]
    body = str(plain.get("body", ""))
    room = limit - size({**plain, "body": ""}) - 32  # the envelope of each part, and its "(i/n)"
    chunks = _chunks(body, max(room, 1024))
    return [{**plain, "body": f"{chunk}\n({i}/{len(chunks)})"} for i, chunk in enumerate(chunks, 1)]


def edit_in_parts(edit: dict[str, Any], old_parts: int, emptied: str,
                  limit: int = MAX_BYTES) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """An m.replace `edit` of a message sent in `old_parts` parts, as (an edit of each old part,
    messages for the parts the new text needs after them); None when a single edit does (one
    old part, and a new text that fits).

    An old part the new text does not reach is edited to `emptied`, not redacted: a later edit
    may need it again, and a redacted event cannot be edited back. The parts' targets are the
    original's part references (`part_key` of its reference), so the edit's target must be a
    reference the outbox resolves."""
    new = edit.get("m.new_content")
    rel = edit.get("m.relates_to")
    if not isinstance(new, dict) or not isinstance(rel, dict):
        return None
    # Each part edit holds its text once in m.new_content and a short fallback body.
    chunks = split_long(new, limit - 1024) if new.get("msgtype") in TEXT_TYPES else [new]
    if old_parts <= 1 and len(chunks) == 1:
        return None
    plain = {k: v for k, v in edit.items() if k not in ("format", "formatted_body")}
    edits = []
    for n in range(1, old_parts + 1):
        chunk = chunks[n - 1] if n <= len(chunks) else {"msgtype": new.get("msgtype", "m.text"),
                                                       "body": emptied}
        body = str(chunk.get("body", ""))
        edits.append({**plain, "body": "* " + (body if len(body) <= 200 else body[:200] + "…"),
                      "m.new_content": chunk,
                      "m.relates_to": {**rel, "event_id": part_key(str(rel.get("event_id")), n)}})
    return edits, chunks[old_parts:]


def _without_html(content: dict[str, Any]) -> dict[str, Any]:
    plain = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
    if isinstance(plain.get("m.new_content"), dict):
        plain["m.new_content"] = _without_html(plain["m.new_content"])
    return plain


def _shorter_edit(edit: dict[str, Any], limit: int) -> dict[str, Any]:
    """An edit cannot be split (each part would replace the whole message): its fallback body,
    which clients that know edits do not show, is cut first, then the new text's end."""
    body = str(edit.get("body", ""))
    edit = {**edit, "body": body[:200] + "…"}
    new = edit["m.new_content"]
    text = str(new.get("body", ""))
    room = limit - size({**edit, "m.new_content": {**new, "body": ""}}) - 8
    if _bytes(text) > room:
        edit["m.new_content"] = {**new, "body": _fit(text, max(room, 1024)) + "…"}
    return edit


def _chunks(text: str, room: int) -> list[str]:
    """Pieces of at most `room` bytes as JSON strings, cut after a line where one ends."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _bytes(line) > room:  # a line longer than a part: cut it by characters
            head = _fit(line, room)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
            line = line[len(head):]
        if current and _bytes(current + line) > room:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces]


def _bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def _fit(text: str, room: int) -> str:
    """The longest start of `text` within `room` bytes (at least one character)."""
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if _bytes(text[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    return text[:low]
