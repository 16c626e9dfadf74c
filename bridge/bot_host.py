"""Routes each processed event to the bots that declared a handler or command for it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mautrix.types import Event, EventType, MessageEvent, MessageType

from .bot import COMMAND_PREFIX, Bot

log = logging.getLogger("dutyroom.bots")


class BotHost:
    def __init__(self, bots: Sequence[Bot], is_own_user: Callable[[str], bool]) -> None:
        self.bots = list(bots)
        self.is_own_user = is_own_user
        self._handlers: list[tuple[tuple[EventType, ...], Callable[[Any], Awaitable[None]]]] = []
        self._commands: dict[str, Callable[[Any, str], Awaitable[None]]] = {}
        for bot in self.bots:
            self._handlers.extend(bot.event_handlers())
            for spec, func in bot.commands():
                for name in (spec.name, *spec.aliases):
                    if name in self._commands:
                        raise ValueError(f"Command {COMMAND_PREFIX}{name} is declared twice")
                    self._commands[name] = func

    async def dispatch(self, event: Event) -> None:
        """Run every matching handler; the first failure propagates so the inbox retries."""
        if self.is_own_user(event.sender):
            return  # our own echoes: acting on them is how reply loops start
        for types, func in self._handlers:
            if not types or event.type in types:
                await func(event)
        if isinstance(event, MessageEvent) and event.type == EventType.ROOM_MESSAGE:
            await self._dispatch_command(event)

    async def _dispatch_command(self, event: MessageEvent) -> None:
        content = event.content
        if content.msgtype not in (MessageType.TEXT, MessageType.NOTICE) or not content.body:
            return
        body = content.body.strip()
        if not body.startswith(COMMAND_PREFIX):
            return
        name, _, args = body[len(COMMAND_PREFIX):].partition(" ")
        func = self._commands.get(name.lower())
        if func is not None:
            await func(event, args.strip())
