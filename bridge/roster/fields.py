"""Typed readers for roster values; each reports a located problem and returns None on error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import Reporter
from .source import Node, error, suggest

ID_RE = re.compile(r"[a-z][a-z0-9]{1,15}")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MXID_RE = re.compile(
    r"@[a-z0-9._=\-/+]+:"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
EMAIL_RE = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
RANGE_SPLIT = re.compile(r"\s*[-–—~～]\s*")
DAY = 86400


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (date, datetime)):
        return f"the date {value}"
    return f"{value!r}"


def check_keys(rep: Reporter, node: Node, allowed: Sequence[str],
               required: Sequence[str] = ()) -> dict[str, Node] | None:
    """Unknown keys get a "did you mean"; missing required ones are reported at the mapping."""
    if not isinstance(node.value, dict):
        error(rep, node, f"expected a mapping, got {describe(node.value)}")
        return None
    out: dict[str, Node] = {}
    for key in node.value:
        line, col = node.key_pos(key)
        if not isinstance(key, str) or key not in allowed:
            hint = suggest(key, allowed) if isinstance(key, str) else ""
            rep.add(node.file, line, col, node.sub(str(key)),
                    f"unknown field{hint}; allowed: {', '.join(allowed)}")
            continue
        out[key] = node.child(key)
    for key in required:
        if key not in out:
            error(rep, node, "missing required field", node.sub(key))
    return out


def get_list(rep: Reporter, node: Node, *, allow_empty: bool = False) -> list[Node] | None:
    if not isinstance(node.value, list):
        error(rep, node, f"expected a list, got {describe(node.value)}")
        return None
    if not node.value and not allow_empty:
        error(rep, node, "must not be empty")
        return None
    return list(node.items())


def get_str(rep: Reporter, node: Node, *, max_len: int = 200) -> str | None:
    value = node.value
    if value is None or (isinstance(value, str) and not value.strip()):
        error(rep, node, "must not be empty")
        return None
    if not isinstance(value, str):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        hint = '; quote it, e.g. "01"' if number else ""
        error(rep, node, f"expected text, got {describe(value)}{hint}")
        return None
    if len(value) > max_len:
        error(rep, node, f"too long ({len(value)} characters, at most {max_len})")
        return None
    return str(value).strip()


def get_bool(rep: Reporter, node: Node) -> bool | None:
    if not isinstance(node.value, bool):
        error(rep, node, f"expected true or false, got {describe(node.value)}")
        return None
    return node.value


def get_id(rep: Reporter, node: Node, what: str, reserved: Sequence[str] = ()) -> str | None:
    value = get_str(rep, node)
    if value is None:
        return None
    if not ID_RE.fullmatch(value):
        error(rep, node, f"{what} id {value!r} must be 2-16 lowercase letters or digits, "
                         "starting with a letter")
        return None
    if value in reserved:
        error(rep, node, f"{what} id {value!r} is reserved")
        return None
    return value


def get_name(rep: Reporter, node: Node, what: str) -> str | None:
    value = get_str(rep, node)
    if value is not None and not NAME_RE.fullmatch(value):
        error(rep, node, f"{what} name {value!r} must be lowercase letters, digits, '_' or '-'")
        return None
    return value


def get_mxid(rep: Reporter, node: Node) -> str | None:
    value = get_str(rep, node, max_len=255)
    if value is not None and not MXID_RE.fullmatch(value):
        error(rep, node, f"{value!r} is not a Matrix user ID like \"@zhang:example.org\" "
                         "(lowercase localpart)")
        return None
    return value


AVATAR_MAX_BYTES = 1024 * 1024
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def get_image_path(rep: Reporter, node: Node) -> str | None:
    """An image file (PNG or JPEG, at most 1 MiB) named relative to the roster file."""
    value = get_str(rep, node, max_len=500)
    if value is None:
        return None
    path = (Path(node.file).parent / value).resolve()
    try:
        data = path.read_bytes()
    except OSError as exc:
        error(rep, node, f"cannot read image {value!r} ({path}): {exc.strerror or exc}")
        return None
    if len(data) > AVATAR_MAX_BYTES:
        error(rep, node, f"image {value!r} is {len(data)} bytes, at most {AVATAR_MAX_BYTES}")
        return None
    if not data.startswith(IMAGE_MAGIC):
        error(rep, node, f"{value!r} is not a PNG or JPEG image")
        return None
    return str(path)


def get_email(rep: Reporter, node: Node) -> str | None:
    value = get_str(rep, node, max_len=254)
    if value is not None and not EMAIL_RE.fullmatch(value):
        error(rep, node, f"{value!r} is not an e-mail address like name@example.gov.cn")
        return None
    return value


def get_date(rep: Reporter, node: Node) -> date | None:
    value = node.value
    if isinstance(value, datetime):
        error(rep, node, f"expected a date like 2026-10-01, got a date and time {value}")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    error(rep, node, f"expected a date like 2026-10-01, got {describe(value)}")
    return None


def get_dates(rep: Reporter, node: Node) -> list[tuple[date, Node]] | None:
    """A list of dates; an item may be a range "2026-10-01..2026-10-07" (both ends included)."""
    items = get_list(rep, node, allow_empty=True)
    if items is None:
        return None
    out: list[tuple[date, Node]] = []
    for item in items:
        if isinstance(item.value, str) and ".." in item.value:
            first, _, last = item.value.partition("..")
            a = get_date(rep, Node(first, item.file, item.path, item.line, item.col))
            b = get_date(rep, Node(last, item.file, item.path, item.line, item.col))
            if a is None or b is None:
                continue
            if b < a:
                error(rep, item, f"range {item.value!r} ends before it starts")
                continue
            out.extend((a + timedelta(days=i), item) for i in range((b - a).days + 1))
        else:
            day = get_date(rep, item)
            if day is not None:
                out.append((day, item))
    return out


def parse_time(text: str, *, allow_24: bool) -> int | None:
    """Seconds since midnight for "HH:MM"; "24:00" only where a period may end at midnight."""
    match = TIME_RE.fullmatch(text)
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2])
    if minute > 59 or hour > 24 or (hour == 24 and (minute or not allow_24)):
        return None
    return hour * 3600 + minute * 60


def get_period(rep: Reporter, node: Node, *, crossing: bool) -> tuple[int, int] | None:
    """"08:30-12:00" as seconds of day. With crossing, an end before the start means the period
    runs past midnight, and the returned end is then greater than 86400."""
    value = get_str(rep, node)
    if value is None:
        return None
    parts = RANGE_SPLIT.split(value)
    if len(parts) != 2:
        error(rep, node, f"expected a time range like \"08:30-12:00\", got {value!r}")
        return None
    start = parse_time(parts[0], allow_24=False)
    end = parse_time(parts[1], allow_24=True)
    for text, parsed in ((parts[0], start), (parts[1], end)):
        if parsed is None:
            error(rep, node, f"{text!r} is not a time of day (00:00 to 23:59, or 24:00 as an end)")
            return None
    assert start is not None and end is not None
    if end == start:
        error(rep, node, f"{value!r} is empty; use \"00:00-24:00\" for a whole day")
        return None
    if end < start:
        if not crossing:
            error(rep, node, f"{value!r} ends before it starts; working hours cannot cross "
                             "midnight, split them into \"22:00-24:00\" and \"00:00-06:00\"")
            return None
        end += DAY
    return start, end
