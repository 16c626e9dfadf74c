"""Outgoing mail: OutgoingMail and the RFC 5322 message built from it.

Everything here may come from Matrix input, so every header value, name, address and filename
is refused (ValueError) when it holds a character that could end a header line: CR, LF, NUL,
any other control character, or a Unicode line/paragraph separator.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import PurePosixPath, PureWindowsPath

from ..clock import Clock

# SMTP policy (CRLF, RFC 2047 headers) but 7-bit bodies: base64/QP for Chinese text, so any
# relay works (no 8BITMIME needed) and the stored message is plain ASCII.
SMTP_POLICY = policy.SMTP.clone(cte_type="7bit")

# Set by the transport; callers may not override them through `headers`.
RESERVED_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "reply-to", "sender",
    "x-dutyroom-ref", "mime-version", "content-type", "content-transfer-encoding",
    "content-disposition", "return-path", "received", "auto-submitted",
})
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}\Z")
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}\Z")
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?[^?]*\?=", re.I)
_ADDR = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\Z")


@dataclass(frozen=True)
class OutgoingMail:
    key: str  # idempotency key: the same key is queued once, e.g. "letter/XJ20261127-0001"
    to: str
    to_name: str
    subject: str
    text: str
    html: str | None = None
    # What a reply is matched to (e.g. a letter number); set → Reply-To: reply+<token>@domain.
    reply_ref: str | None = None
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def check_header_text(what: str, value: str) -> str:
    """Refuse anything that could end a header line; tabs are folded whitespace, so allowed."""
    for ch in value:
        if ch != "\t" and unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs"):
            raise ValueError(f"{what} contains a forbidden character U+{ord(ch):04X}")
    # The email package decodes RFC 2047 words in values it is given and may write what they
    # hide (CR LF) raw when it folds (CPython gh-121650): so no encoded words from Matrix.
    if _ENCODED_WORD.search(value):
        raise ValueError(f"{what} contains an RFC 2047 encoded word")
    return value


def check_address(what: str, value: str) -> str:
    """A bare, ASCII addr-spec (an IDN domain is converted to punycode)."""
    check_header_text(what, value)
    local, at, domain = value.strip().rpartition("@")
    if not at:
        raise ValueError(f"{what} is not an e-mail address: {value!r}")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValueError(f"{what} has an invalid domain: {value!r}") from e
    address = f"{local}@{domain}"
    if not _ADDR.match(address) or ".." in address or local.startswith(".") or local.endswith("."):
        raise ValueError(f"{what} is not a plain e-mail address: {value!r}")
    return address


def _filename(name: str) -> str:
    check_header_text("attachment filename", name)
    # Only the last path component: a receiving client must not be steered into a directory.
    base = PureWindowsPath(PurePosixPath(name).name).name.strip().lstrip(".")
    return base[:200] or "attachment"


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(16)}@{domain}>"


def build_message(
    mail: OutgoingMail, *, from_address: str, from_name: str, message_id: str,
    reply_to: str | None, clock: Clock,
) -> EmailMessage:
    to = check_address("recipient address", mail.to)
    sender = check_address("from address", from_address)
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=check_header_text("from name", from_name), addr_spec=sender)
    msg["To"] = Address(display_name=check_header_text("recipient name", mail.to_name), addr_spec=to)
    msg["Subject"] = check_header_text("subject", mail.subject)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = message_id
    if reply_to is not None:
        msg["Reply-To"] = check_address("reply-to address", reply_to)
    # Letters are written by people: no Auto-Submitted, so offices' auto-replies still answer.
    msg["X-Dutyroom-Ref"] = check_header_text("reference", mail.reply_ref or mail.key)
    for name, value in mail.headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header name not allowed: {name!r}")
        msg[name] = check_header_text(f"header {name}", value)
    msg.set_content(mail.text.replace("\x00", "").replace("\r\n", "\n"), charset="utf-8")
    if mail.html is not None:
        msg.add_alternative(mail.html.replace("\x00", ""), subtype="html", charset="utf-8")
    for filename, mime, data in mail.attachments:
        check_header_text("attachment type", mime)
        maintype, subtype = (mime if _MIME.match(mime) else "application/octet-stream").split("/")
        if maintype.lower() in ("multipart", "message"):  # containers cannot hold raw bytes
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(bytes(data), maintype=maintype, subtype=subtype,
                           filename=_filename(filename))
    _check_serialised(msg)
    return msg


def _check_serialised(msg: EmailMessage) -> None:
    """Belt and braces: the bytes on the wire must carry exactly the headers we set."""
    reparsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes(), headersonly=True)
    if [k.lower() for k in reparsed.keys()] != [k.lower() for k in msg.keys()]:
        raise ValueError("mail headers did not survive serialisation intact")
