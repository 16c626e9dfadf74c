"""SMTP down, restarts, 4xx and 5xx: every letter is delivered once or reported failed once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from mautrix.util.async_db import Database

from bridge.mail import OutgoingMail
from devstack import MailSink
from devstack.ports import free_port
from tests.mail.conftest import OFFICE, eventually


def letter(n: int) -> OutgoingMail:
    return OutgoingMail(key=f"letter/XJ-{n}", to=OFFICE, to_name="部门信箱", subject=f"第{n}封",
                        text=f"正文 {n}", reply_ref=f"XJ-{n}")


class Refuser:
    """An SMTP server that answers every RCPT with one fixed reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.attempts += 1
        return self.reply


@pytest.fixture
def refuser_550() -> Iterator[Refuser]:
    yield from _serve(Refuser("550 5.1.1 No such mailbox"))


@pytest.fixture
def refuser_451() -> Iterator[Refuser]:
    yield from _serve(Refuser("451 4.3.0 Try later"))


def _serve(handler: Refuser) -> Iterator[Refuser]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()


async def test_outage_and_restart_lose_nothing_and_double_nothing(
    db: Database, start_transport
) -> None:
    sink = MailSink(port=free_port())  # nothing listens there yet: connection refused
    first = await start_transport(sink.port)
    ids = [await first.transport.queue(letter(n)) for n in range(5)]
    await asyncio.sleep(0.5)
    row = await first.transport.status("letter/XJ-0")
    assert row is not None and row.state == "pending" and row.attempts >= 1
    await first.transport.stop()

    second = await start_transport(sink.port)  # a restart over the same database
    assert await second.transport.queue(letter(0)) == ids[0]  # a re-queued key is not doubled
    sink.start()
    try:
        await asyncio.to_thread(sink.wait_for, 5)
        await asyncio.sleep(0.5)  # time for any duplicate to show up
        assert len(sink.messages) == 5
        assert sorted(m.message["Message-ID"] for m in sink.messages) == sorted(ids)
        assert await second.transport.outbox.count("sent") == 5
        assert first.failures == second.failures == []
    finally:
        sink.stop()


async def test_5xx_fails_once_and_notifies(refuser_550: Refuser, start_transport) -> None:
    running = await start_transport(refuser_550.port)  # type: ignore[attr-defined]
    await running.transport.queue(letter(1))
    await eventually(lambda: len(running.failures) == 1)
    await asyncio.sleep(0.3)
    assert running.failures[0][0] == "letter/XJ-1" and "550" in running.failures[0][1]
    assert refuser_550.attempts == 1
    row = await running.transport.status("letter/XJ-1")
    assert row is not None and row.state == "failed"
    await running.transport.stop()
    again = await start_transport(refuser_550.port)  # type: ignore[attr-defined]
    await asyncio.sleep(0.3)
    assert again.failures == []  # notified once, not again after a restart


async def test_4xx_retries_until_the_period_ends(
    refuser_451: Refuser, start_transport, clock
) -> None:
    running = await start_transport(refuser_451.port, retry_for_seconds=3 * 86400)  # type: ignore[attr-defined]
    await running.transport.queue(letter(2))
    await eventually(lambda: refuser_451.attempts >= 3)
    assert running.failures == []
    clock.advance(days=3, seconds=1)  # a long weekend of 451s
    await eventually(lambda: len(running.failures) == 1)
    await asyncio.sleep(0.3)
    assert len(running.failures) == 1 and "451" in running.failures[0][1]


async def test_failure_hooks_rerun_after_crash_before_notice(db: Database, start_transport) -> None:
    running = await start_transport(free_port())
    await running.transport.stop()
    await running.transport.queue(letter(3))
    row = await running.transport.status("letter/XJ-3")
    assert row is not None
    await running.transport.outbox.mark_failed(row.seq, "550 simulated")  # crash before hooks
    again = await start_transport(free_port())
    await eventually(lambda: again.failures == [("letter/XJ-3", "550 simulated")])


async def test_a_mail_erased_while_waiting_is_withdrawn_never_sent_blank(
    db: Database, start_transport
) -> None:
    """The relay is down; the citizen's words in a waiting mail are erased (bots/privacy blanks
    and withdraws it; a blank one left pending is withdrawn here): when the relay is back,
    nothing goes out, and the rest does."""
    sink = MailSink(port=free_port())
    running = await start_transport(sink.port)
    await running.transport.queue(letter(4))
    await running.transport.queue(letter(5))
    for _ in range(100):  # refused once (so not read before the erasure and sent after it)
        row = await running.transport.status("letter/XJ-4")
        if row is not None and row.attempts >= 1:
            break
        await asyncio.sleep(0.05)
    await db.execute("UPDATE mail_outbox SET raw='' WHERE key=$1", "letter/XJ-4")
    await asyncio.sleep(0.5)  # a try that read it before, refused too
    sink.start()
    try:
        await asyncio.to_thread(sink.wait_for, 1)
        for _ in range(100):  # its next try (the relay refused the first ones) settles it
            row = await running.transport.status("letter/XJ-4")
            if row is None or row.state != "pending":
                break
            await asyncio.sleep(0.05)
        assert row is not None and row.state == "withdrawn"
        await asyncio.sleep(0.3)
        assert [m.message["Subject"] for m in sink.messages] == ["第5封"]
        assert running.failures == []
    finally:
        sink.stop()
