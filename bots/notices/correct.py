"""Correction and recall. An edit replaces every department's copy in place (m.replace, so
clients show the new text where the old one was) and tells the departments that had already
acknowledged; a recall redacts every copy and its attachments and says why in each room.
Both go through the outbox under keys named after the notice and the edit's version, so a
restart neither repeats nor loses one; edits and redactions work in encrypted rooms too (the
outbox encrypts the m.replace; a redaction is never encrypted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.outbox_sender import REDACTION, REFERENCE

from .db import DELIVERING, RECALLED, Notice
from .delivery import copy_key, edit_of

if TYPE_CHECKING:
    from .bot import NoticesBot


class Corrections:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    async def edit(self, notice: Notice, source: str, title: str, body: str) -> int:
        """Apply a correction once per `source` (the command's event); returns its version."""
        step = f"notice/{notice.id}/edit-by/{source}"
        row = await self.ctx.db.fetchval("SELECT at FROM notice_step WHERE key=$1", step)
        version = int(row) if row is not None else notice.version + 1
        if row is None:
            await self.tables.record_step(step, version)
        await self.tables.edit(notice.id, version, title, body)
        fresh = await self.tables.get(notice.id)
        assert fresh is not None
        if fresh.status == DELIVERING:
            await self.bot.delivery.deliver(fresh)
        content = self.bot.delivery.copy_content(fresh)
        receipts = await self.tables.receipts(notice.id)
        t, bot_mxid = self.ctx.messages, self.ctx.config.bot_mxid
        for dept_id, room_id in fresh.copies.items():
            key = f"notice/{notice.id}/edit/{version}/{dept_id}"
            await self.ctx.send(key, room_id, edit_of(copy_key(notice.id, dept_id), content),
                                sender=bot_mxid)
            if dept_id in receipts:
                text = t("notices.edited_tell", ref=fresh.ref, title=fresh.title, version=version)
                await self.ctx.send(f"{key}/tell", room_id, {"msgtype": "m.text", "body": text},
                                    sender=bot_mxid)
        await self.bot.delivery.update_tally(fresh, f"edit-{version}")
        return version

    async def recall(self, notice: Notice, reason: str) -> None:
        await self.tables.set_status(notice.id, RECALLED, reason)
        fresh = await self.tables.get(notice.id)
        assert fresh is not None
        t, bot_mxid = self.ctx.messages, self.ctx.config.bot_mxid
        for dept_id, room_id in fresh.copies.items():
            key = copy_key(notice.id, dept_id)
            targets = [key] + [f"{key}/att/{i}" for i in range(len(fresh.attachments))]
            for target in targets:
                if await self.ctx.outbox.table.state_of(target) is None:
                    continue  # never queued (recalled while its delivery was cut short)
                await self.ctx.outbox.queue(f"{target}/redact", room_id, bot_mxid,
                                            {"redacts": REFERENCE + target, "reason": reason},
                                            REDACTION)
            text = t("notices.recalled_room", ref=fresh.ref, title=fresh.title, reason=reason)
            await self.ctx.send(f"notice/{notice.id}/recall/{dept_id}", room_id,
                                {"msgtype": "m.text", "body": text}, sender=bot_mxid)
        await self.bot.delivery.update_tally(fresh, "recall")
