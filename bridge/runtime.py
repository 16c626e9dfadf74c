"""Composes the parts: database, state store, appservice endpoint, inbox, outbox, roster, bots."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.api import HTTPAPI, Method
from mautrix.api import Path as ApiPath
from mautrix.appservice.state_store.asyncpg import PgASStateStore
from mautrix.errors import MUserInUse
from mautrix.types import EncryptedEvent, Event, EventType
from mautrix.util.async_db import Database

from .appservice import DurableAppService
from .audit import audit_upgrade_table
from .avatars import BOT_COLOUR, Avatars, avatar_upgrade_table
from .bot import Bot
from .bot_host import BotHost
from .clock import Clock
from .config import SERVICE_ACCOUNTS, Config
from .context import BotContext
from .crypto.manager import Encryption
from .db import DeadLetterTable, InboxTable, OutboxTable, upgrade_table
from .db.dead_letter import DeadLetter
from .db.sqlite_queries import use_loop_thread_queries
from .dead_letter_watch import DeadLetterWatch
from .gap_filler import GapFiller
from .inbox_processor import InboxProcessor
from .mail import MailTransport, mail_upgrade_table
from .messages import Messages
from .outbox_sender import OutboxSender
from .room_versions import RoomSettings, choose_version
from .roster_watcher import RosterWatcher

log = logging.getLogger("dutyroom.runtime")

# Processed events are remembered this long so that a late resend is still recognised.
INBOX_RETENTION_MS = 7 * 24 * 3600 * 1000


def import_bot(path: str) -> type[Bot]:
    """Load an extra bot class named `package.module:ClassName` in the config."""
    module_name, _, class_name = path.partition(":")
    bot_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(bot_class, type) and issubclass(bot_class, Bot)):
        raise TypeError(f"{path} is not a bridge.bot.Bot subclass")
    return bot_class


class Runtime:
    def __init__(
        self,
        config: Config,
        bot_classes: Sequence[type[Bot]],
        *,
        clock: Clock | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.config = config
        disabled = set(config.get("bots.disabled", []) or [])
        self.bot_classes = [b for b in bot_classes if b.name not in disabled] + [
            import_bot(path) for path in config.get("bots.extra", []) or []
        ]
        self.clock = clock or Clock()
        self.base_dir = base_dir or Path.cwd()
        self.bots: list[Bot] = []
        self.started = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._devices_reported: set[str] = set()  # accounts the administrators heard lack a device

    async def start(self) -> None:
        cfg = self.config
        opts: dict[str, Any] = dict(cfg.get("appservice.database_opts", {}) or {})
        if str(cfg["appservice.database"]).startswith("sqlite"):
            # One connection: its statements run on the event loop's thread, where a second
            # connection waiting for a lock would block the one holding it.
            opts["min_size"] = 1
        use_loop_thread_queries()
        self.db = Database.create(
            cfg["appservice.database"], upgrade_table=upgrade_table, db_args=opts
        )
        await self.db.start()
        self.state_store = PgASStateStore(self.db)
        await self.state_store.upgrade_table.upgrade(self.db)

        self.rosters = RosterWatcher(
            cfg["rosters.paths"], self.base_dir, float(cfg["rosters.poll_interval"])
        )
        self.rosters.load_initial()

        self.az = DurableAppService(
            server=cfg["homeserver.address"],
            domain=cfg.domain,
            as_token=cfg["appservice.as_token"],
            hs_token=cfg["appservice.hs_token"],
            bot_localpart=cfg["appservice.bot.username"],
            id=cfg["appservice.id"],
            verify_ssl=cfg["homeserver.verify_ssl"],
            state_store=self.state_store,
            max_body_size=int(cfg["appservice.max_body_size"]),
            log=logging.getLogger("mau.appservice"),
        )
        self.az.query_user = self._query_user
        self.az.is_own_user = self._is_own_user
        self.inbox = InboxTable(self.db)
        self.az.inbox = self.inbox
        self.az.dead_letters = DeadLetterTable(self.db)
        self.outbox = OutboxSender(
            OutboxTable(self.db),
            homeserver=cfg["homeserver.address"],
            as_token=cfg["appservice.as_token"],
            session=lambda: self.az.http_session,
        )
        self.encryption: Encryption | None = None
        if cfg["encryption.enabled"]:
            self.encryption = Encryption(cfg, self.db, self.az, self.state_store)
            self.az.on_crypto_extras = self.encryption.handle_transaction
            self.outbox.encrypt = self.encryption.encrypt
        self.mail: MailTransport | None = None
        if cfg["mail.enabled"]:
            await mail_upgrade_table.upgrade(self.db)
            self.mail = MailTransport(self.db, cfg.mail_settings(), self.clock)
        messages = Messages(cfg["messages.language"])
        await avatar_upgrade_table.upgrade(self.db)
        await audit_upgrade_table.upgrade(self.db)
        self.avatars = Avatars(self.db, enabled=bool(cfg["avatars.enabled"]),
                               font=str(cfg["avatars.font"] or ""))
        self.room_settings = RoomSettings()  # one for all bots, worked out once the endpoint runs
        for bot_class in self.bot_classes:
            ctx = BotContext(
                config=cfg,
                db=self.db,
                appservice=self.az,
                outbox=self.outbox,
                rosters=self.rosters,
                messages=messages,
                clock=self.clock,
                log=logging.getLogger(f"dutyroom.bot.{bot_class.name}"),
                mail=self.mail,
                rooms=self.room_settings,
                avatars=self.avatars,
                encryption=self.encryption,
            )
            messages.add(bot_class.messages)
            if bot_class.upgrade_table is not None:
                await bot_class.upgrade_table.upgrade(self.db)
            self.bots.append(bot_class(ctx))
        self.host = BotHost(self.bots, is_own_user=self._is_own_user)
        # Events are stored from the first second, but processed only once the bots are ready.
        self.processor = InboxProcessor(
            self.inbox,
            self._handle,
            max_attempts=int(cfg["appservice.inbox_max_attempts"]),
            hold=True,
            after_trouble=float(cfg["appservice.reconcile_after_trouble"]),
            is_own_user=self._is_own_user,
        )
        self.gaps = GapFiller(
            self.db, self.inbox, homeserver=cfg["homeserver.address"],
            as_token=cfg["appservice.as_token"], user_prefix=cfg.prefix,
            session=lambda: self.az.http_session, suspect=self.processor.suspect,
            trouble=self.processor.trouble, is_own_user=self._is_own_user,
            reconcile_interval=float(cfg["appservice.reconcile_interval"]),
            sweep_every=int(cfg["appservice.reconcile_sweep_every"]),
        )
        self.processor.reconcile = self.gaps.reconcile
        self.az.on_new_events = self.processor.take
        self.dead_letters = DeadLetterWatch(
            self.az.dead_letters, interval=float(cfg["appservice.dead_letter_sweep_interval"]),
            wake_inbox=self.processor.wake, wake_outbox=self.outbox.queues.wake,
        )
        self.dead_letters.hooks.append(self._tell_bots)
        self.az.on_dead_letter = self.dead_letters.poke
        self.processor.on_dead_letter = self.dead_letters.poke
        self.outbox.on_failure.append(self._send_failed)
        self.az.last_txn = await self.inbox.last_txn_id()
        if cfg["appservice.reconcile_on_txn_anomaly"]:
            self.az.on_txn_anomaly = self._txn_anomaly
            self.az.refuse_gaps = True
            self.az.on_refused = lambda: self._in_background(self._ping_homeserver(0.2))

        own_user = await self._register_bot()
        if self.encryption is not None:
            self.encryption.inbox.readable = own_user
            self.encryption.inbox.on_problem = self._tell_problem
            # Before transactions are taken: their to-device messages need the device loaded.
            await self.encryption.start()
        await self.az.start(host=cfg["appservice.hostname"], port=int(cfg["appservice.port"]))
        self.az.ready = True
        await self._choose_room_version()
        await self._ensure_bot_profile()
        await self.outbox.resume()
        for bot in self.bots:
            await bot.start()
        if self.mail is not None:
            await self.mail.start()  # after the bots, whose reply and failure hooks it calls
        if self.encryption is not None:
            # Before the bridge says it is ready: a citizen may open a DM at once, and Element
            # encrypts it only if the department has a device (none made on a warm start).
            await self._ensure_devices(self.encryption, self._department_accounts())
            self.rosters.on_change.append(self._roster_devices)
        if self.encryption is not None and not own_user:  # (the log has said so too)
            today = self.clock.now().date().isoformat()  # a reminder a day, at a restart
            await self._tell_problem("old_registration", f"old_registration/{today}", {})
        self.rosters.on_change.extend(bot.roster_changed for bot in self.bots)
        self.rosters.start()
        self.processor.hold = bool(cfg["appservice.inbox_hold_processing"])
        # A start is a sign of trouble: the homeserver may have lost or reordered pushes while
        # we were down, and now resends stored transactions oldest first (scheduler.py's
        # recoverer). Rooms are read back before their events are processed.
        self.processor.trouble(False)
        await self.processor.resume()
        await self.gaps.suspect_recent(deep=True)
        await self.inbox.prune(int(time.time() * 1000) - INBOX_RETENTION_MS)
        await self._ping_homeserver()
        self._in_background(self._heartbeat_after_start())
        self.gaps.start()
        self.dead_letters.start()  # its first sweep reports what a crash left unreported
        self.az.fully_started = True
        self.started.set()
        log.info("Bridge ready: %d bots, roster of %d departments",
                 len(self.bots), len(self.rosters.current.departments))

    async def _register_bot(self) -> bool:
        """The bot is a user of the bridge's namespace, not the appservice's own user
        (Config.sender_localpart): register it once (a homeserver that has it, as every install
        from before, answers M_USER_IN_USE). The homeserver says which user the registration
        names, so a registration from before (the bot as the appservice's user) keeps working
        as it did. True if the bot is not that user, and so may read its device's inbox."""
        bot = self.config.bot_mxid
        verify = bool(self.config["homeserver.verify_ssl"])
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=None if verify else False))
        api = HTTPAPI(base_url=self.config["homeserver.address"], token=self.az.as_token,
                      client_session=session)
        try:
            sender = (await api.request(Method.GET, ApiPath.v3.account.whoami))["user_id"]
            if sender == bot:
                return False
            try:
                await api.request(Method.POST, ApiPath.v3.register, {
                    "type": "m.login.application_service",
                    "username": bot[1:].split(":", 1)[0], "inhibit_login": True})
                log.info("Registered the bot %s", bot)
            except MUserInUse:
                pass
            return True
        finally:
            await session.close()

    async def _handle(self, event: Event) -> None:
        await self.state_store.update_state(event)
        if self.encryption is not None:
            await self.encryption.observe(event)
            if isinstance(event, EncryptedEvent):
                # The bots get the decrypted event; one that can never be decrypted reaches them
                # as it is (and is answered with a notice saying so).
                event = await self.encryption.decrypt(event)
        await self.host.dispatch(event)

    async def _tell_bots(self, letter: DeadLetter) -> None:
        for bot in self.bots:
            try:
                await bot.dead_letter(letter)
            except Exception:
                log.exception("Bot %s failed on dead letter %s", bot.name, letter.id)

    def _department_accounts(self) -> list[str]:
        """Every account a person may write to: the departments' and the service accounts'
        (letters, complaints, notices)."""
        return [self.config.ghost_mxid(d) for d in sorted(self.rosters.current.departments)] + [
            self.config.service_mxid(name) for name in SERVICE_ACCOUNTS]

    async def _roster_devices(self) -> None:
        """New departments get their devices in the background (the roster's listeners run in
        turn: a city's worth of devices must not hold up the others)."""
        if self.encryption is not None:
            self._in_background(self._ensure_devices(self.encryption, self._department_accounts()))

    async def _ensure_devices(self, encryption: Encryption, mxids: list[str]) -> None:
        """Make the missing devices; accounts left without one reach the administrators (the
        bot's device stands in, so the bot joins those departments' encrypted DMs), and so
        does the try that makes them all after such a report."""
        try:
            await encryption.ensure_department_devices(mxids)
        except Exception:
            log.exception("Making the departments' encryption devices failed")
        missing = encryption.devices_missing(mxids)
        today = self.clock.now().date().isoformat()
        if missing:
            names = sorted(missing)
            digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
            await self._tell_problem("devices_missing", f"devices_missing/{today}/{digest}", {
                "count": str(len(names)),
                "accounts": "、".join(names[:5]) + (" …" if len(names) > 5 else ""),
                "error": missing[names[0]]})
            self._devices_reported = set(names)
        elif self._devices_reported:
            count, self._devices_reported = len(self._devices_reported), set()
            await self._tell_problem("devices_made", f"devices_made/{today}/{time.time_ns()}",
                                     {"count": str(count)})

    async def _tell_problem(self, kind: str, send_key: str, details: dict[str, str]) -> None:
        for bot in self.bots:
            try:
                await bot.runtime_problem(kind, send_key, details)
            except Exception:
                log.exception("Bot %s failed on runtime problem %s", bot.name, kind)

    async def _send_failed(self, *_: Any) -> None:
        self.dead_letters.poke()

    def _txn_anomaly(self, kind: str, txn_id: str, room_ids: list[str]) -> None:
        """A transaction out of sequence: its rooms, and (a skipped transaction's rooms being
        unknown) every recently active room, are read back before more is processed there."""
        self.processor.suspect(room_ids)
        self.processor.trouble(False)
        self._in_background(self.gaps.suspect_recent(deep=False))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _is_own_user(self, mxid: str) -> bool:
        return self.config.is_own_user(mxid)

    async def _query_user(self, mxid: str) -> dict[str, Any] | None:
        """The homeserver asks whether a user in our namespace exists, e.g. before a DM invite."""
        dept_id = self.config.ghost_dept_id(mxid)
        if dept_id is None or dept_id not in self.rosters.current.departments:
            return None
        intent = self.az.intent.user(mxid)
        await intent.ensure_registered()
        await intent.set_displayname(self.rosters.current.departments[dept_id].name)
        return {}

    async def _choose_room_version(self) -> None:
        """Refuse to start, naming the cause, rather than fail at the first room to create."""
        answer = await self.az.intent.api.request(Method.GET, ApiPath.v3.capabilities)
        self.room_settings.version = choose_version(self.config["appservice.room_version"], answer)
        log.info("New rooms are made in room version %s", self.room_settings.version)

    async def _ensure_bot_profile(self) -> None:
        intent = self.az.intent
        await intent.ensure_registered()
        name = self.config["appservice.bot.displayname"]
        if name:
            await intent.set_displayname(name)
        # Only where the bot has none: a new avatar is copied into every room the bot is in
        # (measured: on a homeserver with many such rooms Synapse answered 500), and an avatar
        # is never a reason not to start.
        try:
            if not await intent.get_avatar_url(intent.mxid):
                avatar = await self.avatars.generated(intent, self.config["avatars.bot_label"],
                                                      BOT_COLOUR)
                if avatar:
                    await intent.set_avatar_url(avatar, check_current=False)
        except Exception:
            log.warning("Could not set the bot's avatar; going on without", exc_info=True)

    async def _heartbeat_after_start(self) -> None:
        """One more transaction from the homeserver shortly after a start.

        Synapse's recoverer race (bridge/gap_filler.py): a transaction created while the
        appservice is still marked down is stored, not sent, and if the recoverer has already
        looked, it waits for the next failure. A room the bridge knows is found by the gap
        filler; a brand-new one (a citizen's first DM invite) is not, and with no other traffic
        it waited until something else happened (30 s and more in the test suite). A hidden
        state event in the bot's administrators' room makes the homeserver push again, so a
        stranded transaction shows as a gap in the IDs and is asked for at once."""
        for pause in (3.0, 10.0):
            await asyncio.sleep(pause)
            try:
                alias = f"#{self.config.prefix}admins:{self.config.domain}"
                room = (await self.az.intent.resolve_room_alias(alias)).room_id
                await self.az.intent.send_state_event(
                    room, EventType.find("org.dutyroom.heartbeat", EventType.Class.STATE),
                    {"at": int(time.time() * 1000)}, state_key="")
            except Exception as e:
                log.info("No heartbeat after start (%s)", e)
                return

    async def _ping_homeserver(self, after: float = 0.0) -> None:
        """Makes the homeserver flush queued transactions at once instead of after its backoff
        (`after`: give it time to start its recoverer for a transaction just refused)."""
        await asyncio.sleep(after)
        try:
            await self.az.ping_self()
        except Exception as e:
            log.warning("Homeserver appservice ping failed (is the registration installed?): %s", e)

    async def idle(self) -> None:
        """Wait until every stored event was processed and every queued message sent."""
        while self.processor.queues.busy or self.outbox.queues.busy:
            await self.processor.queues.idle()
            await self.outbox.queues.idle()

    async def stop(self) -> None:
        self.az.ready = False
        if hasattr(self, "gaps"):
            await self.gaps.stop()
        if hasattr(self, "dead_letters"):
            await self.dead_letters.stop()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.rosters.stop()
        await self.processor.queues.stop()
        await self.outbox.queues.stop()
        if self.mail is not None:
            await self.mail.stop()
        for bot in self.bots:
            try:
                await bot.stop()
            except Exception:
                log.exception("Stopping bot %s failed", bot.name)
        await self.az.stop()
        if self.encryption is not None:
            await self.encryption.stop()
        await self.db.stop()
