"""Small pure helpers of the letter flow: deadlines, phone numbers, masking, office markers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from .db import FINISHED, REPLIED, TRANSFERRED

_PHONE_CHARS = re.compile(r"\+?[0-9 ()\-]{5,24}\Z")
# Offices' mail clients prefix reply subjects; the marker counts after these.
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|答复|回复|转发)\s*[:：]\s*)+", re.I)
MARKERS = {"【转办】": TRANSFERRED, "【办结】": FINISHED}


def add_working_days(start: date, days: int, is_working_day: Callable[[date], bool]) -> date:
    """The `days`-th working day after `start` (the day of submission does not count)."""
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        counted += is_working_day(current)
    return current


def normalise_phone(text: str) -> str | None:
    """Loose on purpose: landlines, mobiles and +86 all pass; 7–15 digits, no letters."""
    text = text.strip().replace("－", "-").replace("（", "(").replace("）", ")")
    digits = re.sub(r"\D", "", text)
    if not _PHONE_CHARS.match(text) or not 7 <= len(digits) <= 15:
        return None
    return text


def mask_name(name: str) -> str:
    """张三 → 张**: only the first character, and always two stars so the length is hidden."""
    return name.strip()[:1] + "**" if name.strip() else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; short numbers keep only their last two digits."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:]


def office_status(subject: str, text: str) -> str:
    """【转办】 / 【办结】 at the start of a reply's subject or body set the status."""
    for candidate in (_REPLY_PREFIX.sub("", subject).strip(), text.strip()):
        for marker, status in MARKERS.items():
            if candidate.startswith(marker):
                return status
    return REPLIED
