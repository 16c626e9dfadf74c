"""The consultation bot: routes DM and officers'-room events to the citizen and officer sides."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from mautrix.errors import MNotFound
from mautrix.types import Event, EventType, Membership, StateEvent

from bots.officers.rooms import TABLE as OFFICERS_TABLE
from bots.officers.rooms import OfficersTable, alias_localpart, open_on_demand
from bridge.bot import Bot, on
from bridge.context import BotContext
from bridge.db.dead_letter import DeadLetter
from bridge.event_repair import DROPPED
from bridge.roster.status import duty_status

from . import relay
from .attention import Attention
from .citizen_side import CitizenSide
from .db import ConsultationTables
from .guard import Guard
from .kb import ConsultKnowledge
from .messages import MESSAGES
from .off_hours import OffHours
from .officer_side import OfficerSide
from .upgrade import upgrade_table


class ConsultationBot(Bot):
    name = "consultation"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = ConsultationTables(ctx.db)
        self._officers_rooms: dict[str, str] = {}
        self._room_depts: dict[str, str] = {}
        self.citizens = CitizenSide(self)
        self.officers = OfficerSide(self)
        self.off_hours = OffHours(self)
        self.attention = Attention(self)
        self.kb = ConsultKnowledge(self)
        self.guard = Guard(self)
        self._ticker: asyncio.Task[None] | None = None

    # Shared helpers ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.ctx.clock.now()

    def now_ms(self) -> int:
        """Case times come from the injectable clock, so timers and tests agree on 'now'."""
        return int(self.now().timestamp() * 1000)

    async def citizen_label(self, dept_id: str, citizen: str) -> str:
        """How officers of a department see a citizen: 市民 #4821."""
        number = await self.tables.pseudonym(dept_id, citizen)
        return f"市民 #{number}" if self.ctx.messages.language == "zh" else f"Citizen #{number}"

    def notice(self, text: str, **extra: Any) -> dict[str, Any]:
        """Pure status (a thank-you, "still waiting"): default push rules raise no badge."""
        return {"msgtype": "m.notice", "body": text, **extra}

    def say(self, text: str, **extra: Any) -> dict[str, Any]:
        """A message that answers the citizen or asks them for something (the reference, the
        out-of-hours reply, the rating request): it notifies like a person's message, which a
        notice does not (no unread badge, "sent a notice" in the room list)."""
        return {"msgtype": "m.text", "body": text, **extra}

    def now_text(self, dept_id: str) -> str:
        """Whether someone is on duty now, in a sentence for the citizen."""
        status, t = duty_status(self.ctx.roster, dept_id, self.now()), self.ctx.messages
        lang = t.language
        if status.kind == "open":
            return t("consult.now_open", until=status.until_text(lang))
        if status.kind == "closed":
            return t("consult.now_closed", next=status.opens_text(lang))
        return t(f"consult.now_{status.kind}")

    async def officers_room(self, dept_id: str, *, create: bool = True) -> str | None:
        """The department's officers' room, as the officers bot records it or by its alias.

        The officers bot makes rooms only for departments whose roster names someone; a case for
        another department makes its room here, with the officers bot's own recipe
        (bots/officers/rooms.py), so it still opens and waits there for the first officer on the
        roster. `create=False` only looks.
        """
        if dept_id not in self._officers_rooms:
            dept = self.ctx.roster.departments.get(dept_id)
            if create and dept is not None:
                room: str | None = await open_on_demand(self.ctx, dept)
            else:
                room = await self.ctx.room_by_alias(alias_localpart(self.ctx, dept_id))
            if room is None:
                return None
            self._officers_rooms[dept_id] = room
            self._room_depts[room] = dept_id
        return self._officers_rooms[dept_id]

    async def dept_of_officers_room(self, room_id: str) -> str | None:
        if room_id not in self._room_depts:
            await self._find_officers_rooms()  # one the officers bot has just made?
        return self._room_depts.get(room_id)

    async def start(self) -> None:
        await self._find_officers_rooms()
        await self.officers.unclaim_departed()  # (a roster edited while the bridge was down)
        if self.ctx.mail is not None:
            self.ctx.mail.on_reply.append(self.attention.mail_reply)
            self.ctx.mail.on_failure.append(self.attention.mail_failed)
        self.ctx.outbox.on_sent.append(self.officers.delivered)
        self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)

    async def _find_officers_rooms(self) -> None:
        # The officers bot records its rooms (and those made on demand here); reading that saves
        # one alias lookup per department. Departments without a recorded room have none, as
        # most of a large roster does. Aliases stay the fallback, so this bot works on its own.
        if await self.ctx.db.table_exists(OFFICERS_TABLE):
            for dept_id, (room_id, _) in (await OfficersTable(self.ctx.db).rooms()).items():
                self._officers_rooms[dept_id] = room_id
                self._room_depts[room_id] = dept_id
            return
        for dept_id in self.ctx.roster.departments:
            await self.officers_room(dept_id, create=False)

    async def roster_changed(self) -> None:
        await self._find_officers_rooms()
        await self.officers.unclaim_departed()
        await self.tick()

    async def tick(self) -> None:
        """Deliver backlogs whose departments opened, take due reminder steps, pass on messages
        held over the rate limit and lift blocks that ended."""
        await self.off_hours.deliver_backlog()
        await self.attention.check()
        await self.guard.release()
        await self.guard.lift_expired()

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                self.ctx.log.exception("Consultation timers failed; retrying next round")
            await asyncio.sleep(float(self.ctx.config["consultation.check_interval"]))

    # Routing ----------------------------------------------------------------------------------
    @on(EventType.ROOM_MEMBER)
    async def member(self, event: StateEvent) -> None:
        if event.content.membership != Membership.INVITE:
            return
        dept_id = self.ctx.config.ghost_dept_id(event.state_key)
        if dept_id is None or dept_id not in self.ctx.roster.departments:
            return
        if await self.dept_of_officers_room(event.room_id) is not None:
            return
        await self.citizens.invited(event, dept_id)

    @on(EventType.ROOM_MESSAGE, EventType.ROOM_ENCRYPTED, EventType.REACTION,
        EventType.ROOM_REDACTION, *relay.UNSUPPORTED)
    async def message(self, event: Event) -> None:
        dept_id = self._room_depts.get(event.room_id)  # known officers' rooms, without a query
        if dept_id is not None:
            await self.officers.handle(event, dept_id)
            return
        dm = await self.tables.dm(event.room_id)
        if dm is not None:
            citizen, dept_id = dm
            await self.citizens.handle(event, citizen, dept_id)
            await self._tell_dropped(event, citizen, dept_id)
            return
        dept_id = await self.dept_of_officers_room(event.room_id)
        if dept_id is not None:
            await self.officers.handle(event, dept_id)

    async def _tell_dropped(self, event: Event, citizen: str, dept_id: str) -> None:
        """The runtime dropped broken parts of this message (bridge/event_repair.py) and the
        rest was handled: the citizen hears what was not passed on."""
        if event.sender != citizen or event.type != EventType.ROOM_MESSAGE:
            return
        if not event.content.serialize().get(DROPPED):
            return
        await self.ctx.send(f"{event.event_id}/dropped", event.room_id,
                            self.notice(self.ctx.messages("consult.parts_dropped")),
                            sender=self.ctx.config.ghost_mxid(dept_id))

    async def media_unavailable(self, event: Event, dept_id: str, name: str) -> dict[str, Any]:
        """A citizen's attachment cannot be fetched: tell the citizen, and return the note that
        takes its place in the officers' thread (the message itself is still relayed)."""
        t = self.ctx.messages
        await self.ctx.send(f"{event.event_id}/media-unavailable", event.room_id,
                            self.notice(t("consult.media_unavailable", name=name)),
                            sender=self.ctx.config.ghost_mxid(dept_id))
        return self.notice(t("officer.media_unavailable", name=name), **{"m.mentions": {}})

    async def dead_letter(self, letter: DeadLetter) -> None:
        """A citizen's message that became a dead letter, or whose copy to the officers was given
        up on: tell the citizen, once (the key names the citizen's event), in reply to it, that
        it was kept and staff were alerted. Our own notice is never processed (the bridge
        ignores its users' events), and a failure of it only alerts the administrators (this
        hook acts on relay-in sends only), so this cannot loop."""
        if letter.kind == "outbox":
            await self._relay_in_failed(letter)
            return
        if letter.room_id is None or letter.sender is None:
            return
        dm = await self.tables.dm(letter.room_id)
        if dm is None or dm[0] != letter.sender:
            return
        await self._tell_kept(letter.room_id, dm[1], letter.event_id or letter.id)

    async def _relay_in_failed(self, letter: DeadLetter) -> None:
        source = relay.source_of(letter.key, "relay-in")
        if source is None:
            return
        dm_room = await self.ctx.db.fetchval(
            "SELECT c.dm_room FROM consult_log l JOIN consult_case c ON c.id=l.case_id"
            " WHERE l.event_id=$1", source)
        dm = await self.tables.dm(dm_room) if dm_room else None
        if dm is not None:
            await self._tell_kept(dm_room, dm[1], source)

    async def _tell_kept(self, dm_room: str, dept_id: str, event_id: str) -> None:
        content = self.say(self.ctx.messages("consult.dead_letter"))
        if event_id.startswith("$"):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": event_id}}
        await self.ctx.send(f"{event_id}/dead-letter", dm_room, content,
                            sender=self.ctx.config.ghost_mxid(dept_id))

    async def is_encrypted(self, room_id: str, dept_id: str) -> bool:
        try:
            await self.ctx.ghost(dept_id).get_state_event(room_id, EventType.ROOM_ENCRYPTION)
        except MNotFound:
            return False
        return True
