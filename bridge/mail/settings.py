"""The mail transport's settings: one frozen object built by the runtime from the `mail:` config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str
    smtp_password: str
    from_address: str
    # Replies come back to reply+<token>@reply_domain; it also names our Message-IDs.
    reply_domain: str
    token_secret: bytes
    token_ttl_days: int = 180
    # SMTP outages of a weekend must not lose a letter: retry transient failures this long.
    retry_for_seconds: float = 3 * 86400
    max_attachment_bytes: int = 10 * 2**20
    listen_host: str = "127.0.0.1"
    listen_port: int = 2526
    # Display name in From (RFC 2047-encoded when Chinese); empty for a bare address.
    from_name: str = ""
    # Backoff between attempts grows from the first to the second value (seconds).
    retry_min_seconds: float = 30.0
    retry_max_seconds: float = 1800.0
    smtp_timeout_seconds: float = 60.0
    # The listener refuses DATA larger than this (552), so a huge mail cannot exhaust memory.
    max_message_bytes: int = 32 * 2**20
    # Envelope sender bounce+<token>@reply_domain (VERP), so a bounce comes back to the
    # listener and names the mail; False sends as from_address (a relay that insists on it).
    verp: bool = True

    def __post_init__(self) -> None:
        if self.smtp_security not in ("none", "starttls", "tls"):
            raise ValueError(f"mail.smtp_security must be none, starttls or tls, not {self.smtp_security!r}")
        if len(self.token_secret) < 16:
            raise ValueError("mail.token_secret must be at least 16 bytes")
        if not self.reply_domain or "@" in self.reply_domain:
            raise ValueError(f"mail.reply_domain must be a bare domain, not {self.reply_domain!r}")
