"""What the runtime gives each bot: its database, the roster, intents, the outbox, texts, clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mautrix.appservice import IntentAPI
from mautrix.errors import MNotFound
from mautrix.types import EventType
from mautrix.util.async_db import Database

from .avatars import Avatars
from .clock import Clock
from .config import Config
from .long_messages import EMPTIED_PART, edit_in_parts, part_key, split_long
from .mail import MailTransport
from .messages import Messages
from .outbox_sender import REFERENCE, OutboxSender
from .room_versions import RoomSettings

if TYPE_CHECKING:
    from .appservice import DurableAppService
    from .crypto.manager import Encryption
    from .roster import Roster
    from .roster_watcher import RosterWatcher


@dataclass
class BotContext:
    config: Config
    db: Database
    appservice: DurableAppService
    outbox: OutboxSender
    rosters: RosterWatcher
    messages: Messages
    clock: Clock
    log: logging.Logger
    # The e-mail transport, or None when `mail.enabled` is false.
    mail: MailTransport | None = None
    # The room version new rooms get (shared by all bots; worked out at start).
    rooms: RoomSettings = field(default_factory=RoomSettings)
    # Generated avatars, uploaded once (shared by all bots); None in contexts made without one.
    avatars: Avatars | None = None
    # End-to-end encryption (bridge/crypto), or None when `encryption.enabled` is false.
    encryption: Encryption | None = None

    @property
    def roster(self) -> Roster:
        """The roster in force now; replaced atomically when an administrator's edit validates."""
        return self.rosters.current

    @property
    def bot_intent(self) -> IntentAPI:
        return self.appservice.intent

    def intent(self, mxid: str) -> IntentAPI:
        return self.appservice.intent.user(mxid)

    def ghost(self, dept_id: str) -> IntentAPI:
        return self.intent(self.config.ghost_mxid(dept_id))

    async def room_by_alias(self, alias_localpart: str) -> str | None:
        """The room behind one of our aliases, or None.

        Bots give every room they create an alias in the bridge's exclusive namespace, so a
        crash between creating a room and recording it finds the room instead of making another.
        """
        try:
            found = await self.bot_intent.resolve_room_alias(
                f"#{alias_localpart}:{self.config.domain}"
            )
        except MNotFound:
            return None
        return found.room_id

    async def send(
        self,
        key: str,
        room_id: str,
        content: dict[str, Any],
        *,
        sender: str | None = None,
        event_type: str = "m.room.message",
    ) -> None:
        """Queue a message in the durable outbox; `key` must be unique per intended message.
        One too long for an event goes as parts, keyed `<key>/part<n>` after the first
        (bridge/long_messages.py); so does an edit of such a message, part by part."""
        sender = sender or self.config.bot_mxid
        if event_type == "m.room.message" and await self._edit_in_parts(key, room_id, content, sender):
            return
        parts = split_long(content) if event_type == "m.room.message" else [content]
        for n, part in enumerate(parts, 1):
            await self.outbox.queue(part_key(key, n), room_id, sender, part, event_type)

    async def _edit_in_parts(self, key: str, room_id: str, content: dict[str, Any], sender: str) -> bool:
        """An edit of a queued message that went in parts, or whose new text needs parts:
        part by part (bridge/long_messages.py edit_in_parts); False when one edit does."""
        rel = content.get("m.relates_to")
        target = rel.get("event_id") if isinstance(rel, dict) and rel.get("rel_type") == "m.replace" else None
        if not isinstance(target, str) or not target.startswith(REFERENCE):
            return False
        target_key = target.removeprefix(REFERENCE)
        old = 1 + len(await self.outbox.table.parts_of(target_key))
        planned = edit_in_parts(content, old, EMPTIED_PART.get(self.messages.language, EMPTIED_PART["zh"]))
        if planned is None:
            return False
        edits, more = planned
        for n, edit in enumerate(edits, 1):
            await self.outbox.queue(part_key(key, n), room_id, sender, edit, "m.room.message")
        # The new text's further parts go where the original went (its thread), as parts of
        # the original, so a later edit or a retraction of the original finds them too.
        thread = await self.outbox.table.relation_of(target_key)
        for n, part in enumerate(more, old + 1):
            await self.outbox.queue(part_key(target_key, n), room_id, sender,
                                    {**part, **({"m.relates_to": thread} if thread else {})},
                                    "m.room.message")
        return True

    async def refuse_and_leave(self, room_id: str, content: dict[str, Any], *, sender: str) -> None:
        """Say why, then leave at once (a group chat a department or letters account was
        invited to). Sent directly, since a queued send would find the sender gone; encrypted
        where the room is, like everything the bridge says; the bot, if encrypting brought it
        in, leaves too."""
        event_type = "m.room.message"
        if self.encryption is not None:
            encrypted = await self.encryption.encrypt(room_id, sender, event_type, content)
            if encrypted is not None:
                event_type, content = encrypted
        intent = self.intent(sender)
        await intent.send_message_event(room_id, EventType.find(event_type), content)
        await intent.leave_room(room_id)
        bot = self.bot_intent
        if sender != bot.mxid and await bot.state_store.is_joined(room_id, bot.mxid):
            await bot.leave_room(room_id)
