"""The citizen's side: greeting, cases opened and re-opened, messages relayed into the thread,
edits and redactions followed, ratings taken."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from mautrix.types import Event, EventType, StateEvent

from bots.privacy.commands import data_command
from bridge.relay_content import citizen_to_officer

from . import relay
from .db import CLOSED, Case
from .hints import better_elsewhere
from .media import (
    MEDIA_TYPES,
    MediaTooLarge,
    MediaUnavailable,
    human_size,
    is_encrypted,
    media_name,
    reupload,
)

if TYPE_CHECKING:
    from .bot import ConsultationBot

RATINGS = {str(n): n for n in range(1, 6)} | {chr(0xFF10 + n): n for n in range(1, 6)}
BAD_RATING = 2


class CitizenSide:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    async def invited(self, event: StateEvent, dept_id: str) -> None:
        """The directory bot has joined the ghost; record the DM and greet the citizen once."""
        ghost = self.ctx.ghost(dept_id)
        members = await ghost.get_joined_members(event.room_id)
        # The bridge bot joins encrypted DMs for its encryption device (bridge/crypto).
        others = [m for m in members if m not in (ghost.mxid, event.sender, self.ctx.config.bot_mxid)]
        dept = self.ctx.roster.departments[dept_id]
        t = self.ctx.messages
        if others:
            await self.ctx.refuse_and_leave(
                event.room_id, self.bot.say(t("consult.group_refused", name=dept.name)),
                sender=ghost.mxid)
            return
        await self.tables.add_dm(event.room_id, event.sender, dept_id)
        greeting = t(
            "consult.greeting", name=dept.name, description=dept.description,
            hours=self.ctx.roster.hours_text(dept_id, t.language), now=self.bot.now_text(dept_id),
        )
        await self.ctx.send(f"{event.event_id}/greeting", event.room_id,
                            self.bot.say(greeting), sender=ghost.mxid)
        if self.ctx.encryption is None and await self.bot.is_encrypted(event.room_id, dept_id):
            await self.ctx.send(f"{event.event_id}/encrypted", event.room_id,
                                self.bot.say(t("consult.encrypted", name=dept.name)),
                                sender=ghost.mxid)

    async def handle(self, event: Event, citizen: str, dept_id: str) -> None:
        if event.sender != citizen:
            return  # only the citizen's own messages count; anything else is never relayed
        ghost = self.ctx.config.ghost_mxid(dept_id)
        if event.type == EventType.ROOM_ENCRYPTED:
            name = self.ctx.roster.departments[dept_id].name if dept_id in self.ctx.roster.departments else ""
            # With encryption on, only what could not be decrypted arrives here still encrypted.
            key = "consult.encrypted" if self.ctx.encryption is None else "consult.undecryptable"
            await self.ctx.send(f"{event.event_id}/encrypted", event.room_id,
                                self.bot.say(self.ctx.messages(key, name=name)), sender=ghost)
            return
        if event.type == EventType.ROOM_REDACTION:
            await self._redaction(event)
            return
        if event.type in relay.UNSUPPORTED:  # Element offers polls (and stickers) in any chat
            t = self.ctx.messages
            await self.ctx.send(f"{event.event_id}/unsupported", event.room_id, self.bot.say(
                t("consult.unsupported", kind=t(f"consult.kind_{relay.UNSUPPORTED[event.type]}"))),
                sender=ghost)
            return
        if event.type != EventType.ROOM_MESSAGE:
            return  # reactions and the like stay with the citizen
        content: dict[str, Any] = event.content.serialize()
        rel = relay.relation(content)
        if rel.get("rel_type") == "m.replace":
            await self._edit(event, content, rel, citizen, dept_id)
            return
        if data_command(str(content.get("body", ""))) is not None:
            return  # the citizen's own data: the privacy bot answers, nothing goes to officers
        case = await self.tables.latest_case(event.room_id)
        if await self._blocked(event, content, case, dept_id, citizen):
            return
        if case is not None and await self._rating(event, content, case):
            return
        if self._serving(case, dept_id) not in self.ctx.roster.departments:
            # Taken off the roster (merged, closed) while this chat stayed: nobody would read
            # it there (the administrators heard of its open cases when the roster changed).
            await self.ctx.send(f"{event.event_id}/department-gone", event.room_id,
                                self.bot.say(self.ctx.messages("consult.department_gone")), sender=ghost)
            return
        case = await self._case_for(event, case, citizen, dept_id)
        if await self.bot.attention.wants_email(case, str(content.get("body", "")), event.event_id):
            return
        if case.waiting:  # a bare number after out-of-hours suggestions opens that entry
            content = await self.bot.kb.citizen_number(event, content, case)
        if not self.bot.off_hours.is_open(case.dept_id):  # a transferred case: where it is now
            await self.bot.off_hours.auto_reply(case, content)
            if not case.waiting:
                await self.tables.hold(case.id, case.attention_since or self.bot.now_ms())
        await self._relay(event, content, case)

    async def _blocked(self, event: Event, content: dict[str, Any], case: Case | None,
                       dept_id: str, citizen: str) -> bool:
        """A citizen blocked from this DM's department, or from the department its case is
        with now, has the message kept and is reminded of the block; nothing is relayed."""
        guard = self.bot.guard
        for dept in dict.fromkeys([dept_id] + ([case.dept_id] if case is not None else [])):
            block = await guard.active_block(dept, citizen)
            if block is not None:
                await guard.keep_blocked(event.event_id, case, dept, event.room_id, block, content)
                return True
        return False

    def _reopens(self, case: Case) -> bool:
        """A message in this chat now goes on in `case` (open, or closed within the quiet period)."""
        quiet_ms = int(self.ctx.config["consultation.quiet_period_minutes"]) * 60_000
        return case.status != CLOSED or self.bot.now_ms() - (case.closed_at or 0) <= quiet_ms

    def _serving(self, case: Case | None, dept_id: str) -> str:
        """The department a message in this chat goes to: its case's (a transfer moved it), or
        the chat's for a new case."""
        return case.dept_id if case is not None and self._reopens(case) else dept_id

    async def _case_for(self, event: Event, case: Case | None, citizen: str, dept_id: str) -> Case:
        if case is not None and case.status != CLOSED:
            if case.reopened_by == event.event_id:  # handled again after a crash mid-reopen
                return await self._announce_reopen(event, case)
            return case
        if case is not None and self._reopens(case):
            await self.tables.reopen(case.id, event.event_id)
            return await self._announce_reopen(event, await self.tables.case(case.id) or case)
        room = await self.bot.officers_room(dept_id)
        if room is None:
            self.ctx.log.error("No officers' room for %s; message %s waits", dept_id, event.event_id)
            raise RuntimeError(f"officers' room of {dept_id} not ready")
        day = self.bot.now().astimezone(self.ctx.roster.timezone).strftime("%Y%m%d")
        case = await self.tables.open_case(
            event_id=event.event_id, dept_id=dept_id, citizen=citizen, dm_room=event.room_id,
            officers_room=room, now_ms=self.bot.now_ms(), day=day,
        )
        await self.tables.log(f"{event.event_id}/opened", case.id, "opened", self.bot.now_ms())
        if not self.bot.off_hours.is_open(dept_id):
            await self.tables.hold(case.id, None)  # a leave-message: officers get it at opening
            return await self.tables.case(case.id) or case
        await self.tables.attend_from(case.id, self.bot.now_ms())
        await self.bot.officers.post_root(case, str(event.content.serialize().get("body", "")),
                                          quiet=await self.bot.guard.too_many_cases(case))
        ack = self.ctx.messages("consult.opened", ref=case.ref)
        await self.ctx.send(f"{event.event_id}/ack", event.room_id, self.bot.say(ack),
                            sender=self.ctx.config.ghost_mxid(dept_id))
        await self._hint(event, dept_id)
        return case

    async def _hint(self, event: Event, dept_id: str) -> None:
        """The first question fits another department (or level) clearly better: say which."""
        question = str(event.content.serialize().get("body", ""))
        elsewhere = better_elsewhere(self.ctx.roster, question, dept_id)
        if not elsewhere:
            return
        names = "、".join(f"{d.name}（{self.ctx.config.ghost_mxid(d.id)}）" for d in elsewhere)
        await self.ctx.send(f"{event.event_id}/hint", event.room_id,
                            self.bot.say(self.ctx.messages("consult.hint_elsewhere", names=names)),
                            sender=self.ctx.config.ghost_mxid(dept_id))

    async def _announce_reopen(self, event: Event, case: Case) -> Case:
        """A reopened case is as visible as a new one: the citizen is told which case continues,
        and the officers on duty see the root's new status and are mentioned in the thread. Out
        of hours the case waits as a leave-message, and the mention comes at the next opening
        (the backlog's post_root). Every send is keyed by the reopening message, so handling it
        again sends nothing twice."""
        t, now_ms = self.ctx.messages, self.bot.now_ms()
        await self.tables.log(f"{event.event_id}/reopened", case.id, "reopened", now_ms)
        is_open = self.bot.off_hours.is_open(case.dept_id)
        text = t("consult.reopened" if is_open else "consult.reopened_off_hours", ref=case.ref)
        await self.ctx.send(f"{event.event_id}/reopened", event.room_id, self.bot.say(text),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        if not is_open:
            if not case.waiting:
                await self.tables.hold(case.id, None)
                case = await self.tables.case(case.id) or case
            await self.bot.officers.show_status(case, t("officer.status_reopened"),
                                                f"{event.event_id}/root-status")
            return case
        await self.tables.attend_from(case.id, now_ms)
        await self.bot.officers.reopened(case, event.event_id)
        return case

    async def _rating(self, event: Event, content: dict[str, Any], case: Case) -> bool:
        """A number after a close is its rating: the first after each close (a retried event's
        too), so a case reopened or reworked after a bad rating is rated again when closed again.
        Any other message, or a second number, is a message (it reopens the case)."""
        body = str(content.get("body", "")).strip()
        if body not in RATINGS:
            return False
        # Handled again after a crash (logged first, below): finished, whatever it changed.
        retried = await self.tables.logged_as(event.event_id) == "rated"
        if not retried and (case.status != CLOSED or case.rated_at is not None):
            return False
        rating, t = RATINGS[body], self.ctx.messages
        await self.tables.log(event.event_id, case.id, "rated", self.bot.now_ms(), detail=str(rating))
        await self.tables.rate(case.id, rating, self.bot.now_ms())
        ghost = self.ctx.config.ghost_mxid(case.dept_id)
        key = "consult.rated_bad_citizen" if rating <= BAD_RATING else "consult.rated_citizen"
        await self.ctx.send(f"{event.event_id}/thanks", event.room_id,
                            self.bot.notice(t(key, rating=rating)), sender=ghost)
        await self.bot.officers.rated(case, rating, event.event_id)
        await self.bot.kb.rated(case, rating, event.event_id)
        return True

    async def _relay(self, event: Event, content: dict[str, Any], case: Case) -> None:
        reply_to = None
        target = relay.replied_to(content)
        if target is not None:
            reply_to = relay.source_of(await self.ctx.outbox.key_of_event(target), "relay-out")
        safe = citizen_to_officer(content)
        try:
            safe = await reupload(safe, self.ctx.bot_intent, self.ctx.bot_intent,
                                  int(self.ctx.config["consultation.max_media_bytes"]),
                                  encrypted=await is_encrypted(self.ctx, case.officers_room,
                                                               self.ctx.config.bot_mxid))
        except MediaTooLarge as e:
            await self._too_large(event, case, e.size)
            return
        except MediaUnavailable as e:  # the officers get a note in its place, the citizen is told
            safe = await self.bot.media_unavailable(event, case.dept_id, e.name)
        safe = await self._labelled(safe, case)
        safe["m.relates_to"] = relay.thread(case.root_key, reply_to)
        if await self.bot.guard.over_limit(event.event_id, case, safe):
            # Held for a digest (bots/consultation/guard.py); out of hours too, or a flood left
            # overnight would reach the officers at opening as hundreds of messages.
            pass
        elif case.waiting:
            await self.bot.off_hours.keep(event.event_id, case, safe)
            now = await self.tables.case(case.id)
            if now is not None and not now.waiting:  # the opening's delivery read the kept ones first
                await self.ctx.send(relay.key_in(event.event_id), case.officers_room, safe)
        else:
            await self.ctx.send(relay.key_in(event.event_id), case.officers_room, safe)
        await self.tables.log(event.event_id, case.id, "citizen_message", self.bot.now_ms())

    async def _too_large(self, event: Event, case: Case, size: int) -> None:
        limit = int(self.ctx.config["consultation.max_media_bytes"])
        text = self.ctx.messages("consult.media_too_large", size=human_size(size), limit=human_size(limit))
        await self.ctx.send(f"{event.event_id}/too-large", event.room_id, self.bot.say(text),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))

    async def _labelled(self, safe: dict[str, Any], case: Case, dept_id: str | None = None) -> dict[str, Any]:
        """The officers' copy of a citizen's words starts with the citizen's pseudonym (the one
        the officers of `dept_id`, by default the case's department, know). An image or file
        carries it as its caption ("市民 #4821：证件.png"; the name moves to `filename`, which
        is what makes `body` a caption), so a file in the thread says whose it is, too."""
        msgtype = safe.get("msgtype")
        if msgtype not in ("m.text", "m.notice", "m.emote") and msgtype not in MEDIA_TYPES:
            return safe
        who = await self.bot.citizen_label(dept_id or case.dept_id, case.citizen)
        if msgtype in MEDIA_TYPES:
            name = media_name(safe)
            caption = safe.get("body") if safe.get("filename") not in (None, safe.get("body")) else None
            safe["filename"] = name
            if not caption:
                safe.pop("format", None)
                safe.pop("formatted_body", None)
        safe["body"] = f"{who}：{safe.get('body') or ''}"
        if "formatted_body" in safe:
            label, formatted = f"<b>{html.escape(who)}</b>：", str(safe["formatted_body"])
            # Inside a first paragraph, or the label would stand on a line of its own.
            safe["formatted_body"] = f"<p>{label}{formatted[3:]}" if formatted.startswith("<p>") \
                else label + formatted
        return safe

    async def _edit(self, event: Event, content: dict[str, Any], rel: dict[str, Any],
                    citizen: str, dept_id: str) -> None:
        original = rel.get("event_id")
        new = content.get("m.new_content")
        if not isinstance(original, str) or not isinstance(new, dict):
            return
        case = await self.tables.case_of_message(original)
        if case is None:
            return  # the original was never passed on (a rating, a command)
        for dept in dict.fromkeys([dept_id, case.dept_id]):  # an edit is a message too
            block = await self.bot.guard.active_block(dept, citizen)
            if block is not None:
                await self.bot.guard.keep_blocked(event.event_id, None, dept, event.room_id, block, {})
                return
        if await self._edit_kept(original, await self._labelled(citizen_to_officer(new), case)):
            return
        key = relay.key_edit(relay.key_in(original), event.event_id)
        target = await self.ctx.outbox.table.target_of(relay.key_in(original))
        if target is not None:
            # Under the pseudonym the officers of that room know (a transfer may have moved the case).
            dept_of_room = await self.bot.dept_of_officers_room(target[0]) or case.dept_id
            safe = await self._labelled(citizen_to_officer(new), case, dept_of_room)
            await self.ctx.send(key, target[0], relay.edit_of(relay.ref(relay.key_in(original)), safe))
        if target is None or target[0] != case.officers_room:
            # Its copy is in the thread of the department the case left, or in a flood's
            # digest (which cannot be edited): the officers who have the case now are told.
            now = await self._labelled(citizen_to_officer(new), case)
            body = self.ctx.messages("officer.edited_elsewhere", text=now.get("body", ""))
            await self.ctx.send(f"{key}/now", case.officers_room, self.bot.notice(
                body, **{"m.relates_to": relay.thread(case.root_key, None)}))

    async def _edit_kept(self, original: str, safe: dict[str, Any]) -> bool:
        """A message still kept (out of hours, held in a flood or a block) is edited where it
        waits: the officers get the words as the citizen left them, not the first ones."""
        for table in ("consult_pending", "consult_held"):
            raw = await self.ctx.db.fetchval(f"SELECT content FROM {table} WHERE event_id=$1", original)
            if raw is None:
                continue
            kept = json.loads(raw)
            if kept.get("msgtype") in ("m.text", "m.notice", "m.emote"):
                edited = {**{k: v for k, v in kept.items() if k not in ("format", "formatted_body")},
                          **{k: v for k, v in safe.items() if k != "m.relates_to"}}
                await self.ctx.db.execute(f"UPDATE {table} SET content=$1 WHERE event_id=$2",
                                          json.dumps(edited, ensure_ascii=False), original)
            return True
        return False

    async def _redaction(self, event: Event) -> None:
        target = relay.redacted(event)
        if target is None:
            return
        # Retracted while it waits (out of hours, held in a flood or a block): never passed on.
        for table in ("consult_pending", "consult_held"):
            await self.ctx.db.execute(f"DELETE FROM {table} WHERE event_id=$1", target)
        await self.ctx.outbox.redact(relay.key_in(target), blank=self.bot.notice(
            self.ctx.messages("consult.retracted_copy")))
