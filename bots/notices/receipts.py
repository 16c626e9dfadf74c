"""Receipts (回执) in an officers' room: `!回执` / `!ack` (with attendees' names for a meeting:
`!回执 张三 李四`), or a ✅ reaction on the copy. Any officer or supervisor of the department
acknowledges for it; the sender's tally is edited once per receipt that changed something."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mautrix.types import Event, EventType

from .db import RECALLED, Notice, parse_ref

if TYPE_CHECKING:
    from .bot import NoticesBot

ACK_WORDS = {"回执", "ack", "收到", "已阅"}
ACK_REACTIONS = {"✅", "✅️", "✔️", "☑️", "👌"}
_COPY_KEY = re.compile(r"^notice/(\d+)/copy/([^/]+)$")


class Receipts:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    @staticmethod
    def is_ack(body: str) -> bool:
        word = body.strip().split(maxsplit=1)[0].lower() if body.strip() else ""
        return word.startswith("!") and word[1:] in ACK_WORDS

    def looks_like(self, event: Event) -> bool:
        """A receipt if it is in an officers' room (cheap: no query)."""
        content = event.content.serialize()
        if event.type == EventType.REACTION:
            return (content.get("m.relates_to") or {}).get("key") in ACK_REACTIONS
        return event.type == EventType.ROOM_MESSAGE and self.is_ack(
            strip_reply_fallback(str(content.get("body", ""))))

    async def handle(self, event: Event, dept_id: str) -> None:
        """An event in `dept_id`'s officers' room: a receipt, or nothing for us."""
        content: dict[str, Any] = event.content.serialize()
        if event.type == EventType.REACTION:
            rel = content.get("m.relates_to") or {}
            if rel.get("key") not in ACK_REACTIONS:
                return
            notice = await self._copy_target(rel.get("event_id"), dept_id)
            if notice is not None:
                await self._acknowledge(event, notice, dept_id, [])
            return
        if event.type != EventType.ROOM_MESSAGE:
            return
        body = strip_reply_fallback(str(content.get("body", "")))
        if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace" or not self.is_ack(body):
            return
        args = body.split()[1:]
        notice = None
        reply_to = ((content.get("m.relates_to") or {}).get("m.in_reply_to") or {}).get("event_id")
        if reply_to:
            notice = await self._copy_target(reply_to, dept_id)
        if notice is None and args and parse_ref(args[0]) is not None:
            found = await self.tables.get(parse_ref(args[0]) or 0)
            if found is not None and dept_id in found.copies:
                notice, args = found, args[1:]
        if notice is None:
            notice = await self.tables.latest_open_in(event.room_id)
        if notice is None or dept_id not in notice.copies:
            await self.bot.reply(event, "notices.ack_nothing")
            return
        await self._acknowledge(event, notice, dept_id, [a.strip("，,、") for a in args if a.strip("，,、")])

    async def _copy_target(self, event_id: Any, dept_id: str) -> Notice | None:
        if not isinstance(event_id, str):
            return None
        key = await self.ctx.outbox.key_of_event(event_id)
        found = _COPY_KEY.match(key or "")
        if found is None or found.group(2) != dept_id:
            return None
        return await self.tables.get(int(found.group(1)))

    async def _acknowledge(self, event: Event, notice: Notice, dept_id: str,
                           attendees: list[str]) -> None:
        dept = self.ctx.roster.departments.get(dept_id)
        if dept is None or not (self.ctx.roster.is_officer_of(event.sender, dept_id)
                                or event.sender in dept.supervisors):
            await self.bot.reply(event, "notices.ack_not_officer",
                                 dept=self.bot.delivery.dept_name(dept_id))
            return
        if notice.status == RECALLED:
            await self.bot.reply(event, "notices.ack_recalled", ref=notice.ref)
            return
        changed = await self.tables.acknowledge(notice.id, dept_id, event.sender,
                                                self.bot.now_ms(), attendees, event.event_id)
        receipt = (await self.tables.receipts(notice.id)).get(dept_id)
        names = "、".join(receipt.attendees) if receipt else ""
        if not changed and receipt is not None and receipt.event_id != event.event_id:
            await self.bot.reply(event, "notices.ack_already", ref=notice.ref)
            return
        key = "notices.ack_done_attendees" if names else "notices.ack_done"
        await self.bot.reply(event, key, ref=notice.ref, dept=self.bot.delivery.dept_name(dept_id),
                             names=names)
        await self.bot.delivery.update_tally(notice, event.event_id)



def strip_reply_fallback(body: str) -> str:
    """An older client's reply starts with the quoted original ("> <@bot:…> …") and a blank line."""
    lines = body.strip().split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()
