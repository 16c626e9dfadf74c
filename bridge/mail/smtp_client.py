"""One SMTP delivery attempt, with its outcome sorted into 'try again' or 'give up'."""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from .settings import MailSettings


class TransientMailError(Exception):
    """4xx, connection trouble, or a configuration problem an operator can fix: retry."""


class PermanentMailError(Exception):
    """5xx for this mail: the recipient's side refused it for good."""


def _classify(code: int, message: str) -> Exception:
    text = f"{code} {message}".strip()
    return PermanentMailError(text) if 500 <= code < 600 else TransientMailError(text)


async def deliver(settings: MailSettings, sender: str, recipient: str, raw: bytes) -> None:
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_security == "tls",
        # None would upgrade opportunistically; "none" means plain, as configured.
        start_tls=settings.smtp_security == "starttls",
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        timeout=settings.smtp_timeout_seconds,
    )
    try:
        async with client:
            await client.sendmail(sender, [recipient], raw)
    except aiosmtplib.SMTPRecipientsRefused as e:
        first = e.recipients[0] if e.recipients else None
        raise _classify(first.code if first else 550, first.message if first else str(e)) from e
    except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPNotSupported) as e:
        # Wrong credentials or no STARTTLS: every mail would fail the same way until an operator
        # fixes the config, so keep the mail waiting instead of failing it.
        raise TransientMailError(f"SMTP configuration: {e}") from e
    except aiosmtplib.SMTPResponseException as e:
        raise _classify(e.code, e.message) from e
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError, asyncio.TimeoutError) as e:
        raise TransientMailError(f"{type(e).__name__}: {e}") from e
