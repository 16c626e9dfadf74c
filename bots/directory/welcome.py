"""A department room's first visitor: the bot joins (so the room never looks like a DM) and the
department pins a welcome that says how to ask. Paid only for rooms citizens visit."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from mautrix.errors import MatrixRequestError, MNotFound
from mautrix.types import EventType

from bridge.context import BotContext
from bridge.roster.status import ALWAYS, duty_status


async def first_visitor(ctx: BotContext, room_id: str, dept_id: str) -> None:
    """Once per room: later visitors find the bot joined and the welcome pinned.

    Some clients (nheko) take any joined two-member room holding a user for the DM with that
    user, so "start DM" with a department opened its read-only room, where the citizen cannot
    write; a third member ends that. The room's timeline held only set-up events; the pinned
    welcome is what a citizen reads first.
    """
    bot, ghost = ctx.bot_intent, ctx.ghost(dept_id)
    if not await bot.state_store.is_joined(room_id, bot.mxid):
        try:
            await ghost.invite_user(room_id, bot.mxid)
        except MatrixRequestError as e:
            ctx.log.debug("Bot not invited to %s (%s); joining anyway", room_id, e)
        await bot.join_room_by_id(room_id)
    try:
        pinned = await ghost.get_state_event(room_id, EventType.ROOM_PINNED_EVENTS)
        if pinned.serialize().get("pinned"):
            return
    except MNotFound:
        pass
    dept = ctx.roster.departments.get(dept_id)
    if dept is None:
        return
    t = ctx.messages
    # A 24-hour service has no "other times" to leave a message in (as its topic says).
    always = duty_status(ctx.roster, dept_id, ctx.clock.now()).kind == ALWAYS
    key, mxid = "directory.welcome_always" if always else "directory.welcome", ctx.config.ghost_mxid(dept_id)
    hours = ctx.roster.hours_text(dept_id, t.language)
    text = t(key, name=dept.name, hours=hours, account=t("directory.account", name=dept.name, ghost=mxid))
    # The account as a pill (Element draws it with the account's name and avatar, and opens
    # its card, with "send a message", in place), where the plain ID became a matrix.to link
    # that left Element.
    pill = f'<a href="https://matrix.to/#/{quote(mxid, safe="@:")}">{escape(dept.name)}</a>'
    formatted = t(key, name=escape(dept.name), hours=escape(hours), account=pill).replace("\n", "<br>")
    # A fixed transaction ID: a second visitor racing the first gets the same event back.
    event_id = await ghost.send_message_event(
        room_id, EventType.ROOM_MESSAGE, {"msgtype": "m.notice", "body": text,
                                          "format": "org.matrix.custom.html", "formatted_body": formatted},
        txn_id=f"welcome-{room_id}")
    await ghost.send_state_event(room_id, EventType.ROOM_PINNED_EVENTS, {"pinned": [event_id]})
