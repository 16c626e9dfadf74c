"""Reply tokens: reply+<token>@reply_domain names the letter a reply belongs to, unforgeably.

A token is `<expiry day, 4 base36><mac, 20 base32><reply_ref, base32>`, all lowercase [a-z0-9] so
that MTAs which lowercase local parts cannot break it. The reference travels inside the token, so
checking needs no database; the HMAC covers the expiry day and the reference together.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timezone

from ..clock import Clock

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DAY_CHARS = 4  # 36**4 days ≈ 4600 years
_MAC_CHARS = 20  # 100 bits of HMAC-SHA256
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


class ReplyTokens:
    def __init__(self, secret: bytes, ttl_days: int, clock: Clock) -> None:
        if len(secret) < 16:
            raise ValueError("reply token secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_days = ttl_days
        self.clock = clock

    def _today(self) -> int:
        return (self.clock.now() - _EPOCH).days

    def _mac(self, day: str, ref: bytes) -> str:
        # Domain-separated and versioned so a future format cannot be confused with this one.
        digest = hmac.new(self._secret, b"dutyroom-reply-v1|" + day.encode() + b"|" + ref,
                          hashlib.sha256).digest()
        return _b32(digest)[:_MAC_CHARS]

    def make(self, reply_ref: str) -> str:
        if not reply_ref:
            raise ValueError("reply_ref must not be empty")
        ref = reply_ref.encode("utf-8")
        day = _b36(self._today() + self.ttl_days, _DAY_CHARS)
        return day + self._mac(day, ref) + _b32(ref)

    def check(self, token: str) -> str | None:
        """The reply_ref the token was made for, or None when forged, tampered with or expired."""
        token = token.lower()
        head = _DAY_CHARS + _MAC_CHARS
        if len(token) <= head or len(token) > 400 or not token.isascii() or not token.isalnum():
            return None
        day, mac, ref_part = token[:_DAY_CHARS], token[_DAY_CHARS:head], token[head:]
        try:
            ref = _unb32(ref_part)
        except (binascii.Error, ValueError):
            return None
        # Recompute from the decoded reference so non-canonical encodings of it cannot pass.
        if not hmac.compare_digest(self._mac(day, ref), mac) or _b32(ref) != ref_part:
            return None
        if int(day, 36) < self._today():
            return None
        try:
            return ref.decode("utf-8")
        except UnicodeDecodeError:
            return None
