"""Creating a room under one of the bridge's aliases, exactly once."""

from __future__ import annotations

from typing import Any

from mautrix.appservice import IntentAPI
from mautrix.errors import MatrixRequestError, MRoomInUse
from mautrix.types import EventType

from .context import BotContext


async def version_of(intent: IntentAPI, room_id: str) -> str:
    """The version of a room that exists (one adopted after a crash, whose record is lost)."""
    create = await intent.get_state_event(room_id, EventType.ROOM_CREATE, ensure_joined=False)
    return str(getattr(create, "room_version", None) or "1")


async def create_or_adopt(
    ctx: BotContext, alias_localpart: str, *, intent: IntentAPI | None = None, **create: Any
) -> tuple[str, bool]:
    """The room behind our alias, created if needed: (room_id, created).

    `intent` creates the room (the bridge bot unless given); any of our users may claim the
    alias, since the namespace is the appservice's.

    A crash between creating a room and recording it must not create it twice. The homeserver
    refuses a taken alias (M_ROOM_IN_USE) before it creates anything, so asking createRoom first
    finds the earlier room without a lookup before every creation; the alias namespace is ours
    alone, so whoever holds it is that room (or the one a concurrent creator just made).
    """
    creator = intent or ctx.bot_intent
    try:
        room_id = await creator.create_room(
            alias_localpart=alias_localpart, room_version=ctx.rooms.version, **create
        )
    except MatrixRequestError as e:
        # M_ROOM_IN_USE, or a failure after the room and its alias were made (an invitee the
        # homeserver refused): either way the alias leads to the room to keep.
        found = await ctx.room_by_alias(alias_localpart)
        if found is None:
            raise
        if not isinstance(e, MRoomInUse):
            ctx.log.warning("Creating %s failed half-way (%s); adopting the room", alias_localpart, e)
        return found, False
    # mautrix records the invitees but not the creator: without this, the creator's first send
    # into the room (the bot's space child links, eight at once) each begins with a no-op join.
    await creator.state_store.joined(room_id, creator.mxid)
    return room_id, True
