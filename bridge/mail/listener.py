"""The inbound SMTP listener an MTA relays replies to; it stores a reply before answering 250.

Refusals are 550 with a reason (the MTA bounces them to the sender, so an office that mistyped
learns why); anything that stops us storing is 451, so the MTA keeps the mail and retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from .inbound import read_envelope
from .inbox_table import MailInboxTable
from .outbox_table import MailOutboxTable
from .tokens import ReplyTokens

log = logging.getLogger("dutyroom.mail.listener")

BOUNCE = "bounce:"  # the reference of a bounce address: "bounce:<mail_outbox seq>"

MAX_RECIPIENTS = 20


class ReplyHandler:
    def __init__(
        self, *, reply_domain: str, tokens: ReplyTokens, outbox: MailOutboxTable,
        inbox: MailInboxTable, now_ms: Callable[[], int], on_stored: Callable[[], None],
    ) -> None:
        self.reply_domain = reply_domain.lower()
        self.tokens = tokens
        self.outbox = outbox
        self.inbox = inbox
        self.now_ms = now_ms
        self.on_stored = on_stored

    def reply_ref(self, address: str) -> str | None:
        """The reference of a reply address (reply+<token>), or of a bounce address
        (bounce+<token>, the envelope sender of our mail: "bounce:<outbox seq>")."""
        local, _, domain = address.strip("<> ").rpartition("@")
        if domain.lower() != self.reply_domain:
            return None
        for prefix, bounce in (("reply+", False), ("bounce+", True)):
            if local.lower().startswith(prefix):
                ref = self.tokens.check(local[len(prefix):])
                return ref if ref is not None and ref.startswith(BOUNCE) == bounce else None
        return None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if self.reply_ref(address) is None:
            log.warning("Refused recipient %r from %r", address, envelope.mail_from)
            return ("550 5.1.1 Unknown or expired reply address: reply to the most recent "
                    "letter from this office")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            facts = read_envelope(raw, envelope.mail_from)
        except Exception:
            log.exception("Unparseable mail from %r", envelope.mail_from)
            return "550 5.6.0 Malformed message"
        refs = [ref for a in envelope.rcpt_tos if (ref := self.reply_ref(a)) is not None]
        if not refs:  # a token expired between RCPT and DATA
            return "550 5.1.1 Unknown or expired reply address"
        bounces_only = all(ref.startswith(BOUNCE) for ref in refs)
        if len(facts.from_addresses) != 1 and not bounces_only:
            log.warning("Refused %s: From has %d addresses", facts.message_id,
                        len(facts.from_addresses))
            return "550 5.7.1 Exactly one From address is required"
        sender = facts.from_addresses[0] if facts.from_addresses else ""
        try:
            for ref in refs:
                if ref.startswith(BOUNCE):
                    continue  # from whichever MTA gave up; the token says which mail it was
                if sender not in await self.outbox.senders(ref):
                    # Quarantined in the log only: an impostor's text never reaches a citizen.
                    log.warning("Refused %s for %s: sender %r is not the office written to",
                                facts.message_id, ref, sender)
                    return "550 5.7.1 Sender is not the office this letter was sent to"
            new = await self.inbox.store(facts.message_id, refs, sender, facts.auto_submitted,
                                         raw, self.now_ms())
        except Exception:
            log.exception("Could not store mail %s; asking the MTA to retry", facts.message_id)
            return "451 4.3.0 Temporary failure storing the message, try again later"
        if new:
            self.on_stored()
        else:
            log.info("Replayed Message-ID %s accepted and ignored", facts.message_id)
        return "250 2.0.0 Message accepted"


async def start_listener(handler: ReplyHandler, host: str, port: int,
                         data_size_limit: int) -> asyncio.AbstractServer:
    """An aiosmtpd server on the running loop, so the handler can use the bridge's database."""
    loop = asyncio.get_running_loop()

    def factory() -> Any:
        return SMTP(handler, data_size_limit=data_size_limit, enable_SMTPUTF8=True,
                    hostname=handler.reply_domain, loop=loop)

    return await loop.create_server(factory, host=host, port=port)

