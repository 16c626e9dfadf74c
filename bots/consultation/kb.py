"""Where the knowledge base meets a consultation: officers' `!答`, the thread root's
suggestions, the citizen's out-of-hours suggestions and their number replies.

An entry sent to a citizen takes the path of an officer's reply: the privacy filter
(OfficerSide.for_citizen, bridge/relay_content.py) and the durable outbox under the
department's account, keyed `relay-out/<officer's event>` like any reply, and recorded on the
case log (kind "kb_answer", detail the entry id).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mautrix.types import Event

from bots.knowledge.bot import KnowledgeBot, knowledge_of
from bots.knowledge.db import OPENED, SENT, SUGGESTED_CITIZEN, SUGGESTED_OFFICER
from bots.knowledge.messages import MESSAGES
from bots.knowledge.search import Hit

from . import relay
from .db import OPEN, Case

if TYPE_CHECKING:
    from .bot import ConsultationBot

# A bare number, ASCII or full-width (what a Chinese IME types), and nothing else.
NUMBER = re.compile(r"^\s*([0-9０-９]{1,2})\s*[。.]?\s*$")


def number_of(text: str) -> int | None:
    found = NUMBER.match(text)
    if found is None:
        return None
    return int("".join(chr(ord(c) - 0xFEE0) if c > "9" else c for c in found.group(1)))


def listing(hits: list[Hit]) -> str:
    return "\n".join(f"{n}. {h.entry.title}——{h.entry.excerpt(40)}" for n, h in enumerate(hits, 1))


class ConsultKnowledge:
    """Every hook here is an extra: if the knowledge base fails (a bad index, a bug), the
    consultation goes on without suggestions and the failure is logged, never retried into a
    dead letter of the citizen's message."""

    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.ctx.messages.add(MESSAGES)  # also when the knowledge bot is disabled: no KeyErrors

    @property
    def kb(self) -> KnowledgeBot | None:
        return knowledge_of(self.ctx)

    # Officers ---------------------------------------------------------------------------------
    async def root_suggestions(self, case: Case, question: str | None) -> str:
        try:
            return await self._root_suggestions(case, question)
        except Exception:
            self.ctx.log.exception("Knowledge suggestions for case %s failed", case.id)
            return ""

    async def _root_suggestions(self, case: Case, question: str | None) -> str:
        """The suggestions a new case's thread root lists for the citizen's first message,
        numbered for `!答 <编号>` (kept under root/<case> so the root's later edits keep them)."""
        kb, t = self.kb, self.ctx.messages
        if kb is None:
            return ""
        if question is not None:
            hits = await kb.search(case.dept_id, question)
            ids = [h.entry.id for h in hits]
            if hits:
                await kb.offer(f"case/{case.id}", hits, dept_id=case.dept_id, case_id=case.id,
                               kind=SUGGESTED_OFFICER, key=f"{case.root_key}/kb")
            await kb.tables.offer(f"root/{case.id}", ids, kb.now_ms())
        else:
            ids, _ = await kb.tables.offered(f"root/{case.id}")
        # Numbers stay those of the list `!答 <编号>` reads, even if an entry was removed since.
        numbered = [(n, kb.entry(i)) for n, i in enumerate(ids, 1)]
        # (Only the department's own: a case moved away and back shows them; elsewhere, none.)
        lines = "\n".join(f"{n}. {e.title}" for n, e in numbered
                          if e is not None and kb.belongs(e, case.dept_id))
        if not lines:
            return ""
        return f"\n{t('kb.officer_suggest')}\n{lines}"

    async def command(self, event: Event, case: Case, args: str) -> None:
        """`!答 <词>` searches (shown in the thread: officers only); `!答 <编号>` sends."""
        try:
            await self._command(event, case, args)
        except Exception:
            self.ctx.log.exception("Knowledge command %s failed", event.event_id)
            await self.bot.officers.thread_notice(case, f"{event.event_id}/kb-failed",
                                                  self.ctx.messages("kb.officer_failed"))

    async def _command(self, event: Event, case: Case, args: str) -> None:
        side, t, kb = self.bot.officers, self.ctx.messages, self.kb
        if kb is None or not args:
            await side.thread_notice(case, f"{event.event_id}/kb-usage", t("kb.officer_usage"))
            return
        number = number_of(args)
        if number is not None:
            found = await kb.offered(f"case/{case.id}", number)
            if found and not kb.belongs(found, case.dept_id):
                found = None  # offered before a transfer: not this department's answer
            if found is None:
                await side.thread_notice(case, f"{event.event_id}/kb-bad",
                                         t("kb.officer_bad_number", number=number))
            elif found is False:
                await side.thread_notice(case, f"{event.event_id}/kb-gone", t("kb.officer_gone"))
            else:
                await self.send_entry(event, case, found)
            return
        hits = await kb.search(case.dept_id, args, limit=5, min_score=0.0)
        if not hits:
            await side.thread_notice(case, f"{event.event_id}/kb-none", t("kb.officer_none", query=args))
            return
        await kb.offer(f"case/{case.id}", hits, dept_id=case.dept_id, case_id=case.id,
                       kind=SUGGESTED_OFFICER, key=event.event_id)
        await side.thread_notice(case, f"{event.event_id}/kb-results",
                                 t("kb.officer_results", query=args) + "\n" + listing(hits))

    async def send_entry(self, event: Event, case: Case, entry: Any) -> None:
        side, kb = self.bot.officers, self.kb
        assert kb is not None
        if case.officers_room != event.room_id:
            return  # an old thread of a transferred case, as for replies
        ghost = self.ctx.config.ghost_mxid(case.dept_id)
        content = {"msgtype": "m.text", "body": entry.full_text()}
        # The department's answer: no officer's signature even where replies are signed.
        safe = await side.for_citizen(content, case, event.room_id)
        await self.ctx.send(relay.key_out(event.event_id), case.dm_room, safe, sender=ghost)
        now, alias = self.bot.now_ms(), side.alias(event.sender, case.dept_id)
        if case.first_reply_at is None or case.claimed_by is None or case.status == OPEN:
            await self.bot.tables.first_reply(case.id, now, event.sender)
        await self.bot.tables.log(event.event_id, case.id, "kb_answer", now, actor=alias, detail=entry.id)
        await kb.used(f"{event.event_id}/sent", entry, case.dept_id, case.id, SENT)
        await side.thread_notice(case, f"{event.event_id}/kb-sent",
                                 self.ctx.messages("kb.officer_sent", title=entry.title, alias=alias))

    # Citizens ---------------------------------------------------------------------------------
    async def citizen_suggestions(self, case: Case, question: str, key: str) -> str:
        try:
            return await self._citizen_suggestions(case, question, key)
        except Exception:
            self.ctx.log.exception("Knowledge suggestions for case %s failed", case.id)
            return ""

    async def _citizen_suggestions(self, case: Case, question: str, key: str) -> str:
        """Up to three entries for the out-of-hours or nobody-on-duty reply, numbered for the
        citizen's reply; "" when nothing matches well enough."""
        kb, t = self.kb, self.ctx.messages
        if kb is None:
            return ""
        hits = await kb.search(case.dept_id, question)
        if not hits:
            return ""
        await kb.offer(f"dm/{case.dm_room}", hits, dept_id=case.dept_id, case_id=case.id,
                       kind=SUGGESTED_CITIZEN, key=key)
        lines = "\n".join(f"{n}. {h.entry.title}" for n, h in enumerate(hits, 1))
        return f"\n\n{t('kb.citizen_intro')}\n{lines}\n{t('kb.citizen_howto')}"

    async def citizen_number(self, event: Event, content: dict[str, Any], case: Case) -> dict[str, Any]:
        try:
            return await self._citizen_number(event, content, case)
        except Exception:
            self.ctx.log.exception("Knowledge number reply %s failed", event.event_id)
            return content

    async def _citizen_number(self, event: Event, content: dict[str, Any], case: Case) -> dict[str, Any]:
        """A bare number soon after suggestions opens that entry for the citizen. The message
        still goes on to the officers (returned with a note saying what was sent), so nothing
        the citizen wrote is swallowed if the number was meant for them."""
        kb = self.kb
        number = number_of(str(content.get("body", ""))) if content.get("msgtype") == "m.text" else None
        if kb is None or number is None:
            return content
        hours = float(self.ctx.config.get("knowledge.number_reply_hours", 24) or 24)
        entry = await kb.offered(f"dm/{case.dm_room}", number, within_ms=int(hours * 3_600_000))
        if not entry:
            return content
        dept = self.ctx.roster.departments.get(case.dept_id)
        text = self.ctx.messages("kb.citizen_entry", text=entry.full_text(), dept=dept.name if dept else "")
        await self.ctx.send(f"{event.event_id}/kb-open", case.dm_room, self.bot.say(text),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        await kb.used(f"{event.event_id}/opened", entry, case.dept_id, case.id, OPENED)
        note = self.ctx.messages("kb.citizen_opened_note", number=number, title=entry.title)
        return {**content, "body": f"{content.get('body', '')} {note}"}

    async def rated(self, case: Case, rating: int, event_id: str) -> None:
        if self.kb is None:
            return
        try:
            await self.kb.case_rated(case.id, rating, event_id)
        except Exception:
            self.ctx.log.exception("Counting the rating of case %s for the knowledge base failed", case.id)
