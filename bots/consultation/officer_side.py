"""The officers' side: thread roots, replies relayed under the department's identity, and the
commands claim, transfer, note and close."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mautrix.types import Event, EventType

from bridge.audit import CITIZEN_ID_SHOWN
from bridge.db import OutboxItem
from bridge.relay_content import officer_to_citizen

from . import relay
from .commands import OfficerCommands
from .db import OPEN, Case
from .media import MediaTooLarge, MediaUnavailable, is_encrypted, reupload
from .transcript import ERASED, case_transcript, latest, shown

if TYPE_CHECKING:
    from .bot import ConsultationBot

CLAIM_REACTIONS = {"👍", "👍️"}


def pill(mxid: str, name: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(mxid)}">{html.escape(name)}</a>'


class OfficerSide:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables
        self.commands = OfficerCommands(self)

    # Posting into the officers' room ----------------------------------------------------------
    async def root_text(self, case: Case, status: str, question: str | None = None) -> str:
        t, roster = self.ctx.messages, self.ctx.roster
        dept = roster.departments.get(case.dept_id)
        who = await self.bot.citizen_label(case.dept_id, case.citizen)
        if dept is not None and dept.show_citizen_id:
            who += f" ({case.citizen})"
        when = datetime.fromtimestamp(case.opened_at / 1000, roster.timezone).strftime("%Y-%m-%d %H:%M")
        # The knowledge base's suggestions for the first message (kept through the root's edits).
        suggestions = await self.bot.kb.root_suggestions(case, question)
        return t("officer.root", ref=case.ref, who=who, time=when, status=status) + suggestions

    async def show_status(self, case: Case, status: str, key: str) -> None:
        """Edit the thread root so the case list shows where each case stands."""
        text = await self._moved_in_root(case, status) or await self.root_text(case, status)
        new = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        # Keyed under the root, like a citizen's edits under their message: withdrawing the
        # root (an erasure; it may show the citizen's Matrix ID) withdraws these too.
        await self.ctx.send(relay.key_edit(case.root_key, key), case.officers_room,
                            relay.edit_of(relay.ref(case.root_key), new))

    async def _moved_in_root(self, case: Case, status: str) -> str | None:
        """A root a transfer posted (转入咨询: from where, the note, the history) keeps its words,
        with the status after its first line; None for the case's first root."""
        prefix = f"case/{case.id}/root/"
        roots = [k for k in await self.ctx.outbox.table.keys_under(prefix) if "/" not in k[len(prefix):]]
        if not roots or roots[0] == case.root_key:
            return None
        stored = await self.ctx.db.fetchval("SELECT content FROM outbox WHERE key=$1", case.root_key)
        body = str(json.loads(stored).get("body", "")) if stored else ""
        if not body:
            return None
        first, newline, rest = body.partition("\n")
        return f"{first} · {status}{newline}{rest}"

    async def names(self, mxids: list[str], room_id: str) -> list[str]:
        """How staff are named to each other in mentions: the duty alias, else the display name
        in the room, else the Matrix ID (clients other than Element show a pill's raw text)."""
        names = []
        for mxid in mxids:
            officer = self.ctx.roster.officer(mxid)
            name = officer.alias if officer is not None and officer.alias else None
            if name is None:
                name = await self.ctx.db.fetchval(
                    "SELECT displayname FROM mx_user_profile WHERE room_id=$1 AND user_id=$2",
                    room_id, mxid)
            names.append(str(name or mxid))
        return names

    async def _mentioning(self, content: dict[str, Any], text: str, on_duty: list[str],
                          room_id: str) -> dict[str, Any]:
        """`content` made a notifying m.text that names and mentions the officers on duty."""
        if on_duty:
            t, names = self.ctx.messages, await self.names(on_duty, room_id)
            mentions = t("officer.root_mentions", mentions=", ".join(names))
            pills = ", ".join(pill(m, n) for m, n in zip(on_duty, names, strict=True))
            content.update(
                body=f"{text}\n{mentions}",
                format="org.matrix.custom.html",
                # Line breaks as <br>: in HTML a bare newline is a space, and Element ran the
                # status line and the knowledge base's suggestions together.
                formatted_body=html.escape(text).replace("\n", "<br>") + "<br>"
                + t("officer.root_mentions", mentions=pills),
            )
            content["m.mentions"] = {"user_ids": on_duty}
            content["msgtype"] = "m.text"  # notices do not notify
        return content

    async def post_root(self, case: Case, question: str | None = None, *, quiet: bool = False) -> None:
        """The thread root of a case, mentioning the officers on duty now (not when `quiet`:
        a citizen over the new-case limit). A reopened case already has its root (a
        leave-message reopened out of hours, delivered at opening): it gets the reopening
        announcement instead. Where the department shows citizens' Matrix IDs, showing one is
        an audit entry."""
        if case.reopened_by is not None:
            await self.reopened(case, case.reopened_by)
            return
        t, roster = self.ctx.messages, self.ctx.roster
        text = await self.root_text(case, t("officer.status_open"), question or "")
        dept = roster.departments.get(case.dept_id)
        if dept is not None and dept.show_citizen_id:
            await self.bot.guard.audit.record(
                f"officers/{case.dept_id}", CITIZEN_ID_SHOWN, f"case/{case.ref}",
                at_ms=self.bot.now_ms(), detail=case.officers_room, key=case.root_key)
        on_duty = [] if quiet else [o.mxid for o in roster.on_duty(case.dept_id, self.bot.now())]
        content = await self._mentioning(self.bot.notice(text), text, on_duty, case.officers_room)
        await self.ctx.send(case.root_key, case.officers_room, content)

    async def reopened(self, case: Case, event_id: str) -> None:
        """A closed case the citizen wrote to again: its root shows it open again and the
        officers on duty are mentioned in its thread, as they are for a new case. Keyed by the
        reopening message, so each reopening is announced once."""
        t, roster = self.ctx.messages, self.ctx.roster
        await self.show_status(case, t("officer.status_reopened"), f"{event_id}/root-status")
        text = t("officer.reopened", ref=case.ref)
        on_duty = [o.mxid for o in roster.on_duty(case.dept_id, self.bot.now())]
        content = await self._mentioning(self.bot.notice(text), text, on_duty, case.officers_room)
        content["m.relates_to"] = relay.thread(case.root_key)
        await self.ctx.send(f"{event_id}/reopened-mention", case.officers_room, content)

    async def thread_notice(self, case: Case, key: str, text: str, mention: list[str] | None = None) -> None:
        content = self.bot.notice(text)
        if mention:
            content["msgtype"] = "m.text"
            content["m.mentions"] = {"user_ids": mention}
        content["m.relates_to"] = relay.thread(case.root_key)
        await self.ctx.send(key, case.officers_room, content)

    async def unclaim_departed(self) -> None:
        """Cases claimed by someone no longer an officer or supervisor of their department (the
        roster took them off it): nobody would answer them, and the reminder ladder passes claimed cases by.
        They are open again, and the officers on duty hear so in the thread."""
        roster, t, now_ms = self.ctx.roster, self.ctx.messages, self.bot.now_ms()
        for case in await self.tables.claimed_cases():
            claimer = case.claimed_by or ""
            if not claimer.startswith("@") or case.dept_id not in roster.departments \
                    or self._may_answer(claimer, case.dept_id):
                continue  # (still its officer or supervisor; answered by mail; a department gone)
            await self.tables.unclaim(case.id, now_ms)
            case = await self.tables.case(case.id) or case
            on_duty = [o.mxid for o in roster.on_duty(case.dept_id, self.bot.now())]
            names = await self.names(on_duty, case.officers_room)
            await self.thread_notice(case, f"case/{case.id}/unclaimed/{case.attention_round}",
                                     t("officer.unclaimed", ref=case.ref, mentions="、".join(names) or "—"),
                                     mention=on_duty)
            await self.show_status(case, t("officer.status_open"), f"unclaimed/{case.attention_round}")

    async def rated(self, case: Case, rating: int, event_id: str) -> None:
        t = self.ctx.messages
        if rating > 2:
            await self.thread_notice(case, f"{event_id}/rated", t("officer.rated", ref=case.ref, rating=rating))
            return
        await self.tables.rework(case.id)
        dept = self.ctx.roster.departments.get(case.dept_id)
        supervisors = list(dept.supervisors) if dept else []
        names = await self.names(supervisors, case.officers_room)
        text = t("officer.rated_bad", ref=case.ref, rating=rating, mentions=", ".join(names) or "—")
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
        if event.type in relay.UNSUPPORTED:  # a poll or sticker in a case's thread: not relayed
            case = await self._case_of_thread(relay.relation(event.content.serialize()))
            if case is not None:
                t = self.ctx.messages
                await self.thread_notice(case, f"{event.event_id}/unsupported", t(
                    "officer.unsupported", kind=t(f"consult.kind_{relay.UNSUPPORTED[event.type]}")))
            return
        if event.type != EventType.ROOM_MESSAGE:
            return
        content: dict[str, Any] = event.content.serialize()
        rel = relay.relation(content)
        if rel.get("rel_type") == "m.replace":
            if self._may_answer(event.sender, dept_id):
                await self.handle_edit(event, content, dept_id)
            return
        case = await self._case_of_thread(rel)
        if case is None:
            return  # officers talking outside a case thread: nothing to relay
        if case.officers_room != event.room_id:  # an old thread of a transferred case
            source = await self.tables.transfer_of(event.event_id)
            if source is not None:  # the `!转办` that moved it, handled again after a crash
                await self.commands.run(event, replace(case, dept_id=source, officers_room=event.room_id),
                                        str(content.get("body", "")).strip()[1:])
                return
            await self._moved_on(event, rel, case)
            return
        if not self._may_answer(event.sender, case.dept_id):
            name = self.ctx.roster.departments.get(case.dept_id)
            await self.thread_notice(case, f"{event.event_id}/refused", self.ctx.messages(
                "officer.not_officer", dept=name.name if name else case.dept_id))
            return
        body = str(content.get("body", "")).strip()
        if body.startswith("!"):
            await self.commands.run(event, case, body[1:])
            return
        if case.citizen == ERASED:
            await self.erased(event, case)
            return
        await self._relay(event, content, case)

    async def _moved_on(self, event: Event, rel: dict[str, Any], case: Case) -> None:
        """A message (or command) in the thread a transfer left: it goes nowhere; its writer
        hears so in that thread, not in the thread of the department the case is with now."""
        dept = self.ctx.roster.departments.get(case.dept_id)
        content = self.bot.notice(self.ctx.messages(
            "officer.moved_on", ref=case.ref, dept=dept.name if dept else case.dept_id))
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": rel["event_id"],
                                   "is_falling_back": False, "m.in_reply_to": {"event_id": event.event_id}}
        await self.ctx.send(f"{event.event_id}/moved-on", event.room_id, content)

    async def erased(self, event: Event, case: Case) -> None:
        """The citizen had their data erased: there is nobody to answer (their DM is left and
        forgotten); the officer is told, instead of the message failing in the outbox."""
        await self.thread_notice(case, f"{event.event_id}/erased",
                                 self.ctx.messages("officer.case_erased", ref=case.ref))

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
        ghost = self.ctx.ghost(case.dept_id)
        safe = await self.for_citizen(content, case, event.room_id,
                                      self._signature(event.sender, case.dept_id))
        try:
            safe = await reupload(safe, self.ctx.bot_intent, ghost,
                                  int(self.ctx.config["consultation.max_media_bytes"]),
                                  encrypted=await is_encrypted(self.ctx, case.dm_room, ghost.mxid))
        except MediaTooLarge:
            await self.thread_notice(case, f"{event.event_id}/too-large",
                                     self.ctx.messages("consult.media_too_large", size="", limit=""))
            return
        except MediaUnavailable as e:
            await self.thread_notice(case, f"{event.event_id}/media-unavailable",
                                     self.ctx.messages("officer.media_not_sent", name=e.name))
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

    async def delivered(self, item: OutboxItem, event_id: str) -> None:
        """An officer's reply reached the citizen's chat: the department's account marks it
        read in the thread, so the officer sees it arrived (a receipt costs the homeserver
        less than a reaction event, and says the same)."""
        officer_event = relay.source_of(item.key, "relay-out")
        if officer_event is None or item.event_type != "m.room.message":
            return
        case = await self._case_of_relayed(officer_event)
        if case is None:
            return
        await self.ctx.ghost(case.dept_id).send_receipt(case.officers_room, officer_event)

    async def _case_of_relayed(self, officer_event: str) -> Case | None:
        case_id = await self.ctx.db.fetchval(
            "SELECT case_id FROM consult_log WHERE event_id=$1", officer_event
        )
        return await self.tables.case(case_id) if case_id is not None else None

    async def _hidden_names(self, room_id: str) -> tuple[list[str], list[str]]:
        """(names, staff IDs): everything that could name an officer or point into the
        officers' room - officers' and supervisors' IDs and aliases, every member's ID and
        display name, the room's own ID (and, for a room version 12 ID, its bare hash); and
        the user IDs that may read as staff. Citizens' pseudonyms are not listed: the filter
        hides that pattern itself (bridge/relay_content.py says why)."""
        roster = self.ctx.roster
        staff: set[str] = set()
        names: set[str] = {room_id}
        if ":" not in room_id:
            names.add(room_id[1:])
        for officer in roster.officers.values():
            staff.add(officer.mxid)
            names.add(officer.alias)
        for dept in roster.departments.values():
            staff.update(dept.supervisors)
        # Straight from the state store's table: mautrix 0.21's get_member_profiles() fails on
        # SQLite (it passes sqlite3.Row to Member.deserialize). Everyone in an officers' room
        # is staff: officers, supervisors, the bridge's bots and ghosts; citizens never are.
        # The ghosts' names are the departments' public names, which replies may well use.
        rows = await self.ctx.db.fetch(
            "SELECT user_id, displayname FROM mx_user_profile WHERE room_id=$1", room_id
        )
        for row in rows:
            staff.add(row["user_id"])
            if row["displayname"] and not self.ctx.config.is_own_user(row["user_id"]):
                names.add(row["displayname"])
        names.update(staff)
        return sorted(n for n in names if n), sorted(staff)

    async def for_citizen(self, content: dict[str, Any], case: Case | None, room_id: str,
                          signature: str | None = None) -> dict[str, Any]:
        """What the citizen of `case` may read of officer-written `content` (a reply, an edit's
        new content, a mail answer) written in officers' room `room_id`: the one privacy filter
        every path to a citizen goes through. The citizen keeps their own pseudonym."""
        names, staff = await self._hidden_names(room_id)
        own = await self.bot.citizen_label(case.dept_id, case.citizen) if case else None
        return officer_to_citizen(content, hidden_names=names, domain=self.ctx.config.domain,
                                  signature=signature, staff_ids=staff, own_pseudonym=own)

    async def _redaction(self, event: Event) -> None:
        target = relay.redacted(event)
        if target is not None:
            await self.ctx.outbox.redact(relay.key_out(target), blank=self.bot.notice(
                self.ctx.messages("consult.retracted_copy")))

    async def handle_edit(self, event: Event, content: dict[str, Any], dept_id: str) -> None:
        """An officer's edit of an answer, signed as its writer signs in the department of the
        room it was written in (a transfer since does not change whose answer it was)."""
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
        case = await self._case_of_relayed(original)
        if case is not None and case.citizen == ERASED:
            await self.erased(event, case)
            return
        if str(new.get("body", "")).strip().startswith("!") or await self.ctx.db.fetchval(
                "SELECT 1 FROM consult_log WHERE event_id=$1 AND kind='kb_answer'", original):
            # An edited `!答 1` (what went out was the entry, not these words), or an answer
            # edited into a command: commands are not run again by an edit, nor relayed.
            if case is not None:
                await self.thread_notice(case, f"{event.event_id}/command-edit",
                                         self.ctx.messages("officer.command_edit"))
            return
        safe = await self.for_citizen(
            new, case, event.room_id, self._signature(event.sender, dept_id))
        safe.pop("m.relates_to", None)
        await self.ctx.send(relay.key_edit(key, event.event_id), room, relay.edit_of(relay.ref(key), safe),
                            sender=sender)

    async def _reaction(self, event: Event) -> None:
        rel = relay.relation(event.content.serialize())
        if rel.get("key") not in CLAIM_REACTIONS:
            return
        key = await self.ctx.outbox.key_of_event(rel.get("event_id", ""))
        if not key or not key.startswith("case/"):
            return
        case = await self.tables.case(int(key.split("/")[1]))
        if case is None or key != case.root_key:  # (the root a transfer left: not this case's now)
            return
        if self._may_answer(event.sender, case.dept_id):
            await self.commands.claim(event, case)

    async def history_text(self, case: Case, as_dept: str | None = None, whole: bool = False) -> str:
        """The citizen's messages of the case, in every department it has been in (a case
        transferred to a city and back keeps what was said before either transfer), under the
        pseudonym `as_dept` (default: the case's department) knows the citizen by: another
        department's number may be a different citizen there."""
        who = await self.bot.citizen_label(as_dept or case.dept_id, case.citizen)
        mark = self.ctx.messages("officer.edited_mark")
        lines = [f"{who}{mark if e.edited else ''}：{shown(e, self.ctx.messages)}"
                 for e in await case_transcript(self.ctx.db, case.id)
                 if e.kind == "citizen" and e.content is not None]
        # In a message, the latest that fit in one event; in an e-mail (`whole`), all of it.
        return "\n".join(lines if whole else latest(lines, 20)) or "—"
