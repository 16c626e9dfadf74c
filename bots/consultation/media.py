"""Re-uploading images and files, so neither side's media reveals the other side's uploads."""

from __future__ import annotations

from typing import Any

from mautrix.appservice import IntentAPI

from bridge.context import BotContext
from bridge.crypto.media import clean_file, decrypt_file, encrypt_file

MEDIA_TYPES = {"m.image", "m.file", "m.video", "m.audio"}


class MediaTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


def human_size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.0f} KB"


async def is_encrypted(ctx: BotContext, room_id: str, sender: str) -> bool:
    """Whether media for this room must be uploaded encrypted."""
    return ctx.encryption is not None and await ctx.encryption.is_encrypted(room_id, sender)


async def reupload(
    content: dict[str, Any], reader: IntentAPI, writer: IntentAPI, limit: int,
    *, encrypted: bool = False,
) -> dict[str, Any]:
    """Copy the media of `content` to a new upload by `writer`; other content is returned as is.

    An encrypted attachment (`file`) is decrypted first; `encrypted` (the target room is) makes
    the copy an encrypted attachment with a new key (bridge/crypto/media.py).
    """
    file = clean_file(content.get("file"))
    source = file["url"] if file is not None else content.get("url")
    if content.get("msgtype") not in MEDIA_TYPES or not isinstance(source, str):
        return content
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    declared = info.get("size")
    if isinstance(declared, int) and declared > limit:
        raise MediaTooLarge(declared)
    data = await reader.download_media(source)
    if len(data) > limit:
        raise MediaTooLarge(len(data))
    if file is not None:
        data = decrypt_file(data, file)
    mime = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
    filename = content.get("filename") or content.get("body") or "file"
    copied = {k: v for k, v in content.items() if k not in ("url", "file")}
    if encrypted:
        ciphertext, new_file = encrypt_file(data)
        url = await writer.upload_media(ciphertext, mime_type="application/octet-stream")
        copied["file"] = {**new_file, "url": str(url)}
    else:
        url = await writer.upload_media(data, mime_type=mime, filename=str(filename))
        copied["url"] = str(url)
    copied["info"] = {k: v for k, v in info.items() if k in ("mimetype", "size", "w", "h", "duration")}
    return copied
