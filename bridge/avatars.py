"""Generated avatars: a department's short name on a colour per category, drawn once, uploaded
once. Without them the directory and every room list were a column of identical placeholders.

Pure drawing (Pillow and a CJK font) plus a table of what was uploaded, keyed by the image's
digest: a warm restart uploads nothing, and a new name makes a new image (issue #14). A machine
without a CJK font gets no avatars, said once in the log, rather than boxes for characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from mautrix.appservice import IntentAPI
from mautrix.util.async_db import Connection, Database, Scheme, UpgradeTable

if TYPE_CHECKING:
    from .context import BotContext
    from .roster import Department

log = logging.getLogger("dutyroom.avatars")

avatar_upgrade_table = UpgradeTable(version_table_name="avatar_version", database_name="avatars")


@avatar_upgrade_table.register(description="Uploaded avatars by digest")
async def upgrade_v1(conn: Connection, scheme: Scheme) -> None:
    await conn.execute("""
        CREATE TABLE avatar_upload (
            digest  TEXT PRIMARY KEY,
            mxc     TEXT NOT NULL
        )
    """)


FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
SIZE = 256
# Colours by a department's category (the roster's `category`), others by a stable hash.
CATEGORY_COLOURS = {
    "组成部门": "#1F5FA8",
    "直属特设机构": "#7A3E9D",
    "直属机构": "#2E7D4F",
    "部门管理机构": "#00838F",
    "直属事业单位": "#A0522D",
}
PALETTE = ("#1F5FA8", "#2E7D4F", "#00838F", "#7A3E9D", "#A0522D", "#C2185B", "#5D4037")
SPACE_COLOUR = "#B71C1C"
BOT_COLOUR = "#37474F"
# Level words at the start of a short name say nothing inside one jurisdiction's list.
LEVEL_PREFIXES = ("浙江省", "省", "市", "区", "县")


def colour_for(category: str) -> str:
    if category in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category]
    return PALETTE[int(hashlib.sha256(category.encode()).hexdigest(), 16) % len(PALETTE)]


def label_for(short_name: str) -> str:
    """At most six characters: 省公安厅 → 公安厅, 省发展改革委 → 发展改革委."""
    label = short_name.strip()
    for prefix in LEVEL_PREFIXES:
        if label.startswith(prefix) and len(label) > len(prefix) + 1:
            label = label[len(prefix):]
            break
    return label[:6]


def find_font(configured: str = "") -> str | None:
    for path in ([configured] if configured else []) + list(FONTS):
        if path and Path(path).is_file():
            return path
    return None


def render(label: str, colour: str, font_path: str) -> bytes:
    """A square PNG: the label in white, on one or two lines, as large as fits."""
    from PIL import Image, ImageDraw, ImageFont  # Pillow costs ~50 ms to import; only here

    lines = [label] if len(label) <= 3 else [label[: (len(label) + 1) // 2],
                                              label[(len(label) + 1) // 2:]]
    image = Image.new("RGB", (SIZE, SIZE), colour)
    draw = ImageDraw.Draw(image)
    longest = max(len(line) for line in lines)
    size = int(min(SIZE * 0.7 / max(longest, 1), SIZE * 0.7 / len(lines) / 1.15))
    font = ImageFont.truetype(font_path, size)
    height = size * 1.15 * len(lines)
    top = (SIZE - height) / 2
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((SIZE - width) / 2, top + i * size * 1.15), line, font=font, fill="#FFFFFF")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


class Avatars:
    """Makes and uploads avatars; each distinct image is uploaded once, ever."""

    def __init__(self, db: Database, *, enabled: bool = True, font: str = "") -> None:
        self.db = db
        self.font = find_font(font) if enabled else None
        self.enabled = enabled
        self._known: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self.uploads = 0  # since start, for tests: a warm restart must leave it at 0
        if enabled and self.font is None:
            log.warning("No CJK font found (tried %s); rooms and accounts get no avatars. "
                        "Install fonts-wqy-microhei or fonts-noto-cjk, or set avatars.font.",
                        ", ".join(FONTS))

    async def generated(self, intent: IntentAPI, label: str, colour: str) -> str | None:
        """The mxc URI of the label on the colour, or None when avatars are off."""
        if self.font is None or not label:
            return None
        digest = hashlib.sha256(f"v1|{label}|{colour}|{SIZE}".encode()).hexdigest()
        return await self._uploaded(intent, digest, lambda: render(label, colour, self.font or ""))

    async def from_file(self, intent: IntentAPI, path: str) -> str | None:
        """A department's own image, named in the roster."""
        if not self.enabled:
            return None
        data = await asyncio.to_thread(Path(path).read_bytes)
        digest = hashlib.sha256(data).hexdigest()
        return await self._uploaded(intent, digest, lambda: data, mime=_mime_of(data))

    async def _uploaded(self, intent: IntentAPI, digest: str, make: object,
                        mime: str = "image/png") -> str:
        if digest in self._known:
            return self._known[digest]
        async with self._lock:  # two rooms with one image upload it once
            found = self._known.get(digest) or await self.db.fetchval(
                "SELECT mxc FROM avatar_upload WHERE digest=$1", digest)
            if found is None:
                data = make()  # type: ignore[operator]
                found = str(await intent.upload_media(data, mime_type=mime,
                                                      filename="avatar." + mime.split("/")[1]))
                await self.db.execute(
                    "INSERT INTO avatar_upload (digest, mxc) VALUES ($1, $2)"
                    " ON CONFLICT (digest) DO NOTHING", digest, found)
                self.uploads += 1
            self._known[digest] = found
            return found


def _mime_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


async def department_avatar(ctx: BotContext, dept: Department) -> str | None:
    """A department's image for its room, its account and its officers' room: its own from the
    roster, or the generated one."""
    if ctx.avatars is None:
        return None
    if dept.avatar:
        return await ctx.avatars.from_file(ctx.bot_intent, dept.avatar)
    return await ctx.avatars.generated(ctx.bot_intent, label_for(dept.short_name or dept.name),
                                       colour_for(dept.category))
