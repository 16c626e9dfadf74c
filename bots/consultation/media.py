"""Re-uploading images and files, so neither side's media reveals the other side's uploads."""

from __future__ import annotations

from typing import Any

from mautrix.appservice import IntentAPI

MEDIA_TYPES = {"m.image", "m.file", "m.video", "m.audio"}


class MediaTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def human_size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.0f} KB"


async def reupload(
    content: dict[str, Any], reader: IntentAPI, writer: IntentAPI, limit: int
) -> dict[str, Any]:
    """Copy the media of `content` to a new upload by `writer`; other content is returned as is."""
    if content.get("msgtype") not in MEDIA_TYPES or not isinstance(content.get("url"), str):
        return content
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    declared = info.get("size")
    if isinstance(declared, int) and declared > limit:
        raise MediaTooLarge(declared)
    data = await reader.download_media(content["url"])
    if len(data) > limit:
        raise MediaTooLarge(len(data))
    mime = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
    filename = content.get("filename") or content.get("body") or "file"
    url = await writer.upload_media(data, mime_type=mime, filename=str(filename))
    copied = {**content, "url": str(url)}
    copied["info"] = {k: v for k, v in info.items() if k in ("mimetype", "size", "w", "h", "duration")}
    return copied
