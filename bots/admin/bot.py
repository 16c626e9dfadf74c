"""Posts roster errors, roster changes, calendar warnings and dead letters to the administrators'
rooms: the province's (config `admins`) hears everything, a jurisdiction with its own `admins:` in
the roster gets its own room for its departments' notices (routing: bots/admin/routing.py)."""

from __future__ import annotations

import asyncio
import hashlib
import html
from typing import Any

from mautrix.errors import MatrixRequestError

from bridge.bot import Bot
from bridge.context import BotContext
from bridge.db.dead_letter import DeadLetter
from bridge.roster import RosterError

from .messages import MESSAGES
from .routing import (
    PROVINCE,
    ensure_admin_room,
    is_admin_room,
    jurisdictions_with_rooms,
    known_room,
)

CHECK_CALENDAR_EVERY = 6 * 3600.0
CASE_TABLE = "consult_case"  # (bots/consultation/db.py; read, never written, here)


def notice(text: str, html_body: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.notice", "body": text}
    if html_body is not None:
        content.update(format="org.matrix.custom.html", formatted_body=html_body)
    return content


class AdminBot(Bot):
    name = "admin"
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.room_id: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.room_id = await self._ensure_room(PROVINCE)
        await self._ensure_jurisdiction_rooms()
        self.ctx.rosters.on_error.append(self.roster_refused)
        if self.ctx.mail is not None:
            self.ctx.mail.on_failure.append(self.mail_failed)
            self.ctx.mail.on_dead_reply.append(self.mail_reply_dead)
        self._task = asyncio.create_task(self._calendar_loop())
        if self.room_id is not None:  # (a roster edited while the bridge was down)
            await self._cases_left_behind()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _ensure_jurisdiction_rooms(self) -> None:
        for jur in self.ctx.roster.jurisdictions.values():
            if jur.admins:
                await self._ensure_room(jur.id)

    async def _ensure_room(self, jurisdiction: str) -> str:
        return await ensure_admin_room(self.ctx, jurisdiction)

    async def post(self, key: str, target: str | None, content: dict[str, Any]) -> None:
        """One notice to every administrators' room that hears about `target` (a department or
        jurisdiction id, None for the province's room only); each room's send has its own key."""
        for jid in jurisdictions_with_rooms(self.ctx, target):
            room_id = self.room_id if jid == PROVINCE else await self._room_of(jid)
            if room_id is not None:
                await self.ctx.send(key if jid == PROVINCE else f"{key}/{jid}", room_id, content)

    async def _room_of(self, jurisdiction: str) -> str | None:
        """The jurisdiction's room, made (and its administrators invited) the first time."""
        room_id = known_room(self.ctx, jurisdiction)
        if room_id is not None:
            return room_id
        try:
            return await self._ensure_room(jurisdiction)
        except MatrixRequestError:
            self.ctx.log.exception("Administrators' room of %s not available", jurisdiction)
            return None

    async def roster_refused(self, error: RosterError) -> None:
        if self.room_id is None:
            return
        lines = [str(p) for p in error.problems]
        intro = self.ctx.messages("admin.roster_refused", count=len(lines))
        text = intro + "\n" + "\n".join(lines)
        body_html = f"<p>{html.escape(intro)}</p><pre><code>{html.escape(chr(10).join(lines))}</code></pre>"
        key = "admin/roster-refused/" + hashlib.sha256(text.encode()).hexdigest()[:24]
        await self.ctx.send(key, self.room_id, notice(text, body_html))

    async def roster_changed(self) -> None:
        if self.room_id is None:
            return
        roster = self.ctx.roster
        await self._ensure_jurisdiction_rooms()
        officers = {o.mxid for d in roster.departments.values() for o in d.officers}
        text = self.ctx.messages(
            "admin.roster_applied", departments=len(roster.departments), officers=len(officers)
        )
        await self.ctx.send(f"admin/roster-applied/{roster.fingerprint()}", self.room_id, notice(text))
        await self._cases_left_behind()
        # A jurisdiction's administrators hear of their own part of the roster.
        for jur in roster.jurisdictions.values():
            if not jur.admins:
                continue
            mine = [d for d in roster.departments.values()
                    if jur.id in roster.jurisdiction_chain(d.jurisdiction)]
            staff = {o.mxid for d in mine for o in d.officers}
            text = self.ctx.messages("admin.jurisdiction_roster_applied", jurisdiction=jur.name,
                                     departments=len(mine), officers=len(staff))
            room_id = await self._room_of(jur.id)
            if room_id is not None:
                await self.ctx.send(f"admin/roster-applied/{roster.fingerprint()}/{jur.id}",
                                    room_id, notice(text))

    async def _cases_left_behind(self) -> None:
        """Open consultations of departments taken off the roster: nobody answers them there
        any more (their citizens hear so when they write again); the province's room hears."""
        if not await self.ctx.db.table_exists(CASE_TABLE):
            return
        roster, t, gone = self.ctx.roster, self.ctx.messages, {}
        for row in await self.ctx.db.fetch(
                f"SELECT dept_id, ref FROM {CASE_TABLE} WHERE status <> 'closed' ORDER BY id"):
            if row["dept_id"] not in roster.departments:
                gone.setdefault(row["dept_id"], []).append(row["ref"])
        if not gone:
            return
        lines = "\n".join(t("admin.cases_left_line", dept=dept, count=len(refs),
                            refs="、".join(refs[:10]) + (" …" if len(refs) > 10 else ""))
                          for dept, refs in sorted(gone.items()))
        await self.ctx.send(f"admin/cases-left/{roster.fingerprint()}", self.room_id,
                            notice(t("admin.cases_left_behind", lines=lines)))

    async def runtime_problem(self, kind: str, send_key: str, details: dict[str, str]) -> None:
        """The province's administrators run the bridge: only their room hears of it."""
        if self.room_id is not None:
            text = self.ctx.messages(f"admin.problem_{kind}", **details)
            await self.ctx.send(f"admin/problem/{send_key}", self.room_id, notice(text))

    async def mail_failed(self, key: str, error: str) -> None:
        """A mail given up on (refused, retried too long, or bounced later): the administrators
        of the office it was for hear of it, whatever it was (a letter, a reminder, a case sent
        by e-mail, a bulletin); the bot that sent it tells the citizen where there is one."""
        row = await self.ctx.mail.status(key) if self.ctx.mail is not None else None
        recipient = row.recipient if row is not None else self.ctx.messages("admin.dead_unknown")
        text = self.ctx.messages("admin.mail_failed", what=key, recipient=recipient, error=error[:500])
        await self.post(f"admin/mail-failed/{key}", self.ctx.roster.owner_of_address(recipient), notice(text))

    async def mail_reply_dead(self, ref: str, sender: str, message_id: str, error: str) -> None:
        """An office's reply stored but never passed on (its handling kept failing): the citizen
        is still waiting for it, so the administrators of that office hear."""
        text = self.ctx.messages("admin.mail_reply_dead", ref=ref, sender=sender,
                                 message_id=message_id, error=error[:500])
        await self.post(f"admin/mail-reply-dead/{message_id}/{ref}", self.ctx.roster.owner_of_address(sender), notice(text))

    async def _department_of(self, letter: DeadLetter, members: list[str]) -> str | None:
        """The department a dead letter concerns: the ghost that sent it; in a citizen's DM,
        the department its latest case is with (a transfer brought a second department's
        account into the DM); else a ghost in its room (a department room). None leaves it to
        the province's room."""
        config, roster = self.ctx.config, self.ctx.roster
        candidates = [config.ghost_dept_id(letter.sender or "")]
        if letter.room_id is not None and await self.ctx.db.table_exists(CASE_TABLE):
            candidates.append(await self.ctx.db.fetchval(
                f"SELECT dept_id FROM {CASE_TABLE} WHERE dm_room=$1 ORDER BY id DESC LIMIT 1",
                letter.room_id))
        candidates += [config.ghost_dept_id(mxid) for mxid in sorted(members)]
        return next((d for d in candidates if d is not None and d in roster.departments), None)

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Tell the administrators at once: what, where, who, why, and how to replay it."""
        if self.room_id is None:
            return
        if letter.kind == "outbox" and is_admin_room(self.ctx, letter.room_id):
            # A notice to this room failed: posting about it here would fail the same way and
            # loop. The runtime has logged it and the gauge counts it.
            return
        t = self.ctx.messages
        unknown = t("admin.dead_unknown")
        fields = {
            "id": letter.id, "event": letter.event_id or unknown, "room": letter.room_id or unknown,
            "sender": letter.sender or unknown, "error": letter.error[:500], "send_key": letter.key,
        }
        members = await self._members(letter.room_id)
        if letter.kind == "outbox":
            text = t("admin.dead_send", recipients=self._recipients(members), **fields)
        else:
            text = t(f"admin.dead_{letter.kind}", **fields)
        if letter.retried:
            text = t("admin.dead_again") + "\n" + text
        text += "\n" + t("admin.dead_howto", id=letter.id)
        body_html = "<br>".join(html.escape(line) for line in text.split("\n"))
        again = "/again" if letter.retried else ""
        await self.post(f"admin/dead-letter/{letter.id}{again}",
                        await self._department_of(letter, members), notice(text, body_html))

    async def _members(self, room_id: str | None) -> list[str]:
        if room_id is None:
            return []
        try:
            return list(await self.ctx.appservice.state_store.get_members(room_id))
        except Exception:
            return []

    def _recipients(self, members: list[str]) -> str:
        """Whom a failed send was for: the room's members other than the bridge's own users (a
        citizen cannot be told through the path that just failed)."""
        people = [m for m in members if not self.ctx.config.is_own_user(m)]
        return "、".join(sorted(people)) or self.ctx.messages("admin.dead_unknown")

    async def _calendar_loop(self) -> None:
        while True:
            try:
                await self.check_calendar()
            except Exception:
                self.ctx.log.exception("Calendar check failed")
            await asyncio.sleep(CHECK_CALENDAR_EVERY)

    async def check_calendar(self) -> None:
        """Warn (once per warning per day) when next year's holidays are still unknown."""
        if self.room_id is None:
            return
        roster = self.ctx.roster
        today = self.ctx.clock.now().astimezone(roster.timezone).date()
        for warning in roster.calendar_warnings(today):
            digest = hashlib.sha256(warning.encode()).hexdigest()[:16]
            text = self.ctx.messages("admin.calendar_warning", warning=warning)
            await self.ctx.send(f"admin/calendar/{today.isoformat()}/{digest}", self.room_id, notice(text))
