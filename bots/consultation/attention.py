"""Nobody answering: remind the officers on duty, then the supervisors, then offer the citizen
e-mail to the department. Each step happens once; the state is the case log, so a restart
neither repeats nor skips a step."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bridge.mail import InboundMail, OutgoingMail

from .db import Case
from .transcript import ERASED

if TYPE_CHECKING:
    from .bot import ConsultationBot

# Steps remembered as taken, so a case left unanswered for days is not written to every round.
TAKEN_MEMORY = 100_000
EMAIL_WORDS = {"邮件", "email", "e-mail", "Email", "EMAIL"}


def working_hours_between(roster, dept_id: str, start: datetime, end: datetime) -> float:  # type: ignore[no-untyped-def]
    """Open (duty) time of the department between two moments, in hours."""
    total, at, guard = 0.0, start, 0
    while at < end and guard < 1000:
        guard += 1
        if roster.is_open(dept_id, at):
            until = roster.current_period_end(dept_id, at) or end
            step_end = min(until, end)
            total += (step_end - at).total_seconds()
            at = step_end if step_end > at else at + timedelta(minutes=1)
        else:
            nxt = roster.next_opening(dept_id, at)
            if nxt is None or nxt >= end:
                break
            at = nxt
    return total / 3600


def round_key(case: Case, key: str) -> str:
    """A ladder step's key in the case's current round (the first round's keys have no suffix,
    as before rounds existed, so a step taken then is not taken again)."""
    return key if case.attention_round == 0 else f"{key}/r{case.attention_round}"


class Attention:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables
        self._taken: set[str] = set()  # the log keys of steps already in the case log

    def _setting(self, name: str) -> float:
        return float(self.ctx.config[f"consultation.{name}"])

    async def check(self) -> None:
        now = self.bot.now()
        # Cases younger than the first step are not read at all: with thousands open, most are.
        # (A working hour takes at least an hour of the clock.)
        first_step_min = min(self._setting("remind_after_minutes"),
                             self._setting("escalate_after_minutes"),
                             self._setting("offer_email_after_minutes"),
                             self._setting("followup_working_hours") * 60)
        due = self.bot.now_ms() - int(first_step_min * 60_000)
        roster = self.ctx.roster
        for case in await self.tables.unanswered_cases(due):
            if await self.bot.guard.active_block(case.dept_id, case.citizen) is not None:
                continue  # a blocked citizen is neither "waiting" nor offered e-mail
            since = datetime.fromtimestamp((case.attention_since or 0) / 1000, now.tzinfo)
            if case.follow_up:  # (a leave-message moved or reopened on duty: a live question)
                await self._followup(case, since, now)
            elif not roster.is_open(case.dept_id, now):
                await self._nobody_on_duty(case, now)
            else:  # the minutes someone was on duty: nobody is reminded of a night
                await self._ladder(case, working_hours_between(roster, case.dept_id, since, now) * 60)

    async def _nobody_on_duty(self, case: Case, now: datetime) -> None:
        """Duty ended (or nobody is rostered) with the case unanswered: the ladder waits for the
        next duty, and the citizen hears so once for each such stretch, instead of nothing (or,
        before the ladder counted duty minutes, of reminders to nobody at night)."""
        roster = self.ctx.roster
        if case.dept_id not in roster.departments:
            return
        opening = roster.next_opening(case.dept_id, now.astimezone(roster.timezone))
        key = f"nobody-on-duty/{opening.isoformat() if opening else 'none'}"  # once an off-period
        told = round_key(case, f"case/{case.id}/{key}")
        if told in self._taken:
            return  # told already: every check of the night would otherwise ask the outbox
        if roster.is_working_time(case.dept_id, now.astimezone(roster.timezone)):
            await self._tell_citizen(case, key, "consult.unanswered_unstaffed")
        else:
            await self._tell_citizen(case, key, "consult.unanswered_duty_ended",
                                     next=self.bot.off_hours.when(opening))
        self._taken.add(told)

    async def _step(self, case: Case, step: str) -> bool:
        """True the first time a step is taken in this round of the case."""
        key = round_key(case, f"case/{case.id}/{step}")
        if key in self._taken:
            return False  # known from an earlier check: no write to find out again
        first = await self.tables.log(key, case.id, step, self.bot.now_ms())
        if len(self._taken) >= TAKEN_MEMORY:
            self._taken.clear()  # the log still knows; this only spares the writes
        self._taken.add(key)
        return first

    def _on_duty(self, case: Case, now: datetime) -> list[str]:
        return [o.mxid for o in self.ctx.roster.on_duty(case.dept_id, now)]

    async def _call(self, case: Case, key: str, text_key: str, people: list[str], **fields: int) -> None:
        """A notice in the case's thread that mentions `people` (on duty, or supervisors)."""
        names = await self.bot.officers.names(people, case.officers_room)
        text = self.ctx.messages(text_key, ref=case.ref, mentions=", ".join(names) or "—", **fields)
        await self.bot.officers.thread_notice(case, round_key(case, f"case/{case.id}/{key}"), text,
                                              mention=people)

    async def _tell_citizen(self, case: Case, key: str, text_key: str, **fields: str) -> None:
        text = self.ctx.messages(text_key, ref=case.ref, **fields)
        # The e-mail offer asks the citizen something; "still waiting" is status.
        content = self.bot.say(text) if text_key == "consult.offer_email" else self.bot.notice(text)
        await self.ctx.send(round_key(case, f"case/{case.id}/{key}"), case.dm_room, content,
                            sender=self.ctx.config.ghost_mxid(case.dept_id))

    async def _ladder(self, case: Case, minutes: float) -> None:
        dept = self.ctx.roster.departments.get(case.dept_id)
        if dept is None:
            return
        now = self.bot.now()
        if minutes >= self._setting("remind_after_minutes") and await self._step(case, "reminded"):
            await self._call(case, "remind", "officer.remind", self._on_duty(case, now),
                             minutes=int(minutes))
            await self._tell_citizen(case, "remind-citizen", "consult.reminded")
        if minutes >= self._setting("escalate_after_minutes") and await self._step(case, "escalated"):
            await self._call(case, "escalate", "officer.escalate", list(dept.supervisors),
                             minutes=int(minutes))
            await self._tell_citizen(case, "escalate-citizen", "consult.escalated")
        if minutes >= self._setting("offer_email_after_minutes") and await self._step(case, "email_offered"):
            await self._tell_citizen(case, "offer-email", "consult.offer_email", dept=dept.name)

    async def _followup(self, case: Case, since: datetime, now: datetime) -> None:
        dept = self.ctx.roster.departments.get(case.dept_id)
        if dept is None:
            return
        hours = working_hours_between(self.ctx.roster, case.dept_id, since, now)
        limit = self._setting("followup_working_hours")
        if hours >= limit and await self._step(case, "followup_reminded"):
            await self._call(case, "followup-remind", "officer.followup_remind",
                             self._on_duty(case, now), hours=int(limit))
        if hours >= 2 * limit and await self._step(case, "followup_escalated"):
            await self._call(case, "followup-escalate", "officer.followup_escalate",
                             list(dept.supervisors), hours=int(2 * limit))

    # The e-mail fallback ----------------------------------------------------------------------
    async def wants_email(self, case: Case, body: str, event_id: str) -> bool:
        """The citizen answered the e-mail offer: hand the consultation to the mail transport."""
        if body.strip() not in EMAIL_WORDS or not await self.tables.logged(
                round_key(case, f"case/{case.id}/email_offered")):
            return False
        t, ghost = self.ctx.messages, self.ctx.config.ghost_mxid(case.dept_id)
        dept = self.ctx.roster.departments.get(case.dept_id)
        if self.ctx.mail is None or dept is None:
            await self.ctx.send(f"{event_id}/no-mail", case.dm_room,
                                self.bot.say(t("consult.email_unavailable", ref=case.ref)), sender=ghost)
            return True
        key = round_key(case, f"consult/{case.ref}")
        sent = await self.ctx.mail.latest(key)
        if sent is not None and sent.state == "failed":
            key = f"{key}/again/{event_id}"  # it failed (the citizen was told): a new mail
        elif sent is not None:  # on its way, or there: the answer comes here
            await self.ctx.send(f"{event_id}/emailed-already", case.dm_room, self.bot.say(
                t("consult.email_already", ref=case.ref, dept=dept.name)), sender=ghost)
            return True
        transcript = await self.bot.officers.history_text(case, whole=True)
        await self.ctx.mail.queue(OutgoingMail(
            key=key, to=dept.email, to_name=dept.name,
            subject=f"网上值班室咨询 {case.ref}", reply_ref=case.ref,
            text=f"网上值班室咨询 {case.ref}（市民选择改用邮件）\n\n{transcript}\n\n请直接回复本邮件，答复将转给市民。",
        ))
        await self.tables.log(event_id, case.id, "emailed", self.bot.now_ms(), detail=dept.email)
        await self.ctx.send(f"{event_id}/emailed", case.dm_room,
                            self.bot.say(t("consult.emailed", ref=case.ref, dept=dept.name)), sender=ghost)
        await self.bot.officers.thread_notice(case, f"{event_id}/emailed-officers",
                                              t("officer.emailed", ref=case.ref, email=dept.email))
        return True

    async def mail_failed(self, key: str, error: str) -> None:
        """A case sent to the department by e-mail did not arrive (refused, or bounced later):
        the citizen, who was told it went, hears that it did not and that the case waits for
        the officers; the officers hear it in the thread (the administrators from their bot)."""
        if not key.startswith("consult/"):
            return
        case = await self.tables.case_by_ref(key.split("/")[1])
        if case is None or case.citizen == ERASED:
            return
        t = self.ctx.messages
        await self.ctx.send(f"{key}/failed", case.dm_room,
                            self.bot.notice(t("consult.email_failed", ref=case.ref)),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        await self.bot.officers.thread_notice(case, f"{key}/failed-officers",
                                              t("officer.email_failed", ref=case.ref, error=error[:300]))

    async def mail_reply(self, mail: InboundMail) -> None:
        case = await self.tables.case_by_ref(mail.reply_ref)
        if case is None or mail.auto_submitted:
            return
        t = self.ctx.messages
        if case.citizen == ERASED:  # nobody to pass it to: its officers hear so, not the outbox
            await self.bot.officers.thread_notice(case, f"mail/{mail.message_id}/erased",
                                                  t("officer.case_erased", ref=case.ref))
            return
        # The department whose mailbox wrote it: the case may have been transferred since the
        # mail went out, and the answer is still that department's.
        writer = self.ctx.roster.owner_of_address(mail.sender)
        dept_id = writer if writer in self.ctx.roster.departments else case.dept_id
        dept = self.ctx.roster.departments.get(dept_id)
        room = case.officers_room if dept_id == case.dept_id else \
            await self.bot.officers_room(dept_id, create=False) or case.officers_room
        there = replace(case, dept_id=dept_id, officers_room=room)  # its thread in that room
        # An officer wrote this mail: the same privacy filter as a reply in their room's thread.
        safe = await self.bot.officers.for_citizen({"msgtype": "m.text", "body": mail.text}, case, room)
        text = t("consult.email_reply", dept=dept.name if dept else dept_id, ref=case.ref, text=safe["body"])
        await self.ctx.send(f"mail/{mail.message_id}", case.dm_room, {"msgtype": "m.text", "body": text},
                            sender=self.ctx.config.ghost_mxid(dept_id))
        await self.bot.officers.thread_notice(there, f"mail/{mail.message_id}/officers",
                                              t("officer.email_reply", ref=case.ref))
        if dept_id != case.dept_id:  # the department that has the case now still answers it
            await self.bot.officers.thread_notice(case, f"mail/{mail.message_id}/now-officers", t(
                "officer.email_reply_before", ref=case.ref, dept=dept.name if dept else dept_id))
            return
        await self.tables.first_reply(case.id, self.bot.now_ms(), f"mail:{mail.sender}")
