"""Which administrators' rooms hear about a department or jurisdiction (issue #18).

`admin_rooms_for(ctx, dept_id_or_jurisdiction)` is THE routing function every bot calls to find
where a notice for administrators goes (`post_to_admins(ctx, key, target, content)` also sends
it): the province's room (config `admins`) always, plus the room of every
jurisdiction up the chain from the target that has its own `admins:` in the roster (a district's
notice reaches the district's, the city's and the province's administrators). With nothing to
attribute a notice to, pass None: only the province's room hears it.

The admin bot creates the rooms and records them here as it goes; another bot in the same process
finds them without a request. Only rooms under the bridge's aliases are used, so a stale record
cannot send a notice elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import RoomCreatePreset

from bridge.context import BotContext

PROVINCE = ""  # the key of the province's room (config `admins`, alias <prefix>admins)

# (homeserver domain, alias prefix) -> jurisdiction id or PROVINCE -> room id
_rooms: dict[tuple[str, str], dict[str, str]] = {}


def alias_of(ctx: BotContext, jurisdiction: str = PROVINCE) -> str:
    prefix = ctx.config.prefix
    return f"{prefix}admins" if jurisdiction == PROVINCE else f"{prefix}admins_{jurisdiction}"


def _known(ctx: BotContext) -> dict[str, str]:
    return _rooms.setdefault((ctx.config.domain, ctx.config.prefix), {})


def record(ctx: BotContext, jurisdiction: str, room_id: str) -> None:
    """The admin bot made or found this jurisdiction's administrators' room."""
    _known(ctx)[jurisdiction] = room_id


def known_room(ctx: BotContext, jurisdiction: str) -> str | None:
    return _known(ctx).get(jurisdiction)


def jurisdictions_with_rooms(ctx: BotContext, target: str | None) -> list[str]:
    """PROVINCE, then the jurisdictions up the chain from `target` that have administrators."""
    roster = ctx.roster
    jid = roster.jurisdiction_of(target) if target else None
    chain = roster.jurisdiction_chain(jid) if jid else []
    return [PROVINCE] + [j for j in reversed(chain) if roster.jurisdictions[j].admins]


async def admin_rooms_for(ctx: BotContext, target: str | None) -> list[str]:
    """The administrators' rooms (province first) for a department id or jurisdiction id."""
    known = _known(ctx)
    rooms = []
    for jid in jurisdictions_with_rooms(ctx, target):
        room_id = known.get(jid)
        if room_id is None:
            room_id = await ctx.room_by_alias(alias_of(ctx, jid))
            if room_id is not None:
                known[jid] = room_id
        if room_id is not None:
            rooms.append(room_id)
    return rooms


async def ensure_admin_room(ctx: BotContext, jurisdiction: str = PROVINCE) -> str:
    """Make (or find) a jurisdiction's administrators' room and invite its administrators.

    Here rather than in the admin bot so that a bot starting before it (the directory reporting
    provisioning progress) can reach the administrators on a cold start."""
    bot, t = ctx.bot_intent, ctx.messages
    alias = alias_of(ctx, jurisdiction)
    if jurisdiction == PROVINCE:
        admins = list(ctx.config["admins"] or [])
        name, topic = t("admin.room_name"), t("admin.room_topic")
    else:
        jur = ctx.roster.jurisdictions[jurisdiction]
        admins = list(jur.admins)
        name = t("admin.jurisdiction_room_name", jurisdiction=jur.name)
        topic = t("admin.jurisdiction_room_topic", jurisdiction=jur.name)
    room_id = await ctx.room_by_alias(alias)
    if room_id is None:
        room_id = await bot.create_room(
            alias_localpart=alias, preset=RoomCreatePreset.PRIVATE, room_version=ctx.rooms.version,
            name=name, topic=topic,
        )
    record(ctx, jurisdiction, room_id)
    joined = await bot.get_joined_members(room_id) if admins else {}
    for mxid in admins:
        if mxid not in joined:
            try:
                await bot.invite_user(room_id, mxid)
            except MatrixRequestError as e:
                ctx.log.info("Admin %s not invited: %s", mxid, e)
    return room_id


async def post_to_admins(ctx: BotContext, key: str, target: str | None,
                         content: dict[str, Any]) -> list[str]:
    """Send one notice to every administrators' room for `target`; returns the rooms.

    The province's room gets `key` itself (so a notice that used to go to the one room keeps its
    key), each other room `key/<jurisdiction>`, so every send is idempotent on its own."""
    return await post_grouped_to_admins(ctx, key, [target], lambda _: content)


async def post_grouped_to_admins(
    ctx: BotContext, key: str, targets: list[str | None],
    content_for: Callable[[list[str | None]], dict[str, Any]],
) -> list[str]:
    """One notice to each administrators' room that hears about any of `targets`, made by
    `content_for` from the targets that room hears about (in the order given): the province's
    room gets them all, a city's room its own. Keys as in `post_to_admins`."""
    groups: dict[str, list[str | None]] = {}
    for target in targets:
        for jid in jurisdictions_with_rooms(ctx, target):
            groups.setdefault(jid, []).append(target)
    known, rooms = _known(ctx), []
    for jid, mine in groups.items():
        room_id = known.get(jid) or await ctx.room_by_alias(alias_of(ctx, jid))
        if room_id is None:
            continue
        known[jid] = room_id
        await ctx.send(key if jid == PROVINCE else f"{key}/{jid}", room_id, content_for(mine))
        rooms.append(room_id)
    return rooms


def is_admin_room(ctx: BotContext, room_id: str | None) -> bool:
    return room_id is not None and room_id in _known(ctx).values()
