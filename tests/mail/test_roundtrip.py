"""A letter reaches the office correctly encoded; the office's reply reaches the bots once."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

from bridge.mail import OutgoingMail
from devstack import MailSink
from tests.mail.conftest import DOMAIN, OFFICE, eventually

LETTER = OutgoingMail(
    key="letter/XJ20261127-0001", to=OFFICE, to_name="省长信箱 办公室",
    subject="关于西湖区公交线路调整的建议（XJ20261127-0001）",
    text="尊敬的省长：\n\n建议增加 K193 路的班次。\n\n市民 张三",
    html="<p>尊敬的省长：</p><p>建议增加 <b>K193</b> 路的班次。</p>",
    reply_ref="XJ20261127-0001",
    attachments=[("现场照片.jpg", "image/jpeg", b"\xff\xd8\xff\xe0fakejpeg")],
    headers={"X-Dutyroom-Kind": "letter"},
)


def office_reply(letter_mail: EmailMessage, message_id: str | None = None) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = f"省长信箱 <{OFFICE.upper()}>"  # case differs: still the office
    reply["To"] = letter_mail["Reply-To"]
    reply["Subject"] = "回复：" + str(letter_mail["Subject"])
    reply["Message-ID"] = message_id or make_msgid(domain="zj.gov.example")
    reply["In-Reply-To"] = letter_mail["Message-ID"]
    reply.set_content(
        "张三您好：\n\n已转交省交通运输厅研究，K193 路将于下月加密班次。\n\n省长信箱\n\n"
        "在 2026年11月27日 10:00，浙江政务通 <dutyroom@dutyroom.example> 写道：\n"
        "> 尊敬的省长：\n> 建议增加 K193 路的班次。\n"
    )
    reply.add_alternative(
        "<div>张三您好：<br>已转交<b>省交通运输厅</b>研究。"
        '<img src="http://tracker.example/p.gif" onerror="alert(1)">'
        '<a href="javascript:alert(1)">点此</a><a href="https://zj.gov.example/x">详情</a>'
        "<script>alert('x')</script><style>p{color:red}</style></div>"
        '<div class="gmail_quote">在 2026年11月27日，浙江政务通 写道：'
        "<blockquote>尊敬的省长：建议增加 K193 路的班次。</blockquote></div>",
        subtype="html",
    )
    reply.add_attachment(b"%PDF-1.4 reply", maintype="application", subtype="pdf",
                         filename="答复意见.pdf")
    return reply


async def test_letter_is_encoded_and_reply_delivered_once(sink: MailSink, start_transport) -> None:
    running = await start_transport(sink.port)
    transport = running.transport
    message_id = await transport.queue(LETTER)
    assert message_id.startswith("<") and message_id.endswith(f"@{DOMAIN}>")
    assert await transport.queue(LETTER) == message_id  # same key: same mail, queued once

    received = (await asyncio.to_thread(sink.wait_for, 1))[0]
    mail = received.message
    raw_headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii() and b"=?utf-8?" in raw_headers  # RFC 2047 on the wire
    assert str(mail["Subject"]) == LETTER.subject
    assert mail["To"].addresses[0].display_name == "省长信箱 办公室"
    assert mail["To"].addresses[0].addr_spec == OFFICE
    assert mail["From"].addresses[0].display_name == "浙江政务通 · 网上值班室"
    assert mail["Message-ID"] == message_id
    assert mail["X-Dutyroom-Ref"] == "XJ20261127-0001"
    assert mail["X-Dutyroom-Kind"] == "letter"
    assert mail["Auto-Submitted"] is None  # letters are written by people
    assert received.rcpt_tos == [OFFICE]
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == LETTER.text
    assert "<b>K193</b>" in mail.get_body(("html",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "现场照片.jpg"
    assert attachment.get_content() == b"\xff\xd8\xff\xe0fakejpeg"
    reply_to = mail["Reply-To"].addresses[0]
    assert reply_to.domain == DOMAIN and reply_to.username.startswith("reply+")
    token = reply_to.username[len("reply+"):]
    assert token == token.lower() and token.isalnum()
    assert transport.tokens.check(token) == "XJ20261127-0001"

    reply = office_reply(mail)
    assert await running.send_reply(reply)
    await eventually(lambda: len(running.replies) == 1)
    got = running.replies[0]
    assert got.reply_ref == "XJ20261127-0001" and got.sender == OFFICE.lower()
    assert got.message_id == reply["Message-ID"] and not got.auto_submitted
    assert got.subject.startswith("回复：关于西湖区")
    assert got.text == "张三您好：\n\n已转交省交通运输厅研究，K193 路将于下月加密班次。\n\n省长信箱"
    assert got.html is not None and "<b>省交通运输厅</b>" in got.html
    for bad in ("script", "style", "onerror", "javascript", "http://tracker", "尊敬的省长", "color"):
        assert bad not in got.html
    assert 'href="https://zj.gov.example/x"' in got.html
    assert got.attachments == [("答复意见.pdf", "application/pdf", b"%PDF-1.4 reply")]

    assert await running.send_reply(reply)  # the MTA resends: accepted, not delivered again
    await asyncio.sleep(0.3)
    assert len(running.replies) == 1
    await transport.stop()
    again = await start_transport(sink.port)
    await asyncio.sleep(0.3)
    assert again.replies == [] and len(sink.messages) == 1


async def test_auto_reply_and_oversized_attachment_are_flagged(
    sink: MailSink, start_transport
) -> None:
    running = await start_transport(sink.port, max_attachment_bytes=1000)
    await running.transport.queue(LETTER)
    mail = (await asyncio.to_thread(sink.wait_for, 1))[0].message
    vacation = office_reply(mail)
    vacation["Auto-Submitted"] = "auto-replied"
    vacation.add_attachment(b"x" * 2000, maintype="application", subtype="zip", filename="大.zip")
    assert await running.send_reply(vacation)
    bounce = office_reply(mail)
    assert await running.send_reply(bounce, mail_from="")
    await eventually(lambda: len(running.replies) == 2)
    assert all(r.auto_submitted for r in running.replies)
    assert running.replies[0].dropped == ["大.zip"]
    assert [a[0] for a in running.replies[0].attachments] == ["答复意见.pdf"]


async def test_storage_failure_answers_451_so_the_mta_retries(
    sink: MailSink, start_transport
) -> None:
    import aiosmtplib

    running = await start_transport(sink.port)
    await running.transport.queue(LETTER)
    reply = office_reply((await asyncio.to_thread(sink.wait_for, 1))[0].message)
    store = running.transport.inbox.store

    async def broken(*args: object, **kwargs: object) -> int:
        raise OSError("disk full")

    running.transport.inbox.store = broken  # type: ignore[method-assign]
    try:
        await aiosmtplib.send(reply, hostname="127.0.0.1", port=running.transport.listen_port,
                              sender=OFFICE, recipients=[reply["To"].addresses[0].addr_spec])
    except aiosmtplib.SMTPDataError as e:
        assert e.code == 451
    else:
        raise AssertionError("accepted a mail it could not store")
    running.transport.inbox.store = store  # type: ignore[method-assign]
    assert await running.send_reply(reply)  # the MTA's retry
    await eventually(lambda: len(running.replies) == 1)
