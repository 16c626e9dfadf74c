"""The bot API: a bot declares the events and commands it handles and owns its own tables.

    class EchoBot(Bot):
        name = "echo"

        @command("echo", help="repeat the text")
        async def echo(self, event: MessageEvent, args: str) -> None:
            await self.ctx.send(f"{event.event_id}/echo", event.room_id, text_content(args))

        @on(EventType.ROOM_MEMBER)
        async def member(self, event: StateEvent) -> None: ...

The runtime hands a bot events from the durable inbox (in order per room, after a restart too)
and sends what the bot queues through the durable outbox, so a handler that runs twice after a
crash sends nothing twice as long as it derives its send keys from the source event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mautrix.types import EventType
from mautrix.util.async_db import UpgradeTable

if TYPE_CHECKING:
    from .context import BotContext
    from .db.dead_letter import DeadLetter

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])

COMMAND_PREFIX = "!"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    help: str


def on(*event_types: EventType) -> Callable[[Handler], Handler]:
    """Mark a method as handler of these event types (all types if none are given)."""

    def decorator(func: Handler) -> Handler:
        func.__dutyroom_events__ = tuple(event_types)  # type: ignore[attr-defined]
        return func

    return decorator


def command(name: str, *, aliases: tuple[str, ...] = (), help: str = "") -> Callable[[Handler], Handler]:
    """Mark a method as the handler of `!name args` text messages: `(self, event, args)`."""

    def decorator(func: Handler) -> Handler:
        func.__dutyroom_command__ = CommandSpec(name, aliases, help)  # type: ignore[attr-defined]
        return func

    return decorator


class Bot:
    """Base class of every bot. Subclasses set `name` and, if they have tables, `upgrade_table`."""

    name: ClassVar[str]
    upgrade_table: ClassVar[UpgradeTable | None] = None
    messages: ClassVar[dict[str, dict[str, str]]] = {}

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        """Called once the runtime is up; provisioning belongs here."""

    async def stop(self) -> None:
        """Called on shutdown."""

    async def roster_changed(self) -> None:
        """Called after a new roster was validated and applied (self.ctx.roster is the new one)."""

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Called once for every dead letter: a pushed event too malformed to store, an event
        whose handlers kept failing (kind "inbox"), or a send the outbox gave up on ("outbox").
        A bot tells whom it concerns, e.g. the citizen whose message it was, through the outbox
        under a key named after the letter (so a repeat sends nothing). A hook that raises is
        logged and not called again for this letter."""

    async def runtime_problem(self, kind: str, send_key: str, details: dict[str, str]) -> None:
        """Called when the runtime meets something an administrator must act on that is no
        single event's (e.g. a registration too old to read the encryption device's inbox).
        `kind` names the message, `send_key` makes a repeat send nothing."""

    def event_handlers(self) -> list[tuple[tuple[EventType, ...], Callable[[Any], Awaitable[None]]]]:
        found = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr)
            types = getattr(func, "__dutyroom_events__", None)
            if types is not None:
                found.append((types, getattr(self, attr)))
        return found

    def commands(self) -> list[tuple[CommandSpec, Callable[[Any, str], Awaitable[None]]]]:
        found = []
        for attr in dir(type(self)):
            spec = getattr(getattr(type(self), attr), "__dutyroom_command__", None)
            if spec is not None:
                found.append((spec, getattr(self, attr)))
        return found
