"""MailTransport: the durable SMTP outbox and the reply listener, mirroring the Matrix outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mautrix.util.async_db import Database

from ..clock import Clock
from .compose import OutgoingMail, build_message, check_address, new_message_id
from .inbound import InboundMail, bounce_failure, parse_reply
from .inbox_table import InboxRow, MailInboxTable
from .listener import BOUNCE, ReplyHandler, start_listener
from .outbox_table import MailOutboxTable, OutgoingRow
from .settings import MailSettings
from .smtp_client import PermanentMailError, TransientMailError, deliver
from .tokens import ReplyTokens

log = logging.getLogger("dutyroom.mail")

FailureHook = Callable[[str, str], Awaitable[None]]
ReplyHook = Callable[[InboundMail], Awaitable[None]]
# A stored reply given up on: (its reference, its sender, its Message-ID, the last error).
DeadReplyHook = Callable[[str, str, str, str], Awaitable[None]]

# A reply whose callbacks keep raising is parked as 'dead' after this many attempts.
INBOX_MAX_ATTEMPTS = 10


class MailTransport:
    def __init__(self, db: Database, settings: MailSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.tokens = ReplyTokens(settings.token_secret, settings.token_ttl_days, clock)
        self.outbox = MailOutboxTable(db)
        self.inbox = MailInboxTable(db)
        self.on_failure: list[FailureHook] = []
        # The send loop and a bounce both notify failures: one at a time, or both would read
        # the same unnotified row and run its hooks twice (the citizen told twice).
        self._notifying = asyncio.Lock()
        self.on_reply: list[ReplyHook] = []
        self.on_dead_reply: list[DeadReplyHook] = []
        # The worker re-reads the clock at least this often, so a test clock moved forward (or
        # a retry that came due) is noticed without a wake-up.
        self.poll_seconds = 1.0
        self._send_wake = asyncio.Event()
        self._inbox_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.AbstractServer | None = None
        self.handler = ReplyHandler(
            reply_domain=settings.reply_domain, tokens=self.tokens, outbox=self.outbox,
            inbox=self.inbox, now_ms=self._now_ms, on_stored=self._inbox_wake.set,
        )

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    @property
    def listen_port(self) -> int:
        """The bound port (useful with listen_port=0)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await start_listener(
            self.handler, self.settings.listen_host, self.settings.listen_port,
            self.settings.max_message_bytes,
        )
        self._tasks = [asyncio.create_task(self._send_loop(), name="mail-send"),
                       asyncio.create_task(self._inbox_loop(), name="mail-inbox")]
        log.info("Mail listener on %s:%d", self.settings.listen_host, self.listen_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def queue(self, mail: OutgoingMail) -> str:
        """Store a mail for sending; returns its Message-ID (the stored one for a known key)."""
        stored = await self.outbox.get(mail.key)
        if stored is not None:
            return stored.message_id
        message_id = new_message_id(self.settings.reply_domain)
        reply_to = None
        if mail.reply_ref is not None:
            reply_to = f"reply+{self.tokens.make(mail.reply_ref)}@{self.settings.reply_domain}"
        message = build_message(
            mail, from_address=self.settings.from_address, from_name=self.settings.from_name,
            message_id=message_id, reply_to=reply_to, clock=self.clock,
        )
        raw = message.as_bytes().decode("ascii")  # 7-bit policy: always ASCII
        recipient = check_address("recipient address", mail.to)
        stored_id = await self.outbox.add(
            mail.key, message_id, recipient, mail.reply_ref, raw, self._now_ms()
        )
        self._send_wake.set()
        return stored_id

    async def status(self, key: str) -> OutgoingRow | None:
        """The stored state of a queued mail: state is pending, sent, failed or withdrawn
        (erased at the citizen's request before it went)."""
        return await self.outbox.get(key)

    async def latest(self, key: str) -> OutgoingRow | None:
        """Of a mail and its resends (queued as `key/again/…` after it failed), the newest."""
        return await self.outbox.latest(key)

    def wake(self) -> None:
        self._send_wake.set()
        self._inbox_wake.set()

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, seconds))
        except asyncio.TimeoutError:
            pass
        event.clear()

    # ---- sending -----------------------------------------------------------------------
    async def _send_loop(self) -> None:
        while True:
            try:
                await self._notify_failures()  # also those a crash left un-notified
                while (row := await self.outbox.next_due(self._now_ms())) is not None:
                    await self._attempt(row)
                wakeup = await self.outbox.next_wakeup()
                delay = self.poll_seconds
                if wakeup is not None:
                    delay = min(delay, (wakeup - self._now_ms()) / 1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Mail sender failed; retrying")
                delay = self.poll_seconds
            await self._wait(self._send_wake, delay)

    def _backoff(self, attempts: int) -> float:
        s = self.settings
        return min(s.retry_max_seconds, s.retry_min_seconds * 2 ** min(attempts, 30))

    def bounce_address(self, seq: int) -> str:
        """The envelope sender of outbox mail `seq`: an MTA that gives up on it later sends its
        bounce there, through the reply listener, so the failure is known (VERP)."""
        return f"bounce+{self.tokens.make(f'{BOUNCE}{seq}')}@{self.settings.reply_domain}"

    async def _attempt(self, row: OutgoingRow) -> None:
        if not row.raw.strip():  # erased while waiting (bots/privacy withdraws it as well)
            log.info("Mail %s was erased before it could go; withdrawn", row.key)
            await self.outbox.withdraw(row.seq)
            return
        sender = self.bounce_address(row.seq) if self.settings.verp else self.settings.from_address
        try:
            await deliver(self.settings, sender, row.recipient, row.raw.encode("ascii"))
        except TransientMailError as e:
            now = self._now_ms()
            retry_at = now + int(self._backoff(row.attempts) * 1000)
            if retry_at > row.created_at + self.settings.retry_for_seconds * 1000:
                await self._fail(row, f"gave up after {row.attempts + 1} attempts: {e}")
                return
            log.info("Mail %s deferred (%d): %s", row.key, row.attempts + 1, e)
            await self.outbox.retry_later(row.seq, str(e), retry_at)
        except PermanentMailError as e:
            await self._fail(row, str(e))
        else:
            await self.outbox.mark_sent(row.seq, self._now_ms())
            log.info("Mail %s sent to %s as %s", row.key, row.recipient, row.message_id)

    async def _fail(self, row: OutgoingRow, error: str) -> None:
        log.error("Mail %s to %s failed: %s", row.key, row.recipient, error)
        await self.outbox.mark_failed(row.seq, error)
        await self._notify_failures()

    async def _notify_failures(self) -> None:
        # Marked failed first, hooks after, notified last: a crash in between re-runs the hooks
        # at the next start rather than losing the notice.
        async with self._notifying:
            await self._notify_unnotified()

    async def _notify_unnotified(self) -> None:
        for row in await self.outbox.unnotified_failures():
            for hook in self.on_failure:
                try:
                    await hook(row.key, row.error or "unknown error")
                except Exception:
                    log.exception("Mail failure hook failed for %s", row.key)
            await self.outbox.mark_notified(row.seq)

    # ---- receiving ---------------------------------------------------------------------
    async def _inbox_loop(self) -> None:
        while True:
            try:
                # A failing callback leaves its reply pending: stop the pass and wait, rather
                # than spin on it.
                while (rows := await self.inbox.pending()) and all(
                    [await self._deliver_reply(row) for row in rows]
                ):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Mail inbox failed; retrying")
            await self._wait(self._inbox_wake, self.poll_seconds * 5)

    async def _bounced(self, row: InboxRow) -> None:
        """A mail to a bounce address: the outbox mail it names failed after all, unless the
        mail reports no failure (a delay warning, an auto-reply). A failed mail's hooks run
        as for a refusal at sending: the citizen and the administrators hear of it."""
        failure = bounce_failure(row.raw)
        seq = int(row.reply_ref[len(BOUNCE):])
        sent = await self.outbox.by_seq(seq)
        if failure is None or sent is None or sent.state == "failed":
            log.info("Mail %s to bounce address of outbox %d: no failure to record (%s)",
                     row.message_id, seq, "no failure reported" if failure is None else "known")
            return
        log.error("Mail %s to %s bounced: %s", sent.key, sent.recipient, failure)
        await self.outbox.mark_failed(seq, f"bounced: {failure}")
        await self._notify_failures()

    async def _deliver_reply(self, row: InboxRow) -> bool:
        """Run every on_reply callback, then mark the reply delivered; False if one raised."""
        try:
            if row.reply_ref.startswith(BOUNCE):
                await self._bounced(row)
                await self.inbox.mark_delivered(row.seq)
                return True
            mail = parse_reply(
                row.raw, message_id=row.message_id, reply_ref=row.reply_ref, sender=row.sender,
                auto_submitted=row.auto_submitted,
                max_attachment_bytes=self.settings.max_attachment_bytes,
            )
            for hook in self.on_reply:
                await hook(mail)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            dead = row.attempts + 1 >= INBOX_MAX_ATTEMPTS
            log.exception("Delivering reply %s failed%s", row.message_id, " (dead)" if dead else "")
            error = f"{type(e).__name__}: {e}"
            await self.inbox.record_failure(row.seq, error, dead)
            if dead:  # an office's answer the citizen will not get: someone must look at it
                for hook in self.on_dead_reply:
                    try:
                        await hook(row.reply_ref, row.sender, row.message_id, error)
                    except Exception:
                        log.exception("Dead reply hook failed for %s", row.message_id)
            return False
        await self.inbox.mark_delivered(row.seq)
        return True
