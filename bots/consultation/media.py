"""Re-uploading images and files, so neither side's media reveals the other side's uploads."""

from __future__ import annotations

from typing import Any

import aiohttp
from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError

from bridge.context import BotContext
from bridge.crypto.media import clean_file, decrypt_file, encrypt_file

MEDIA_TYPES = {"m.image", "m.file", "m.video", "m.audio"}


class MediaTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class MediaUnavailable(Exception):
    """The media cannot be fetched, now or later (404, a malformed mxc, no URL at all): the
    message goes on without it and the sender is told. Outages still raise to be retried."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name


def media_name(content: dict[str, Any]) -> str:
    name = content.get("filename") or content.get("body")
    return name[:100] if isinstance(name, str) and name else "file"


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
    the copy an encrypted attachment with a new key (bridge/crypto/media.py). Media that can
    never be fetched (no or a malformed mxc:// URL, a 404) raises MediaUnavailable.
    """
    if content.get("msgtype") not in MEDIA_TYPES:
        return content
    file = clean_file(content.get("file"))
    source = file["url"] if file is not None else content.get("url")
    if not isinstance(source, str) or not source.startswith("mxc://"):
        raise MediaUnavailable(media_name(content), "no mxc:// URL")
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    declared = info.get("size")
    if isinstance(declared, int) and declared > limit:
        raise MediaTooLarge(declared)
    data = await download(reader, source, media_name(content))
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


async def download(reader: IntentAPI, url: str, name: str) -> bytes:
    """The media's bytes; MediaUnavailable if the homeserver says it will never have them."""
    try:
        return await reader.download_media(url)
    except aiohttp.ClientResponseError as e:
        if 400 <= e.status < 500 and e.status not in (408, 429):
            raise MediaUnavailable(name, f"{e.status} {e.message}") from e
        raise
    except MatrixRequestError as e:
        if 400 <= e.http_status < 500 and e.http_status not in (408, 429):
            raise MediaUnavailable(name, str(e)) from e
        raise
    except (ValueError, TypeError) as e:  # a malformed mxc:// URL
        raise MediaUnavailable(name, f"bad URL: {e}") from e
