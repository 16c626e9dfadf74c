"""≥ 100 header-injection attempts: refused with ValueError, or sent with 0 extra headers."""

from __future__ import annotations

import asyncio

import pytest

from bridge.clock import Clock
from bridge.mail import OutgoingMail
from bridge.mail.compose import build_message
from devstack import MailSink
from tests.mail.conftest import OFFICE

BREAKS = ["\r\n", "\n", "\r", "\0", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d",
          "\x1e", "\r\n\t", "\n ", "\r\r\n"]
INJECT = "Bcc: victim@evil.example"
FIELDS = ["subject", "to_name", "to", "filename", "mime", "header", "header_name", "reply_ref"]
# Look dangerous, contain no line break: sent, and must not add a header.
HARMLESS = [
    "%0d%0aBcc: victim@evil.example", "\\r\\nBcc: victim@evil.example", "Bcc：全角冒号",
    "=?utf-8?q?=0D=0ABcc:_victim@evil.example?=", "=?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGU=?=",
    "a\tBcc: victim@evil.example", "回复：\u200bBcc: x", "&#13;&#10;Bcc: x", "\u000dBcc".strip(),
    "<script>Bcc</script>", "x" * 2000 + " Bcc: victim@evil.example",
]


def mail_with(field: str, value: str, n: int) -> OutgoingMail:
    base = dict(key=f"inj/{n}", to=OFFICE, to_name="办公室", subject="主题", text="正文",
                reply_ref=None, attachments=[], headers={})
    if field in ("subject", "to_name"):
        base[field] = f"正常{value}"
    elif field == "to":
        base["to"] = f"xinfang{value}@zj.gov.example"
    elif field == "filename":
        base["attachments"] = [(f"附件{value}.pdf", "application/pdf", b"%PDF")]
    elif field == "mime":
        base["attachments"] = [("a.pdf", f"application/pdf{value}", b"%PDF")]
    elif field == "header":
        base["headers"] = {"X-Letter-Kind": f"letter{value}"}
    elif field == "header_name":
        base["headers"] = {f"X-Kind{value}": "letter"}
    elif field == "reply_ref":
        base["reply_ref"] = f"XJ-1{value}"
    return OutgoingMail(**base)  # type: ignore[arg-type]


CASES = [(f, b + INJECT) for f in FIELDS for b in BREAKS]


@pytest.mark.parametrize("field", FIELDS)
def test_line_breaks_are_refused(field: str) -> None:
    for n, brk in enumerate(BREAKS):
        with pytest.raises(ValueError):
            build_message(mail_with(field, brk + INJECT, n), from_address="a@b.example",
                          from_name="", message_id="<x@b.example>", reply_to=None, clock=Clock())


def test_bad_from_settings_are_refused() -> None:
    for value in ("a@b.example\r\nBcc: x@y", "a@b.example\nx"):
        with pytest.raises(ValueError):
            build_message(mail_with("subject", "", 0), from_address=value, from_name="",
                          message_id="<x@b>", reply_to=None, clock=Clock())


async def test_injection_corpus_adds_no_header(sink: MailSink, start_transport) -> None:
    running = await start_transport(sink.port)
    refused = 0
    sent = 0
    for n, (field, value) in enumerate(CASES + [(f, h) for f in FIELDS for h in HARMLESS]):
        try:
            await running.transport.queue(mail_with(field, value, n))
        except ValueError:
            refused += 1
        else:
            sent += 1
    assert refused >= len(CASES) >= 100
    assert sent > 0
    received = await asyncio.to_thread(sink.wait_for, sent, 30)
    await asyncio.sleep(0.3)
    assert len(sink.messages) == sent
    expected = {"from", "to", "subject", "date", "message-id", "x-dutyroom-ref", "mime-version",
                "content-type", "content-transfer-encoding", "x-letter-kind", "reply-to"}
    for mail in received:
        names = {k.lower() for k in mail.message.keys()}
        assert names <= expected | {k for k in names if k.startswith("x-kind")}, names
        assert "bcc" not in names
        assert mail.rcpt_tos == [mail.message["To"].addresses[0].addr_spec]
        assert all(n.count(":") == 0 for n in names)
        for part in mail.message.walk():
            assert {k.lower() for k in part.keys()} <= expected | {"content-disposition"} | {
                k.lower() for k in mail.message.keys()}
