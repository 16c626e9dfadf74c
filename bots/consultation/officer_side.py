"""The officers' side: thread roots, replies relayed under the department's identity, and the
commands claim, transfer, note and close."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mautrix.types import Event, EventType

from bridge.relay_content import officer_to_citizen

from . import relay
from .commands import OfficerCommands
from .db import OPEN, Case
from .media import MediaTooLarge, is_encrypted, reupload

if TYPE_CHECKING:
    from .bot import ConsultationBot

CLAIM_REACTIONS = {"👍", "👍️"}


def pill(mxid: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(mxid)}">{html.escape(mxid)}</a>'


class OfficerSide:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables
        self.commands = OfficerCommands(self)

    # Posting into the officers' room ----------------------------------------------------------
    async def root_text(self, case: Case, status: str) -> str:
        t, roster = self.ctx.messages, self.ctx.roster
        dept = roster.departments.get(case.dept_id)
        who = await self.bot.citizen_label(case.dept_id, case.citizen)
        if dept is not None and dept.show_citizen_id:
            who += f" ({case.citizen})"
        when = datetime.fromtimestamp(case.opened_at / 1000, roster.timezone).strftime("%Y-%m-%d %H:%M")
        return t("officer.root", ref=case.ref, who=who, time=when, status=status)

    async def show_status(self, case: Case, status: str, key: str) -> None:
        """Edit the thread root so the case list shows where each case stands."""
        text = await self.root_text(case, status)
        new = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        await self.ctx.send(key, case.officers_room, relay.edit_of(relay.ref(case.root_key), new))

    async def post_root(self, case: Case) -> None:
        """The thread root of a case, mentioning the officers on duty now."""
        t, roster = self.ctx.messages, self.ctx.roster
        text = await self.root_text(case, t("officer.status_open"))
        on_duty = [o.mxid for o in roster.on_duty(case.dept_id, self.bot.now())]
        content: dict[str, Any] = self.bot.notice(text)
        if on_duty:
            mentions = t("officer.root_mentions", mentions=", ".join(on_duty))
            content.update(
                body=f"{text}\n{mentions}",
                format="org.matrix.custom.html",
                formatted_body=f"{html.escape(text)}<br>"
                + t("officer.root_mentions", mentions=", ".join(pill(m) for m in on_duty)),
            )
            content["m.mentions"] = {"user_ids": on_duty}
            content["msgtype"] = "m.text"  # notices do not notify
        await self.ctx.send(case.root_key, case.officers_room, content)

    async def thread_notice(self, case: Case, key: str, text: str, mention: list[str] | None = None) -> None:
        content = self.bot.notice(text)
        if mention:
            content["msgtype"] = "m.text"
            content["m.mentions"] = {"user_ids": mention}
        content["m.relates_to"] = relay.thread(case.root_key)
        await self.ctx.send(key, case.officers_room, content)

    async def rated(self, case: Case, rating: int, event_id: str) -> None:
        t = self.ctx.messages
        if rating > 2:
            await self.thread_notice(case, f"{event_id}/rated", t("officer.rated", ref=case.ref, rating=rating))
            return
        await self.tables.set_status(case.id, OPEN)
        dept = self.ctx.roster.departments.get(case.dept_id)
        supervisors = list(dept.supervisors) if dept else []
        text = t("officer.rated_bad", ref=case.ref, rating=rating, mentions=", ".join(supervisors) or "—")
        await self.thread_notice(case, f"{event_id}/rated", text, mention=supervisors)

    # Events from the officers' room -----------------------------------------------------------
    async def handle(self, event: Event, dept_id: str) -> None:
        if event.type == EventType.REACTION:
            await self._reaction(event)
            return
        if event.type == EventType.ROOM_REDACTION:
            await self._redaction(event)
            return
        if event.type == EventType.ROOM_ENCRYPTED:  # only what could not be decrypted
            case = await self._case_of_thread(relay.relation(event.content.serialize()))
            if case is not None:  # the thread relation is outside the ciphertext
                await self.thread_notice(case, f"{event.event_id}/undecryptable",
                                         self.ctx.messages("officer.undecryptable"))
            return
        if event.type != EventType.ROOM_MESSAGE:
            return
        content: dict[str, Any] = event.content.serialize()
        rel = relay.relation(content)
        if rel.get("rel_type") == "m.replace":
            if self._may_answer(event.sender, dept_id):
                await self.handle_edit(event, content)
            return
        case = await self._case_of_thread(rel)
        if case is None:
            return  # officers talking outside a case thread: nothing to relay
        if not self._may_answer(event.sender, case.dept_id):
            name = self.ctx.roster.departments.get(case.dept_id)
            await self.thread_notice(case, f"{event.event_id}/refused", self.ctx.messages(
                "officer.not_officer", dept=name.name if name else case.dept_id))
            return
        body = str(content.get("body", "")).strip()
        if body.startswith("!"):
            await self.commands.run(event, case, body[1:])
            return
        if case.officers_room != event.room_id:
            return  # an old thread of a transferred case
        await self._relay(event, content, case)

    def _may_answer(self, mxid: str, dept_id: str) -> bool:
        dept = self.ctx.roster.departments.get(dept_id)
        return dept is not None and (
            self.ctx.roster.is_officer_of(mxid, dept_id) or mxid in dept.supervisors
        )

    def alias(self, mxid: str, dept_id: str) -> str:
        officer = self.ctx.roster.officer(mxid)
        if officer is not None and dept_id in officer.departments:
            return officer.alias
        return "负责人" if self.ctx.messages.language == "zh" else "Supervisor"

    async def _case_of_thread(self, rel: dict[str, Any]) -> Case | None:
        if rel.get("rel_type") == "m.thread":
            root = rel.get("event_id")
        elif rel.get("rel_type") == "m.replace":
            return None  # edits are handled with their original below
        else:
            return None
        key = await self.ctx.outbox.key_of_event(root) if isinstance(root, str) else None
        if not key or not key.startswith("case/"):
            return None
        return await self.tables.case(int(key.split("/")[1]))

    async def _relay(self, event: Event, content: dict[str, Any], case: Case) -> None:
        signature = self._signature(event.sender, case.dept_id)
        hidden = await self._hidden_names(event.room_id)
        ghost = self.ctx.ghost(case.dept_id)
        safe = officer_to_citizen(content, hidden_names=hidden, domain=self.ctx.config.domain,
                                  signature=signature)
        try:
            safe = await reupload(safe, self.ctx.bot_intent, ghost,
                                  int(self.ctx.config["consultation.max_media_bytes"]),
                                  encrypted=await is_encrypted(self.ctx, case.dm_room, ghost.mxid))
        except MediaTooLarge:
            await self.thread_notice(case, f"{event.event_id}/too-large",
                                     self.ctx.messages("consult.media_too_large", size="", limit=""))
            return
        target = relay.replied_to(content)
        if target is not None:
            source = relay.source_of(await self.ctx.outbox.key_of_event(target), "relay-in")
            if source is not None:
                safe["m.relates_to"] = {"m.in_reply_to": {"event_id": source}}
        await self.ctx.send(relay.key_out(event.event_id), case.dm_room, safe, sender=ghost.mxid)
        if case.first_reply_at is None or case.claimed_by is None or case.status == OPEN:
            await self.tables.first_reply(case.id, self.bot.now_ms(), event.sender)
        await self.tables.log(event.event_id, case.id, "officer_reply", self.bot.now_ms(),
                              actor=self.alias(event.sender, case.dept_id))

    def _signature(self, mxid: str, dept_id: str) -> str | None:
        dept = self.ctx.roster.departments.get(dept_id)
        return self.alias(mxid, dept_id) if dept and dept.sign_replies_with_alias else None

    async def _case_of_relayed(self, officer_event: str) -> Case | None:
        case_id = await self.ctx.db.fetchval(
            "SELECT case_id FROM consult_log WHERE event_id=$1", officer_event
        )
        return await self.tables.case(case_id) if case_id is not None else None

    async def _hidden_names(self, room_id: str) -> list[str]:
        """Everything that could name an officer: IDs, aliases, display names in the room."""
        names: set[str] = set()
        for officer in self.ctx.roster.officers.values():
            names.update((officer.mxid, officer.alias))
        # Straight from the state store's table: mautrix 0.21's get_member_profiles() fails on
        # SQLite (it passes sqlite3.Row to Member.deserialize).
        rows = await self.ctx.db.fetch(
            "SELECT user_id, displayname FROM mx_user_profile WHERE room_id=$1", room_id
        )
        for row in rows:
            names.add(row["user_id"])
            if row["displayname"]:
                names.add(row["displayname"])
        return sorted(n for n in names if n)

    async def _redaction(self, event: Event) -> None:
        target = relay.redacted(event)
        if target is not None:
            await self.ctx.outbox.redact(relay.key_out(target))

    async def handle_edit(self, event: Event, content: dict[str, Any]) -> None:
        rel = relay.relation(content)
        original = rel.get("event_id")
        new = content.get("m.new_content")
        if not isinstance(original, str) or not isinstance(new, dict):
            return
        key = relay.key_out(original)
        target = await self.ctx.outbox.table.target_of(key)
        if target is None:
            return  # the original was a command, a note or never relayed
        room, sender = target
        hidden = await self._hidden_names(event.room_id)
        case = await self._case_of_relayed(original)
        safe = officer_to_citizen(new, hidden_names=hidden, domain=self.ctx.config.domain,
                                  signature=self._signature(event.sender, case.dept_id) if case else None)
        safe.pop("m.relates_to", None)
        await self.ctx.send(relay.key_out(event.event_id), room, relay.edit_of(relay.ref(key), safe),
                            sender=sender)

    async def _reaction(self, event: Event) -> None:
        rel = relay.relation(event.content.serialize())
        if rel.get("key") not in CLAIM_REACTIONS:
            return
        key = await self.ctx.outbox.key_of_event(rel.get("event_id", ""))
        if not key or not key.startswith("case/"):
            return
        case = await self.tables.case(int(key.split("/")[1]))
        if case is not None and self._may_answer(event.sender, case.dept_id):
            await self.commands.claim(event, case)

    async def history_text(self, case: Case) -> str:
        rows = await self.ctx.db.fetch(
            "SELECT content FROM outbox WHERE room_id=$1 AND key LIKE 'relay-in/%' AND"
            " content LIKE $2 ORDER BY seq",
            case.officers_room, f"%{relay.ref(case.root_key)}%",
        )
        lines = [str(json.loads(r["content"]).get("body", "")) for r in rows]
        return "\n".join(lines[-20:]) or "—"
