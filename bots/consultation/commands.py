"""Officer commands in a case thread: claim, transfer, internal note, close; a supervisor's block."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mautrix.errors import MatrixRequestError
from mautrix.types import Event

from .db import CLAIMED, CLOSED, Case
from .guard import parse_duration
from .hints import suggest
from .transcript import ERASED, LINE_CHARS, case_transcript, latest, shown

if TYPE_CHECKING:
    from .officer_side import OfficerSide

COMMANDS = {
    "claim": "claim", "认领": "claim",
    "transfer": "transfer", "转办": "transfer",
    "note": "note", "备注": "note",
    "close": "close", "办结": "close",
    "kb": "kb", "答": "kb",  # the knowledge base (bots/consultation/kb.py)
    "history": "history", "历史": "history",
    "block": "block", "屏蔽": "block",
    "unblock": "unblock", "解除屏蔽": "unblock",
}


ERASED_CASE_COMMANDS = ("history", "note")  # what is left to do once the citizen erased their data
HISTORY_LINES = 40   # the most recent messages `!历史` reposts (transcript.latest cuts them)


class OfficerCommands:
    def __init__(self, side: OfficerSide) -> None:
        self.side = side
        self.bot = side.bot
        self.ctx = side.ctx
        self.tables = side.tables

    async def run(self, event: Event, case: Case, text: str) -> None:
        name, _, args = text.strip().partition(" ")
        command = COMMANDS.get(name.lower())
        if case.citizen == ERASED and command not in ERASED_CASE_COMMANDS:
            await self.side.erased(event, case)
            return
        if command == "claim":
            await self.claim(event, case)
        elif command == "note":
            await self.tables.log(event.event_id, case.id, "note", self.bot.now_ms(),
                                  actor=self.side.alias(event.sender, case.dept_id), detail=args.strip())
            await self.side.thread_notice(case, f"{event.event_id}/noted", self.ctx.messages("officer.note_saved"))
        elif command == "close":
            await self._close(event, case)
        elif command == "transfer":
            await self._transfer(event, case, args.strip())
        elif command == "kb":
            await self.bot.kb.command(event, case, args.strip())
        elif command in ("block", "unblock"):
            await self._block(event, case, command, args.strip())
        elif command == "history":
            await self._history(event, case)

    async def claim(self, event: Event, case: Case) -> None:
        if case.status == CLOSED:
            return
        alias = self.side.alias(event.sender, case.dept_id)
        await self.tables.set_status(case.id, CLAIMED, claimed_by=event.sender)
        await self.tables.log(event.event_id, case.id, "claimed", self.bot.now_ms(), actor=alias)
        # Keyed by the claim: handled again after a crash, what is left is sent, nothing twice.
        await self.side.thread_notice(case, f"{event.event_id}/claimed",
                                      self.ctx.messages("officer.claimed", alias=alias, ref=case.ref))
        await self.side.show_status(case, self.ctx.messages("officer.status_claimed", alias=alias),
                                    f"{event.event_id}/root-status")

    async def _close(self, event: Event, case: Case) -> None:
        t, alias = self.ctx.messages, self.side.alias(event.sender, case.dept_id)
        if case.status == CLOSED:
            if await self.tables.logged_as(event.event_id) == "closed":
                # This close, handled again after a crash that came once the case was closed:
                # what it tells the citizen and the thread is still to do (keyed: once each).
                await self._closed(event, case, alias)
                return
            await self.side.thread_notice(case, f"{event.event_id}/already", t("officer.case_closed", ref=case.ref))
            return
        if case.waiting:  # reopened out of hours: what the citizen wrote comes at the opening
            await self.side.thread_notice(case, f"{event.event_id}/waiting", t(
                "officer.close_waiting", ref=case.ref, next=self.bot.off_hours.opening_text(case.dept_id)))
            return
        held = await self.bot.guard.release_now(case)  # held for a digest: passed on first
        if held:
            await self.side.thread_notice(case, f"{event.event_id}/held",
                                          t("officer.close_held", ref=case.ref, count=held))
            return
        # Logged first: a crash after the status finds the log, and the sends below follow.
        await self.tables.log(event.event_id, case.id, "closed", self.bot.now_ms(), actor=alias)
        await self.tables.set_status(case.id, CLOSED, closed_at=self.bot.now_ms())
        await self._closed(event, case, alias)

    async def _closed(self, event: Event, case: Case, alias: str) -> None:
        t = self.ctx.messages
        await self.ctx.send(f"{event.event_id}/ask-rating", case.dm_room,
                            self.bot.say(t("consult.closed_citizen", ref=case.ref)),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        await self.side.thread_notice(case, f"{event.event_id}/closed", t("officer.closed", ref=case.ref, alias=alias))
        await self.side.show_status(case, t("officer.status_closed"), f"{event.event_id}/root-status")

    async def _transfer(self, event: Event, case: Case, args: str) -> None:
        t, roster = self.ctx.messages, self.ctx.roster
        target, _, note = args.partition(" ")
        if not target or target in ("?", "？"):
            await self._suggest(event, case)
            return
        if target not in roster.departments or target == case.dept_id:
            await self.side.thread_notice(case, f"{event.event_id}/unknown", t("officer.transfer_unknown", dept=target))
            return
        new_room = await self.bot.officers_room(target)
        if new_room is None:
            raise RuntimeError(f"officers' room of {target} not ready")
        source, dest = roster.departments[case.dept_id], roster.departments[target]
        alias = self.side.alias(event.sender, case.dept_id)
        await self.side.thread_notice(case, f"{event.event_id}/out", t(
            "officer.transferred_out", ref=case.ref, alias=alias, to=dest.name, note=note or "—"))
        await self.side.show_status(case, t("officer.status_transferred", to=dest.name),
                               f"{event.event_id}/root-status")
        await self._bring_ghost(case, target)
        history = await self.side.history_text(case, as_dept=target)
        now_ms = self.bot.now_ms()
        # Two records at the same moment, each naming both departments, so that each side's
        # count (assessment) finds its own: out of the source, into the target. Logged before
        # the move: a crash after the move finds them, and the transfer is finished
        # (officer_side.handle; the move is not made twice).
        await self.tables.log(event.event_id, case.id, "transferred", now_ms,
                              actor=alias, detail=f"{case.dept_id}->{target}: {note}")
        await self.tables.log(f"{event.event_id}/in", case.id, "transferred_in", now_ms,
                              actor=target, detail=f"{case.dept_id}->{target}")
        await self.tables.move(case.id, target, new_room, now_ms)
        moved = await self.tables.case(case.id)
        assert moved is not None
        who = await self.bot.citizen_label(target, case.citizen)
        text = t("officer.transferred_in", ref=case.ref, source=source.name, who=who,
                 note=note or "—", history=history)
        on_duty = [o.mxid for o in roster.on_duty(target, self.bot.now())]
        if await self.ctx.db.fetchval("SELECT 1 FROM outbox WHERE key=$1", moved.root_key):
            # Back in a department it came from (province → city → province): its thread
            # there is the case's thread again; the news goes into it instead of a new root
            # (the root's key is taken, a second one would never be sent).
            await self.side.thread_notice(moved, f"case/{case.id}/back/{event.event_id}", text, on_duty)
        else:
            content = self.bot.notice(text)
            if on_duty:
                content["msgtype"] = "m.text"
                content["m.mentions"] = {"user_ids": on_duty}
            await self.ctx.send(moved.root_key, new_room, content)
        await self.ctx.send(f"{event.event_id}/told-citizen", case.dm_room, self.bot.say(
            t("consult.transferred_citizen", ref=case.ref, to=dest.name)),
            sender=self.ctx.config.ghost_mxid(case.dept_id))
        # ... and the receiving department introduces itself, with its own hours (its rules apply
        # from now on: the attention clock restarted with the move).
        await self.ctx.send(f"{event.event_id}/welcomed-citizen", case.dm_room, self.bot.say(
            t("consult.transferred_welcome", ref=case.ref, source=source.name, name=dest.name,
              hours=roster.hours_text(target, t.language), now=self.bot.now_text(target))),
            sender=self.ctx.config.ghost_mxid(target))

    async def _suggest(self, event: Event, case: Case) -> None:
        """`!转办` alone or `!转办 ?`: the departments the citizen's words fit best (hints.py)."""
        t, roster = self.ctx.messages, self.ctx.roster
        question = await self.side.history_text(case)
        found = [d for d in suggest(roster, question, near=case.dept_id, limit=6)
                 if d.id != case.dept_id][:5]
        if not found:
            await self.side.thread_notice(case, f"{event.event_id}/usage", t("officer.transfer_usage"))
            return
        lines = "\n".join(t("officer.transfer_hint_line", id=d.id, name=d.name,
                            jurisdiction=roster.jurisdictions[d.jurisdiction].name
                            if d.jurisdiction in roster.jurisdictions else "")
                          for d in found)
        await self.side.thread_notice(case, f"{event.event_id}/hint",
                                      t("officer.transfer_hint", lines=lines, first=found[0].id))

    async def _history(self, event: Event, case: Case) -> None:
        """`!历史`: the case's messages both ways and its transfers, reposted in its thread. An
        officer's new device cannot decrypt what was sent before it existed (nobody shared those
        keys with it); this copy is encrypted for the devices in the room now. It also serves
        an officer taking over a long case, or one transferred in."""
        t, roster = self.ctx.messages, self.ctx.roster
        who = t("officer.erased_citizen") if case.citizen == ERASED else \
            await self.bot.citizen_label(case.dept_id, case.citizen)

        def name(dept_id: str) -> str:
            dept = roster.departments.get(dept_id)
            return dept.name if dept else dept_id

        lines = []
        for entry in await case_transcript(self.ctx.db, case.id):
            when = datetime.fromtimestamp(entry.at / 1000, roster.timezone).strftime("%m-%d %H:%M")
            text = shown(entry, t)[:LINE_CHARS + 1].replace("\n", "\n　　")  # its lines indented
            mark = t("officer.edited_mark") if entry.edited else ""  # (before words a long line loses)
            if entry.kind == "transfer":
                moved, _, note = (entry.actor or "").partition(": ")
                lines.append(t("officer.history_transfer", when=when, to=name(moved.partition("->")[2]),
                               note=note or "—"))
            elif entry.content is None:
                continue  # (a message whose copy was erased at the citizen's request)
            elif entry.kind == "citizen":
                lines.append(f"{when} {who}{mark}：{text}")
            else:
                lines.append(f"{when} {entry.actor or name(case.dept_id)} → {who}{mark}：{text}")
        recent = latest(lines, HISTORY_LINES)
        text = t("officer.history", ref=case.ref, count=len(lines), shown=len(recent),
                 lines="\n".join(recent)) if lines else t("officer.history_empty", ref=case.ref)
        # Keyed under the case: it repeats the citizen's words, which an erasure withdraws.
        await self.side.thread_notice(case, f"case/{case.id}/history/{event.event_id}", text)

    async def _bring_ghost(self, case: Case, target: str) -> None:
        """The receiving department answers in the same DM under its own identity."""
        old, new = self.ctx.ghost(case.dept_id), self.ctx.ghost(target)
        try:
            await old.invite_user(case.dm_room, new.mxid)
        except MatrixRequestError as e:
            self.ctx.log.info("Inviting %s to %s: %s", new.mxid, case.dm_room, e)
        await new.join_room_by_id(case.dm_room)

    async def _block(self, event: Event, case: Case, command: str, args: str) -> None:
        """`!屏蔽 7天 理由` / `!解除屏蔽`: the department's supervisors (and the bridge's
        administrators) only; a reason is required, and at most `block_max_days`."""
        t, guard = self.ctx.messages, self.bot.guard
        dept = self.ctx.roster.departments.get(case.dept_id)
        admins = set(self.ctx.config["admins"] or [])
        if dept is None or (event.sender not in dept.supervisors and event.sender not in admins):
            await self.side.thread_notice(case, f"{event.event_id}/not-supervisor",
                                          t("officer.block_not_supervisor"))
            return
        label = self.side.alias(event.sender, case.dept_id)
        if command == "unblock":
            block = await guard.active_block(case.dept_id, case.citizen)
            if block is None:
                await self.side.thread_notice(case, f"{event.event_id}/not-blocked", t("officer.not_blocked"))
                return
            await guard.lift(block, case, event.event_id, event.sender)
            return
        length, _, reason = args.partition(" ")
        duration = parse_duration(length)
        max_ms = int(self.ctx.config["consultation.block_max_days"]) * 86_400_000
        if duration is None or not reason.strip() or duration > max_ms:
            await self.side.thread_notice(case, f"{event.event_id}/block-usage", t(
                "officer.block_usage", days=int(self.ctx.config["consultation.block_max_days"])))
            return
        await guard.block(event.event_id, case, event.sender, label, duration, reason.strip())
