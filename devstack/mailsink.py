"""An SMTP server on 127.0.0.1 that keeps every mail it receives, for tests and the demo."""

from __future__ import annotations

import argparse
import mailbox
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.ports import free_port
from devstack.service import Service


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # original_content is the bytes as sent; `content` may have been decoded for SMTPUTF8.
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf8")
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=message,
        )
        self._sink._receive(mail)
        return "250 Message accepted for delivery"


class MailSink(Service):
    """aiosmtpd's Controller (its own thread and loop) collecting mail into `messages`.

    The in-process Controller never tries to drop root privileges, unlike `python -m aiosmtpd`
    without `-n`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        maildir: Path | None = None,
        on_message: Callable[[ReceivedMail], Any] | None = None,
    ) -> None:
        self._port = port
        self.maildir = Path(maildir) if maildir is not None else None
        self.on_message = on_message
        self.messages: list[ReceivedMail] = []
        # The SMTP thread appends while test code waits: one condition guards both.
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            self._port = free_port()
        return self._port

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        mailbox_dir = self._open_maildir()
        del mailbox_dir  # created now so a bad path fails at start, not at the first mail
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, enable_SMTPUTF8=True
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _open_maildir(self) -> mailbox.Maildir | None:
        if self.maildir is None:
            return None
        return mailbox.Maildir(self.maildir, create=True)

    def _receive(self, mail: ReceivedMail) -> None:
        box = self._open_maildir()
        if box is not None:
            box.add(mail.raw)
        with self._changed:
            self.messages.append(mail)
            self._changed.notify_all()
        if self.on_message is not None:
            self.on_message(mail)

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[ReceivedMail]:
        """Block until at least `count` mails have arrived; return a snapshot of them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} mail(s) within {timeout} s, got {len(self.messages)}"
                    )
                self._changed.wait(remaining)
            return list(self.messages)

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()


def _print_mail(mail: ReceivedMail) -> None:
    to = ", ".join(mail.rcpt_tos)
    print(f"[mail] {mail.subject!r} from {mail.mail_from} to {to}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.mailsink", description="SMTP sink on 127.0.0.1"
    )
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--maildir", type=Path, default=None, help="also store mails here")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with MailSink(port=args.port, maildir=args.maildir, on_message=_print_mail) as sink:
        where = f", Maildir {args.maildir}" if args.maildir else ""
        print(f"SMTP sink listening on {sink.host}:{sink.port}{where}", flush=True)
        while not stopped.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
