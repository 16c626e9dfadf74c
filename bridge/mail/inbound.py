"""Inbound mail: what the listener checks before storing, and the InboundMail bots receive."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from .quotes import trim_quoted_html, trim_quoted_text
from .sanitise import html_to_text, sanitise_html

MAX_TEXT_CHARS = 60_000  # a Matrix event is limited to 64 KiB
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    reply_ref: str
    sender: str
    subject: str
    text: str  # plain text, quoted history trimmed
    html: str | None  # sanitised to Matrix's allowlist, quoted history trimmed
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # attachments over the size limit
    auto_submitted: bool = False  # auto-reply, vacation notice or bounce: never answer it


@dataclass(frozen=True)
class Envelope:
    """The few facts the listener decides on, read from the raw mail."""

    message_id: str
    from_addresses: list[str]
    auto_submitted: bool


def parse_bytes(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a malformed header must not crash the listener; treat it as absent
        return ""


def read_envelope(raw: bytes, mail_from: str | None) -> Envelope:
    message = parse_bytes(raw)
    found = re.search(r"<[^<>\s]{1,900}>", _header(message, "Message-ID"))
    # No Message-ID (rare; MTAs add one): the content itself identifies a replay.
    message_id = found.group(0) if found else f"<{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    raw_from = [str(v) for v in message.get_all("From", [])]
    addresses = [addr.strip().lower() for _, addr in getaddresses(raw_from) if addr.strip()]
    auto = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    precedence = _header(message, "Precedence").strip().lower()
    is_auto = (
        (auto not in ("", "no"))
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or any(_header(message, h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"))
        or not (mail_from or "").strip("<> ")  # a bounce: empty envelope sender
    )
    return Envelope(message_id, addresses, is_auto)


def bounce_failure(raw: bytes) -> str | None:
    """What a mail to one of our bounce addresses says went wrong, or None when it reports no
    failure. A delivery status notification (RFC 3464) fails when a recipient's Action is
    "failed" (a delay warning or a delivery report does not); anything else sent there is a
    failure unless it is an auto-reply (a vacation notice sent to the envelope sender)."""
    try:
        message = parse_bytes(raw)
    except Exception:
        return "returned mail (unreadable)"
    if message.get_content_type() == "multipart/report":
        actions: list[str] = []
        for part in message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                action = _header(block, "Action").strip().lower()
                if not action:
                    continue
                actions.append(action)
                if action == "failed":
                    said = " ".join(_header(block, h).strip() for h in ("Status", "Diagnostic-Code"))
                    recipient = _header(block, "Final-Recipient").split(";")[-1].strip()
                    return clean_text(f"{recipient}: {said}".strip(": "))[:500]
        if actions:
            return None
    if _header(message, "Auto-Submitted").strip().lower().startswith("auto-replied") and \
            message.get_content_type() != "multipart/report":
        return None  # RFC 3834 auto-replies go to the envelope sender too
    return clean_text(f"returned mail: {_header(message, 'Subject')}")[:500]


def clean_text(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text[:MAX_TEXT_CHARS]


def _content(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AssertionError):
        # Unknown or lying charset: keep what decodes rather than drop the reply.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = clean_text(name).replace("/", "_").replace("\\", "_").replace("\n", " ").strip()
    return name[:200] or "attachment"


def parse_reply(
    raw: bytes, *, message_id: str, reply_ref: str, sender: str, auto_submitted: bool,
    max_attachment_bytes: int,
) -> InboundMail:
    message = parse_bytes(raw)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = sanitise_html(trim_quoted_html(_content(html_part))) if html_part is not None else None
    if text_part is not None:
        text = trim_quoted_text(clean_text(_content(text_part)))
    else:
        text = html_to_text(html or "")
    attachments: list[tuple[str, str, bytes]] = []
    dropped: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part is text_part or part is html_part:
            continue
        disposition = part.get_content_disposition()
        if part.get_content_maintype() in ("text", "message") and disposition != "attachment":
            continue  # an alternative body or a forwarded mail's text, not a file
        if part.get_content_maintype() == "message":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        name = _filename(part)
        if len(data) > max_attachment_bytes:
            dropped.append(name)
        else:
            attachments.append((name, part.get_content_type(), data))
    return InboundMail(
        message_id=message_id, reply_ref=reply_ref, sender=sender,
        subject=clean_text(_header(message, "Subject")).replace("\n", " ").strip()[:500],
        text=text, html=html or None, attachments=attachments, dropped=dropped,
        auto_submitted=auto_submitted,
    )
