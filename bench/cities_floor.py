"""The province's tree made by a plain appservice client: the homeserver's cost of the same work.

Row 12's goal is a ratio to bare createRoom calls, which leaves out most of what a department
needs from the homeserver. This floor does, with raw HTTP and no database, what the directory
asks of the homeserver on a cold start, in the same order and eight at a time: the top space,
then each level of jurisdiction spaces (with `m.space.parent` in createRoom and the child link in
the space above); then per department its account (register, display name, avatar uploaded once
per image, avatar URL) and its room created by that account, carrying name, topic, alias, public
listing, history and guest access, avatar, power levels and `m.space.parent`, then the child link
in its space. What the bridge spends beyond it is its own work: its database, the bots' start, the
state it reads back, its retries and checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bench.stack import Stack
from bots.directory.layout import read_only_power_levels
from bridge.avatars import SPACE_COLOUR, colour_for, find_font, label_for, render
from bridge.parallel import DEFAULT_CONCURRENCY
from bridge.room_versions import with_creator
from bridge.roster import load_roster
from bridge.roster.files import roster_files

TOPIC = "【值班中】工作人员在线，私信即可咨询；非工作时间可留言，上班后答复。工作时间：工作日 08:30–12:00，14:00–17:30。"


async def same_work(stack: Stack, roster_glob: str, version: str,
                    concurrency: int = DEFAULT_CONCURRENCY) -> dict[str, Any]:
    """Seconds for the tree of the roster at `roster_glob`, made by a plain client."""
    roster_dir = Path(roster_glob).parent
    roster = load_roster(roster_files([roster_glob], roster_dir))
    font = find_font()
    images: dict[tuple[str, str], bytes] = {}
    for dept in roster.departments.values():  # rendered before the clock starts
        key = (label_for(dept.short_name or dept.name), colour_for(dept.category))
        if key not in images and font:
            images[key] = render(*key, font)
    tag = uuid.uuid4().hex[:6]
    semaphore = asyncio.Semaphore(concurrency)
    uploaded: dict[tuple[str, str], asyncio.Task[str]] = {}
    requests = 0
    headers = {"Authorization": f"Bearer {stack.as_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async def call(method: str, path: str, body: Any = None, *, as_user: str | None = None,
                       data: bytes | None = None, content_type: str = "") -> dict[str, Any]:
            nonlocal requests
            requests += 1
            params = {"user_id": as_user} if as_user else None
            extra = {"Content-Type": content_type} if content_type else None
            async with http.request(method, stack.url + path, json=body, data=data,
                                    params=params, headers=extra) as resp:
                answer: dict[str, Any] = await resp.json(content_type=None)
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {answer}")
                return answer

        async def upload(key: tuple[str, str]) -> str:
            if key not in images:  # a space's image (a few): rendered when first needed
                images[key] = render(*key, font) if font else b""
            if key not in uploaded:
                uploaded[key] = asyncio.create_task(_content_uri(call, images[key]))
            return await uploaded[key]

        async def space(name: str, alias: str, parent: str | None) -> str:
            state: list[dict[str, Any]] = [{"type": "m.room.history_visibility",
                                            "content": {"history_visibility": "world_readable"}}]
            if font:
                state.append({"type": "m.room.avatar",
                              "content": {"url": await upload((label_for(name), SPACE_COLOUR))}})
            if parent:
                state.append({"type": "m.space.parent", "state_key": parent,
                              "content": {"via": [stack.domain], "canonical": True}})
            room = (await call("POST", "/_matrix/client/v3/createRoom", {
                "preset": "public_chat", "visibility": "public", "room_version": version,
                "room_alias_name": alias, "name": name, "topic": f"{name} · 网上值班室",
                "creation_content": {"type": "m.space"}, "initial_state": state}))["room_id"]
            if parent:
                await call("PUT", f"/_matrix/client/v3/rooms/{quote(parent)}/state/m.space.child/"
                                  f"{quote(room)}", {"via": [stack.domain], "suggested": True})
            return str(room)

        async def department(dept: Any, space_room: str) -> None:
            async with semaphore:
                ghost_local = f"dutyroom_fl{tag}_{dept.id}"
                ghost = f"@{ghost_local}:{stack.domain}"
                await call("POST", "/_matrix/client/v3/register",
                           {"type": "m.login.application_service", "username": ghost_local,
                            "inhibit_login": True})
                await call("PUT", f"/_matrix/client/v3/profile/{quote(ghost)}/displayname",
                           {"displayname": dept.name}, as_user=ghost)
                state: list[dict[str, Any]] = [
                    {"type": "m.room.history_visibility", "content": {"history_visibility": "world_readable"}},
                    {"type": "m.room.guest_access", "content": {"guest_access": "can_join"}},
                    {"type": "m.space.parent", "state_key": space_room,
                     "content": {"via": [stack.domain], "canonical": True}}]
                if font:
                    avatar = await upload((label_for(dept.short_name or dept.name),
                                           colour_for(dept.category)))
                    await call("PUT", f"/_matrix/client/v3/profile/{quote(ghost)}/avatar_url",
                               {"avatar_url": avatar}, as_user=ghost)
                    state.append({"type": "m.room.avatar", "content": {"url": avatar}})
                levels = with_creator(read_only_power_levels(None), ghost, version)
                room = (await call("POST", "/_matrix/client/v3/createRoom", {
                    "preset": "public_chat", "visibility": "public", "room_version": version,
                    "room_alias_name": f"{ghost_local}_room", "name": dept.name,
                    "topic": f"{TOPIC}\n{dept.description}", "initial_state": state,
                    "power_level_content_override": levels}, as_user=ghost))["room_id"]
                await call("PUT", f"/_matrix/client/v3/rooms/{quote(space_room)}/state/"
                                  f"m.space.child/{quote(str(room))}",
                           {"via": [stack.domain], "order": f"{dept.order:05d}", "suggested": True})

        started = time.perf_counter()
        spaces = {"": await space("浙江政务通 · 网上值班室", f"dutyroom_fl{tag}_top", None)}
        levels = _levels(roster)
        for level in levels:
            async def one(jur: Any) -> None:
                async with semaphore:
                    parent = spaces[jur.parent or ""]
                    spaces[jur.id] = await space(jur.space_name or jur.name,
                                                 f"dutyroom_fl{tag}_space_{jur.id}", parent)
            await asyncio.gather(*(one(jur) for jur in level))
        await asyncio.gather(*(department(d, spaces[d.jurisdiction])
                               for d in roster.departments.values()))
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "requests": requests,
            "departments": len(roster.departments), "spaces": len(spaces)}


@contextlib.asynccontextmanager
async def receiving(port: int) -> AsyncIterator[dict[str, int]]:
    """An appservice endpoint that takes every transaction and does nothing, on the
    registration's port while a floor runs: the homeserver pushes a floor's events as it pushes
    the bridge's (any appservice receives them), and no backlog of refused pushes is left for
    the bridge's warm restart to receive."""
    seen = {"transactions": 0, "events": 0}

    async def transaction(request: web.Request) -> web.Response:
        body = await request.json()
        seen["transactions"] += 1
        seen["events"] += len(body.get("events", []))
        return web.json_response({})

    app = web.Application()
    app.router.add_put("/_matrix/app/v1/transactions/{txn}", transaction)
    app.router.add_put("/transactions/{txn}", transaction)
    app.router.add_post("/_matrix/app/v1/ping", lambda _: web.json_response({}))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield seen
    finally:
        await runner.cleanup()


async def _content_uri(call: Any, image: bytes) -> str:
    answer = await call("POST", "/_matrix/media/v3/upload?filename=avatar.png", data=image,
                        content_type="image/png")
    return str(answer["content_uri"])


def _levels(roster: Any) -> list[list[Any]]:
    """Jurisdictions by depth in the tree, as the directory makes them (bots/directory/bot.py)."""
    levels: dict[int, list[Any]] = {}
    for jur in roster.jurisdictions.values():
        levels.setdefault(len(roster.jurisdiction_chain(jur.id)), []).append(jur)
    return [levels[depth] for depth in sorted(levels)]
