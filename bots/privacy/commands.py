"""The citizen's data commands, recognised here so the consultation and letters bots, which see
the same messages, can leave them alone (and never relay them to officers) without importing
the privacy bot."""

from __future__ import annotations

EXPORT = ("!我的数据", "!mydata")
ERASE = ("!删除我的数据", "!erasemydata")
CONFIRM = ("确认", "confirm")


def data_command(body: str) -> tuple[str, bool] | None:
    """("export" | "erase", confirmed) for a data command, else None."""
    words = body.strip().split()
    if not words:
        return None
    head = words[0].lower().replace("！", "!")
    if head in EXPORT:
        return "export", False
    if head in ERASE:
        return "erase", len(words) > 1 and words[1].lower() in CONFIRM
    return None
