"""Mail fixtures: a real database (SQLite and PostgreSQL), a real SMTP office, helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import aiosmtplib
import pytest
from mautrix.util.async_db import Database

from bridge.clock import Clock
from bridge.mail import InboundMail, MailSettings, MailTransport, mail_upgrade_table
from devstack import MailSink
from devstack.ports import free_port

OFFICE = "xinfang@zj.gov.example"
DOMAIN = "reply.dutyroom.example"
SECRET = b"test-secret-0123456789abcdef"


class MovableClock(Clock):
    """Real time plus an offset a test can push forward (retries need time to pass)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.create(database_url)
    await database.start()
    await mail_upgrade_table.upgrade(database)
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink() as running:
        yield running


def make_settings(smtp_port: int, **extra: object) -> MailSettings:
    values: dict[str, object] = dict(
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none", smtp_username="",
        smtp_password="", from_address="dutyroom@dutyroom.example", from_name="浙江政务通 · 网上值班室",
        reply_domain=DOMAIN, token_secret=SECRET, listen_port=0,
        retry_min_seconds=0.1, retry_max_seconds=0.3, smtp_timeout_seconds=5,
    )
    values.update(extra)
    return MailSettings(**values)  # type: ignore[arg-type]


class Running:
    """A started transport plus what its hooks saw."""

    def __init__(self, transport: MailTransport) -> None:
        self.transport = transport
        self.replies: list[InboundMail] = []
        self.failures: list[tuple[str, str]] = []

        async def on_reply(mail: InboundMail) -> None:
            self.replies.append(mail)

        async def on_failure(key: str, error: str) -> None:
            self.failures.append((key, error))

        transport.on_reply.append(on_reply)
        transport.on_failure.append(on_failure)
        transport.poll_seconds = 0.05

    async def send_reply(self, message: EmailMessage, mail_from: str = OFFICE,
                         rcpt: str | None = None) -> bool:
        """Play the office's MTA; True when the listener accepted the mail."""
        try:
            await aiosmtplib.send(
                message, hostname="127.0.0.1", port=self.transport.listen_port,
                sender=mail_from, recipients=[rcpt or str(message["To"].addresses[0].addr_spec)],
                start_tls=False, timeout=10,
            )
        except aiosmtplib.SMTPException:
            return False
        return True


@pytest.fixture
async def start_transport(
    db: Database, clock: MovableClock,
) -> AsyncIterator[Callable[..., asyncio.Future[Running]]]:
    started: list[MailTransport] = []

    async def start(smtp_port: int, **extra: object) -> Running:
        transport = MailTransport(db, make_settings(smtp_port, **extra), clock)
        await transport.start()
        started.append(transport)
        return Running(transport)

    yield start  # type: ignore[misc]
    for transport in started:
        await transport.stop()


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def free_dead_port() -> int:
    return free_port()
