"""The guided letter flow shared by the mailbox and complaints bots.

A citizen DMs the bot's service account; each DM room has at most one draft, a small state
machine (`steps`) kept in the bot's tables. Every Matrix event is handled once: what it changes
is committed together with the event id, and every reply is queued in the durable outbox under a
key derived from the event, so an event handled again after a crash neither repeats a step nor
sends anything twice. Subclasses add their own steps (`step_<name>` and `ask_<name>`) and say
where a confirmed letter goes (`letter_spec`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar

from mautrix.types import EventType, Membership, MessageEvent, StateEvent

from bots.privacy.commands import data_command
from bridge.avatars import BOT_COLOUR
from bridge.bot import Bot, on
from bridge.context import BotContext
from bridge.db.dead_letter import DeadLetter
from bridge.event_kinds import UNSUPPORTED

from .db import Draft, Letter, LetterTables
from .office import OfficeSide
from .steps import SharedSteps
from .submit import LetterSpec, Submitter

MEDIA = ("m.image", "m.file", "m.video", "m.audio")
CONFIRM = {"确认", "確認", "confirm", "yes", "ok"}
CANCEL = {"取消", "cancel", "!cancel", "!取消"}
_STATUS = re.compile(r"^(?:!status|!状态|状态|查询)\s+(\S+)$", re.I)
_LETTERS = {"!letters", "!信件", "我的信件", "我的投诉", "!complaints"}
_HELP = {"!help", "帮助", "help"}
# The deadline check runs this often; reminders are stored, so a restart repeats none.
CHECK_SECONDS = 600

# The accounts' avatars: a word on the bridge bot's colour.
AVATAR_LABELS = {"mailbox": "信箱", "complaints": "投诉"}


class LetterBot(SharedSteps, Bot):
    """Base of a letter bot; `name` is also its service account and its tables' prefix."""

    steps: ClassVar[tuple[str, ...]]

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.tables = LetterTables(ctx.db, self.name)
        self.mxid = ctx.config.service_mxid(self.name)
        self.office = OfficeSide(self)
        self.submitter = Submitter(self)
        self._checker: asyncio.Task[None] | None = None

    # Helpers ------------------------------------------------------------------------------
    def cfg(self, key: str) -> Any:
        return self.ctx.config[f"{self.name}.{key}"]

    def t(self, key: str, **fields: object) -> str:
        return self.ctx.messages(key, **fields)

    @property
    def service_name(self) -> str:
        """Who signs the mail to offices: the From name the operator configured."""
        return str(self.ctx.config["mail.from_name"] or "").strip() or "网上值班室"

    @staticmethod
    def text(text: str) -> dict[str, Any]:
        """Every message of the letters flow asks the citizen for the next step or answers them
        (a number, a status, the office's reply): m.text, which notifies, not m.notice."""
        return {"msgtype": "m.text", "body": text}

    async def say(self, key: str, room_id: str, text: str) -> None:
        await self.ctx.send(key, room_id, self.text(text), sender=self.mxid)

    # Life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        intent = self.ctx.intent(self.mxid)
        # Registered up front: the runtime answers user queries for department ghosts only,
        # so a citizen's invite must find the account already there.
        await intent.ensure_registered()
        await intent.set_displayname(self.t(f"{self.name}.displayname"))
        if self.ctx.avatars is not None:  # 信箱 / 投诉 on the bot's colour
            try:
                avatar = await self.ctx.avatars.generated(
                    intent, AVATAR_LABELS.get(self.name, ""), BOT_COLOUR)
                if avatar:
                    await intent.set_avatar_url(avatar)  # reads the current one first
            except Exception:  # an avatar is never a reason not to start
                self.ctx.log.warning("Could not set the %s avatar", self.name, exc_info=True)
        if self.ctx.mail is not None:
            self.ctx.mail.on_reply.append(self.office.on_reply)
            self.ctx.mail.on_failure.append(self.office.on_failure)
        else:
            self.ctx.log.warning("mail.enabled is false: %s letters cannot be sent", self.name)
        self._checker = asyncio.create_task(self._check_loop(), name=f"{self.name}-deadlines")

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
            self._checker = None

    async def _check_loop(self) -> None:
        while True:
            try:
                await self.office.check_deadlines()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.ctx.log.exception("Deadline check of %s failed", self.name)
            await asyncio.sleep(CHECK_SECONDS)

    async def check_deadlines(self) -> int:
        """Chase overdue letters now; returns how many were chased (tests call this)."""
        return await self.office.check_deadlines()

    async def dead_letter(self, letter: DeadLetter) -> None:
        """The citizen's message in this bot's DM became a dead letter: say so, once."""
        if letter.kind == "outbox" or letter.room_id is None or letter.sender is None:
            return
        if await self.tables.citizen_of(letter.room_id) != letter.sender:
            return
        await self.say(f"{letter.event_id or letter.id}/{self.name}/dead-letter", letter.room_id,
                       self.t("letters.dead_letter"))

    # Invites ------------------------------------------------------------------------------
    @on(EventType.ROOM_MEMBER)
    async def member(self, event: StateEvent) -> None:
        if event.state_key != self.mxid or event.content.membership != Membership.INVITE:
            return
        if await self.tables.seen(event.event_id):
            return
        intent = self.ctx.intent(self.mxid)
        await intent.join_room_by_id(event.room_id)
        members = await intent.get_members(event.room_id)
        others = [m.state_key for m in members
                  if m.content.membership in (Membership.JOIN, Membership.INVITE)
                  # the bridge bot joins encrypted DMs for its encryption device (bridge/crypto)
                  and m.state_key not in (self.mxid, event.sender, self.ctx.config.bot_mxid)]
        if others:
            await self.ctx.refuse_and_leave(event.room_id, self.text(self.t("letters.group_refused")),
                                            sender=self.mxid)
            await self.tables.commit(event.event_id, event.room_id, None)
            return
        await self.tables.add_dm(event.room_id, event.sender)
        draft = Draft(event.room_id, self.steps[0], {})
        await self.say(f"{event.event_id}/{self.name}/greeting", event.room_id,
                       self.t(f"{self.name}.greeting"))
        await self.say(f"{event.event_id}/{self.name}/ask", event.room_id, self.ask(draft))
        await self.tables.commit(event.event_id, event.room_id, draft)

    # Messages -----------------------------------------------------------------------------
    @on(EventType.ROOM_ENCRYPTED)
    async def undecryptable(self, event: Any) -> None:
        """Only what the bridge could not decrypt reaches a bot still encrypted (bridge/crypto)."""
        if await self.tables.citizen_of(event.room_id) != event.sender:
            return
        await self.say(f"{event.event_id}/{self.name}/undecryptable", event.room_id,
                       self.t("letters.undecryptable"))

    @on(*UNSUPPORTED)
    async def unsupported(self, event: Any) -> None:
        """A poll or sticker (Element offers them in any chat) cannot go into a letter: the
        citizen hears so, and what the letter still needs, instead of silence."""
        if event.sender == self.mxid or await self.tables.citizen_of(event.room_id) != event.sender:
            return
        if await self.tables.seen(event.event_id):
            return
        draft = await self.tables.draft(event.room_id)
        await self.say(f"{event.event_id}/{self.name}/unsupported", event.room_id,
                       self._unsupported(UNSUPPORTED[event.type], draft))
        await self.tables.commit(event.event_id, event.room_id, draft)

    def _unsupported(self, kind: str, draft: Draft | None) -> str:
        told = self.t("letters.unsupported", kind=self.t(f"letters.kind_{kind}"))
        return f"{told}\n\n{self.ask(draft)}" if draft is not None else told

    @on(EventType.ROOM_MESSAGE)
    async def message(self, event: MessageEvent) -> None:
        if event.sender == self.mxid or await self.tables.citizen_of(event.room_id) != event.sender:
            return  # only the citizen who opened the DM writes letters in it
        if await self.tables.seen(event.event_id):
            return
        content: dict[str, Any] = event.content.serialize()
        if data_command(str(content.get("body", ""))) is not None:
            return  # the privacy bot answers; the letter being written is left as it was
        draft = await self.tables.draft(event.room_id)
        if content.get("m.relates_to", {}).get("rel_type") == "m.replace":
            replies: list[str] = [self.t("letters.edit_ignored")]  # a step cannot be rewound
        else:
            replies, draft = await self._handle(event, content, draft)
        for i, text in enumerate(r for r in replies if r):
            await self.say(f"{event.event_id}/{self.name}/{i}", event.room_id, text)
        await self.tables.commit(event.event_id, event.room_id, draft)

    async def _handle(self, event: MessageEvent, content: dict[str, Any],
                      draft: Draft | None) -> tuple[list[str], Draft | None]:
        body = str(content.get("body", "")).strip()
        msgtype = content.get("msgtype")
        if msgtype in ("m.text", "m.notice"):
            command = await self._command(body, event.sender)
            if command is not None:
                return [command], draft
            if body.lower() in CANCEL:
                return [self.t("letters.cancelled" if draft else "letters.nothing_to_cancel")], None
        if draft is None:
            draft = Draft(event.room_id, self.steps[0], {})
            return [self.t("letters.new"), self.ask(draft)], draft
        if msgtype in MEDIA:
            if draft.step != "text":
                return [self.t("letters.media_only_in_text")], draft
            return [await self.attach(draft, content)], draft
        if msgtype not in ("m.text", "m.notice"):  # a location, or a client's own kind
            return [self._unsupported("other", draft)], draft
        if draft.step == "confirm":
            if body.lower() not in CONFIRM:
                return [self.t("letters.confirm_or_cancel")], draft
            return await self.submitter.submit(event, draft)
        refusal = await getattr(self, f"step_{draft.step}")(draft, body)
        if refusal is not None:
            return [refusal], draft
        draft.step = self.steps[self.steps.index(draft.step) + 1]
        return [self.ask(draft)], draft

    def letter_spec(self, draft: Draft) -> LetterSpec:
        """Where the confirmed draft goes and what its office reads; each bot says."""
        raise NotImplementedError

    def ask(self, draft: Draft) -> str:
        if draft.step == "confirm":
            return self.summary(draft)
        return str(getattr(self, f"ask_{draft.step}")(draft))

    async def _command(self, body: str, citizen: str) -> str | None:
        if body.lower() in _HELP:
            return self.t(f"{self.name}.greeting")
        if body.lower() in _LETTERS:
            letters = await self.tables.letters_of(citizen)
            if not letters:
                return self.t("letters.none")
            return self.t("letters.list", lines="\n".join(self.status_line(x) for x in letters))
        found = _STATUS.match(body)
        if found is None:
            return None
        letter = await self.tables.letter(found.group(1).upper())
        if letter is None or letter.citizen != citizen:
            # The same answer for someone else's letter: numbers reveal nothing.
            return self.t("letters.not_found", number=found.group(1))
        return self.status_line(letter)

    def status_line(self, letter: Letter) -> str:
        return self.t("letters.status_line", number=letter.number, subject=letter.subject,
                      recipient=letter.recipient, status=self.t(f"letters.status.{letter.status}"),
                      deadline=letter.deadline)
