"""A mail the relay accepted and a later MTA gave up on: its bounce comes back to the envelope
sender, bounce+<token>@reply_domain (VERP), through the reply listener, and the mail counts as
failed with the reason, once. Delay warnings and vacation notices are not failures; a bounce
address cannot be forged, nor used as a reply address."""

from __future__ import annotations

import asyncio
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from bridge.mail import OutgoingMail
from devstack import MailSink
from tests.mail.conftest import DOMAIN, OFFICE, eventually


def letter(n: int) -> OutgoingMail:
    """Each test its own keys: the PostgreSQL database outlives a test."""
    return OutgoingMail(key=f"letter/XJ20261202-{n:04d}-{uuid.uuid4().hex[:8]}", to=OFFICE,
                        to_name="省长信箱", subject="建议", text="尊敬的省长：建议。",
                        reply_ref=f"XJ20261202-{n:04d}")


def dsn(to: str, action: str, n: int) -> EmailMessage:
    """What Postfix sends back: a multipart/report with a message/delivery-status part."""
    raw = (
        "From: MAILER-DAEMON@mx.zj.gov.example\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{n}@mx.zj.gov.example>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.zj.gov.example\r\n\r\n"
        f"Final-Recipient: rfc822; {OFFICE}\r\nAction: {action}\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{OFFICE}>: Recipient address rejected: User unknown\r\n"
        "\r\n--B--\r\n")
    message = BytesParser(policy=policy.default).parsebytes(raw.encode())
    assert isinstance(message, EmailMessage)
    return message


def vacation(to: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = OFFICE
    reply["To"] = to
    reply["Subject"] = "自动回复：休假中"
    reply["Message-ID"] = "<vacation-1@zj.gov.example>"
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content("本人休假至下周一。")
    return reply


async def test_a_bounce_fails_the_mail_it_names_once(sink: MailSink, start_transport) -> None:
    running = await start_transport(sink.port)
    transport = running.transport
    mail = letter(1)
    await transport.queue(mail)
    [sent] = await asyncio.to_thread(sink.wait_for, 1, 10)
    bounce_to = sent.mail_from
    assert bounce_to.startswith("bounce+") and bounce_to.endswith(f"@{DOMAIN}")
    assert str(sent.message["From"]).endswith("<dutyroom@dutyroom.example>")  # From unchanged

    # Neither a delay warning nor a vacation notice sent to the envelope sender is a failure.
    assert await running.send_reply(dsn(bounce_to, "delayed", 1), mail_from="")
    assert await running.send_reply(vacation(bounce_to), mail_from=OFFICE)
    await asyncio.sleep(0.5)
    assert running.failures == [] and (await transport.status(mail.key)).state == "sent"

    # The MTA gives up: the letter failed, its hooks hear why, once (a second copy of the
    # bounce, or another bounce of the same mail, changes nothing).
    assert await running.send_reply(dsn(bounce_to, "failed", 2), mail_from="")
    await eventually(lambda: len(running.failures) == 1)
    key, error = running.failures[0]
    assert key == mail.key and "5.1.1" in error and "User unknown" in error and OFFICE in error
    assert (await transport.status(mail.key)).state == "failed"
    assert await running.send_reply(dsn(bounce_to, "failed", 2), mail_from="")
    assert await running.send_reply(dsn(bounce_to, "failed", 3), mail_from="")
    await asyncio.sleep(0.5)
    assert len(running.failures) == 1


async def test_bounce_addresses_cannot_be_forged_or_swapped(sink: MailSink, start_transport) -> None:
    running = await start_transport(sink.port)
    await running.transport.queue(letter(2))
    [sent] = await asyncio.to_thread(sink.wait_for, 1, 10)
    token = sent.mail_from.split("+", 1)[1].split("@")[0]
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    reply_token = str(sent.message["Reply-To"]).split("+", 1)[1].split("@")[0]
    for address in (f"bounce+{forged}@{DOMAIN}",  # tampered
                    f"reply+{token}@{DOMAIN}",  # a bounce token as a reply address
                    f"bounce+{reply_token}@{DOMAIN}"):  # a letter's reply token as a bounce address
        assert not await running.send_reply(dsn(address, "failed", 9), mail_from=""), address
    await asyncio.sleep(0.3)
    assert running.failures == [] and running.replies == []


async def test_a_reply_whose_handling_keeps_failing_is_given_up_on_and_reported(
    sink: MailSink, start_transport, monkeypatch
) -> None:
    """A stored reply whose bots keep failing is parked as dead after INBOX_MAX_ATTEMPTS, and
    the dead-reply hooks (the administrators' bot) hear it once: the citizen never got it."""
    import bridge.mail.transport as transport_module

    monkeypatch.setattr(transport_module, "INBOX_MAX_ATTEMPTS", 3)
    running = await start_transport(sink.port)
    transport = running.transport
    dead: list[tuple[str, str, str, str]] = []

    async def failing(mail: object) -> None:
        raise RuntimeError("bot broken")

    async def on_dead(*args: str) -> None:
        dead.append(args)  # type: ignore[arg-type]
    transport.on_reply.insert(0, failing)
    transport.on_dead_reply.append(on_dead)
    mail = letter(4)
    await transport.queue(mail)
    [sent] = await asyncio.to_thread(sink.wait_for, 1, 10)
    reply = EmailMessage()
    reply["From"] = OFFICE
    reply["To"] = sent.message["Reply-To"]
    reply["Subject"] = "回复：建议"
    reply["Message-ID"] = f"<answer-{uuid.uuid4().hex}@zj.gov.example>"
    reply.set_content("已收悉。")
    assert await running.send_reply(reply)
    await eventually(lambda: len(dead) == 1, timeout=20)
    ref, sender, message_id, error = dead[0]
    assert (ref, sender, message_id) == (mail.reply_ref, OFFICE, reply["Message-ID"])
    assert "bot broken" in error
    await asyncio.sleep(0.5)
    assert len(dead) == 1 and await transport.inbox.count("dead") >= 1
