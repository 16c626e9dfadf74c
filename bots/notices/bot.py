"""The notices bot (政府版): meeting and work notices with receipts, sent to officers' rooms.

Senders talk to the notices account in a DM (bots/notices/compose.py, commands.py) or hand a
Markdown file to `python -m bridge notice send` (bots/notices/cli.py), which the running bridge
picks up from the database. Each department's copy goes out through the durable outbox
(delivery.py); officers acknowledge in their room (receipts.py); the sender's tally is edited
in place; chase.py reminds and reports; correct.py edits and recalls. Staff spaces per
jurisdiction: spaces.py. Citizens never see any of it: everything happens in officers' rooms,
staff spaces and senders' DMs.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import Event, EventType, Membership, RoomCreatePreset, StateEvent

from bots.officers.rooms import TABLE as OFFICERS_TABLE
from bots.officers.rooms import open_on_demand
from bridge.avatars import BOT_COLOUR
from bridge.bot import Bot, on
from bridge.context import BotContext
from bridge.parallel import bounded, provision_concurrency
from bridge.rooms import create_or_adopt

from .chase import Chaser
from .commands import Commands, is_command
from .compose import Composer
from .correct import Corrections
from .db import DELIVERING, MEETING, WORK, Notice, NoticeTables
from .delivery import Delivery
from .messages import MESSAGES
from .receipts import Receipts
from .scope import covers, jurisdictions_of, sender_scope
from .spaces import StaffSpaces
from .upgrade import upgrade_table
from .worktime import add_working, office_day, working_days_of

# Rooms remembered as officers' rooms or not, DMs or not (cleared when full).
ROOM_MEMORY = 100_000


class NoticesBot(Bot):
    name = "notices"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = NoticeTables(ctx.db)
        self.mxid = ctx.config.service_mxid("notices")
        self.delivery = Delivery(self)
        self.receipts = Receipts(self)
        self.chaser = Chaser(self)
        self.corrections = Corrections(self)
        self.composer = Composer(self)
        self.commands_ = Commands(self)
        self.spaces = StaffSpaces(self)
        self.delivered = 0  # notices whose copies were all queued since start (tests)
        self._rooms: dict[str, str] = {}  # officers' room → department
        self._other_rooms: set[str] = set()  # rooms known not to be officers' rooms
        self._dms: dict[str, str | None] = {}  # room → the sender whose DM it is (None: no DM)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # Settings and time --------------------------------------------------------------------
    def cfg(self, key: str, default: Any = None) -> Any:
        return self.ctx.config.get(f"notices.{key}", default)

    @property
    def office(self) -> Any:
        return office_day(str(self.cfg("office_hours", "08:30-17:30")))

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    # Life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        intent = self.ctx.intent(self.mxid)
        await intent.ensure_registered()
        await intent.set_displayname(self.ctx.messages("notices.displayname"))
        if self.ctx.avatars is not None:
            try:
                avatar = await self.ctx.avatars.generated(intent, "通知", BOT_COLOUR)
                if avatar:
                    await intent.set_avatar_url(avatar)
            except Exception:  # an avatar is never a reason not to start
                self.ctx.log.warning("Could not set the notices avatar", exc_info=True)
        await self.spaces.sync()
        await self.resume()
        self._task = asyncio.create_task(self._loop(), name="notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def roster_changed(self) -> None:
        await self.spaces.sync()

    async def resume(self) -> None:
        """Notices whose delivery a stop cut short: queue the rest (keys make it exactly once)."""
        for notice in await self.tables.in_state(DELIVERING):
            await self.delivery.deliver(notice)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(float(self.cfg("check_interval", 30)))
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.ctx.log.exception("Notices check failed; retrying next round")

    async def tick(self) -> None:
        """Requests from the CLI, then chasing (tests call this after moving the clock)."""
        async with self._lock:
            await self.take_requests()
            await self.chaser.check()

    # Creating a notice --------------------------------------------------------------------
    async def create_notice(self, source: str, sender: str, sender_room: str,
                            data: dict[str, Any]) -> tuple[Notice | None, str | None]:
        """Store a notice with one copy per recipient department, then deliver it. Departments
        without an officers' room get one now (the officers bot keeps it from then on)."""
        existing = await self.tables.by_source(source)
        if existing is not None:  # the same confirmation or request, handled again
            if existing.status == DELIVERING:
                await self.delivery.deliver(existing)
            return existing, None
        scope = sender_scope(self.ctx.config, self.ctx.roster, sender)
        recipients = [d for d in data["recipients"] if d in self.ctx.roster.departments]
        if not scope or not covers(scope, jurisdictions_of(self.ctx.roster, recipients)):
            return None, self.ctx.messages("notices.not_sender")
        rooms = await self.spaces.officers_rooms()
        missing = [d for d in recipients if d not in rooms]
        made = await bounded(provision_concurrency(self.ctx), (
            open_on_demand(self.ctx, self.ctx.roster.departments[d]) for d in missing))
        rooms.update(zip(missing, made, strict=True))
        copies = {}
        for dept_id in recipients:
            room = rooms[dept_id]
            copies[dept_id] = room
            self._rooms[room] = dept_id
            self._other_rooms.discard(room)
        deadline = int(data["deadline"])
        before = float(self.cfg("remind_before_hours", 2))
        tz = self.ctx.roster.timezone
        remind = add_working(self.ctx.roster, datetime.fromtimestamp(deadline / 1000, tz), -before,
                             self.office, working_days_of(self.ctx.roster, recipients)) if before > 0 else None
        remind_at = int(remind.timestamp() * 1000) if remind else deadline
        if remind_at <= self.now_ms():
            remind_at = deadline  # too close to remind before it: only the overdue report
        spec = {
            "kind": data["kind"] if data["kind"] in (MEETING, WORK) else WORK,
            "title": data["title"], "body": data["body"], "meeting": data.get("meeting") or {},
            "attachments": data.get("attachments") or [], "sender": sender,
            "sender_room": sender_room, "created_at": self.now_ms(), "deadline": deadline,
            "remind_at": min(remind_at, deadline),
            "email": bool(data.get("email")),
        }
        notice = await self.tables.create(source, spec, copies)
        if notice.status == DELIVERING:
            await self.delivery.deliver(notice)
        return notice, None

    async def dm_with(self, mxid: str) -> str:
        """The sender's DM with the notices account (made for a notice sent from the CLI)."""
        found = await self.tables.dm_of(mxid)
        if found is not None:
            return found
        digest = hashlib.sha256(mxid.encode()).hexdigest()[:16]
        room_id, _ = await create_or_adopt(
            self.ctx, f"{self.ctx.config.prefix}notices_dm_{digest}", intent=self.ctx.intent(self.mxid),
            preset=RoomCreatePreset.TRUSTED_PRIVATE, invitees=[mxid], is_direct=True,
            name=self.ctx.messages("notices.displayname"))
        await self.tables.add_dm(room_id, mxid)
        self._dms[room_id] = mxid
        return room_id

    async def take_requests(self) -> None:
        from .cli import notice_from_request, upload_attachments  # the CLI's own checks

        for request_id, payload in await self.tables.pending_requests():
            sender = str(payload.get("sender", ""))
            try:
                data = notice_from_request(self, payload)
                await upload_attachments(self, data)
                data["attachments"] = data.pop("uploaded")
            except ValueError as e:
                await self.tables.finish_request(request_id, "refused", str(e))
                continue
            room = await self.dm_with(sender)
            notice, problem = await self.create_notice(f"cli/{request_id}", sender, room, data)
            if notice is None:
                await self.tables.finish_request(request_id, "refused", problem or "")
            else:
                await self.tables.finish_request(request_id, "sent", notice.ref)

    # Events -------------------------------------------------------------------------------
    async def dept_of_room(self, room_id: str, recheck: bool = False) -> str | None:
        """The department whose officers' room this is. Every event of every room passes here
        (citizens' DMs too), so answers are remembered. A room's first events arrive before
        the officers bot records it, so a receipt-like event asks again (`recheck`)."""
        if room_id in self._rooms:
            return self._rooms[room_id]
        if room_id in self._other_rooms and not recheck:
            return None
        dept_id = None
        if await self.ctx.db.table_exists(OFFICERS_TABLE):
            dept_id = await self.ctx.db.fetchval(
                f"SELECT dept_id FROM {OFFICERS_TABLE} WHERE room_id=$1", room_id)
        if dept_id is not None:
            self._rooms[room_id] = str(dept_id)
            return str(dept_id)
        if len(self._other_rooms) >= ROOM_MEMORY:
            self._other_rooms.clear()
        self._other_rooms.add(room_id)
        return None

    async def dm_owner(self, room_id: str) -> str | None:
        """Who the DM with the notices account belongs to (None: not such a DM); remembered."""
        if room_id not in self._dms:
            if len(self._dms) >= ROOM_MEMORY:
                self._dms.clear()
            self._dms[room_id] = await self.tables.dm_owner(room_id)
        return self._dms[room_id]

    @on(EventType.ROOM_MEMBER)
    async def member(self, event: StateEvent) -> None:
        if event.state_key != self.mxid or event.content.membership != Membership.INVITE:
            return
        if await self.dm_owner(event.room_id) is not None:
            return
        intent = self.ctx.intent(self.mxid)
        try:
            await intent.join_room_by_id(event.room_id)
        except MatrixRequestError as e:
            self.ctx.log.info("Could not join %s: %s", event.room_id, e)
            return
        members = await intent.get_members(event.room_id)
        others = [m.state_key for m in members
                  if m.content.membership in (Membership.JOIN, Membership.INVITE)
                  and m.state_key not in (self.mxid, event.sender, self.ctx.config.bot_mxid)]
        if others:
            await self.ctx.refuse_and_leave(event.room_id, _notice(
                self.ctx.messages("notices.group_refused")), sender=self.mxid)
            return
        await self.tables.add_dm(event.room_id, event.sender)
        self._dms[event.room_id] = event.sender
        scope = sender_scope(self.ctx.config, self.ctx.roster, event.sender)
        await self.ctx.send(f"{event.event_id}/notices/greeting", event.room_id, _text(
            self.ctx.messages("notices.help" if scope else "notices.not_sender")), sender=self.mxid)

    @on(EventType.ROOM_MESSAGE, EventType.REACTION)
    async def message(self, event: Event) -> None:
        if event.sender == self.mxid:
            return
        dept_id = await self.dept_of_room(event.room_id, recheck=self.receipts.looks_like(event))
        if dept_id is not None:
            await self.receipts.handle(event, dept_id)
            return
        if await self.dm_owner(event.room_id) != event.sender:
            return
        if event.type != EventType.ROOM_MESSAGE or await self.tables.seen(event.event_id):
            return
        content: dict[str, Any] = event.content.serialize()
        if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace":
            return
        body = str(content.get("body", "")).strip()
        if is_command(body) and body.split()[1:2] not in (["新建"], ["new"]):
            replies = await self.commands_.run(event.room_id, event.sender, event.event_id, body)
        else:
            if is_command(body):
                content = {**content, "body": "新建"}
            replies = await self.composer.handle(event.room_id, event.sender, event.event_id, content)
        for i, text in enumerate(r for r in replies if r):
            await self.ctx.send(f"{event.event_id}/notices/{i}", event.room_id, _text(text),
                                sender=self.mxid)
        await self.tables.mark_seen(event.event_id)

    async def reply(self, event: Event, key: str, **fields: Any) -> None:
        """A short notice in reply to an officer's receipt, once per event."""
        content = _notice(self.ctx.messages(key, **fields))
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": event.event_id}}
        await self.ctx.send(f"{event.event_id}/notices/{key}", event.room_id, content,
                            sender=self.ctx.config.bot_mxid)


def _text(text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text}


def _notice(text: str) -> dict[str, Any]:
    return {"msgtype": "m.notice", "body": text}
