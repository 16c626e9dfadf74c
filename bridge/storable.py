"""Text a database accepts: NUL and lone surrogates are removed from every string of an event.

PostgreSQL refuses \\x00 in TEXT, and neither database (nor UTF-8) can hold a lone surrogate,
which JSON's "\\ud800" escape produces. One such character anywhere in an event (a display name,
a body, a key) made every write of it fail, so the event became a dead letter and the citizen's
text was lost. The inbox stores events through this, so every later write (the state store, the
bots' tables) sees clean text; nothing else about the event changes.
"""

from __future__ import annotations

import re
from typing import Any

_REFUSED = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return _REFUSED.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(value: Any) -> Any:
    """`value` with refused characters removed from every string in it (keys too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value
