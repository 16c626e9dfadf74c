"""`!通知 …` in a DM with the notices account: status, export, correction, recall.

Every command about an existing notice needs the right to send to every jurisdiction it went
to (bots/notices/scope.py): an officer of another city gets a clear refusal, and a citizen or an
officer who is not a sender learns only that they may not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .db import RECALLED, Notice, parse_ref
from .export import as_csv, as_xlsx, rows
from .scope import covers, jurisdictions_of, sender_scope

if TYPE_CHECKING:
    from .bot import NoticesBot

PREFIXES = ("!通知", "!notice")
NAMES = {"状态": "status", "status": "status", "导出": "export", "export": "export",
         "更正": "edit", "修改": "edit", "edit": "edit", "撤回": "recall", "recall": "recall",
         "帮助": "help", "help": "help", "新建": "new", "new": "new"}


def is_command(body: str) -> bool:
    first = body.strip().split(maxsplit=1)[0].lower() if body.strip() else ""
    return first in PREFIXES


class Commands:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    def t(self, key: str, **fields: Any) -> str:
        return self.ctx.messages(key, **fields)

    async def run(self, room_id: str, sender: str, event_id: str, body: str) -> list[str]:
        first_line, _, rest = body.strip().partition("\n")
        words = first_line.split()[1:]
        name = NAMES.get(words[0].lower()) if words else "help"
        if name in (None, "help"):
            return [self.t("notices.help")]
        if name == "new":
            return []  # the dialogue takes it
        scope = sender_scope(self.ctx.config, self.ctx.roster, sender)
        if not scope:
            return [self.t("notices.not_sender")]
        if len(words) < 2 or parse_ref(words[1]) is None:
            return [self.t(f"notices.usage_{name}")]
        ref = words[1]
        notice = await self.tables.get(parse_ref(ref) or 0)
        if notice is None:
            return [self.t("notices.not_found", ref=ref)]
        if not covers(scope, jurisdictions_of(self.ctx.roster, notice.copies)):
            return [self.t("notices.out_of_scope", ref=notice.ref)]
        if name == "status":
            return [await self._status(notice)]
        if name == "export":
            await self._export(room_id, event_id, notice)
            return []
        if notice.status == RECALLED:
            return [self.t("notices.already_recalled", ref=notice.ref)]
        if name == "recall":
            reason = " ".join(words[2:]).strip() or rest.strip()
            if not reason:
                return [self.t("notices.usage_recall")]
            await self.bot.corrections.recall(notice, reason)
            return [self.t("notices.recalled", ref=notice.ref, count=len(notice.copies))]
        # edit: the new body is everything after the first line; "标题：…" first changes the title
        title, text = notice.title, rest.strip()
        head, _, tail = text.partition("\n")
        for mark in ("标题：", "标题:", "title:"):
            if head.startswith(mark):
                title, text = head[len(mark):].strip() or title, tail.strip()
        if not text:
            return [self.t("notices.usage_edit")]
        version = await self.bot.corrections.edit(notice, event_id, title, text)
        return [self.t("notices.edited", ref=notice.ref, version=version, count=len(notice.copies))]

    async def _status(self, notice: Notice) -> str:
        return self.bot.delivery.tally_text(notice, await self.tables.receipts(notice.id))

    async def _export(self, room_id: str, event_id: str, notice: Notice) -> None:
        table = rows(self.bot.delivery, notice, await self.tables.receipts(notice.id))
        intent = self.ctx.intent(self.bot.mxid)
        files = [(f"{notice.ref}-回执.xlsx", as_xlsx(table, notice.ref),
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 (f"{notice.ref}-回执.csv", as_csv(table), "text/csv")]
        for i, (name, data, mime) in enumerate(files):
            key = f"{event_id}/notices/export/{i}"
            if await self.ctx.outbox.table.state_of(key) is not None:
                continue  # handled before a crash: uploaded and queued already
            url = await intent.upload_media(data, mime_type=mime, filename=name)
            content = {"msgtype": "m.file", "body": name, "url": str(url),
                       "info": {"mimetype": mime, "size": len(data)}}
            await self.ctx.send(key, room_id, content, sender=self.bot.mxid)
