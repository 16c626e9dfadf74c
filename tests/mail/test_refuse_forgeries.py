"""≥ 100 forged, expired, tampered, misaddressed or replayed replies: none reaches the bots."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from bridge.mail import OutgoingMail, ReplyTokens
from devstack import MailSink
from tests.mail.conftest import DOMAIN, OFFICE, SECRET, MovableClock


def reply(to: str, sender: str = OFFICE, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "回复"
    message["Message-ID"] = message_id or make_msgid(domain="zj.gov.example")
    message.set_content("伪造的答复")
    return message


def corpus(good_token: str, clock: MovableClock) -> list[tuple[str, str, str]]:
    """(recipient, From, why) cases that must all be refused."""
    rng = random.Random(6)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    cases: list[tuple[str, str, str]] = []
    for i in range(30):
        forged = "".join(rng.choice(alphabet) for _ in range(len(good_token)))
        cases.append((f"reply+{forged}@{DOMAIN}", OFFICE, f"random token {i}"))
    for i in range(0, len(good_token), max(1, len(good_token) // 30)):
        flipped = good_token[:i] + ("a" if good_token[i] != "a" else "b") + good_token[i + 1 :]
        cases.append((f"reply+{flipped}@{DOMAIN}", OFFICE, f"tampered at {i}"))
    other_secret = ReplyTokens(b"another-secret-0123456789", 180, clock)
    for ref in ("XJ-1", "XJ-2", "TS-1", "XJ-1 "):
        cases.append((f"reply+{other_secret.make(ref)}@{DOMAIN}", OFFICE, f"other key {ref}"))
    old = MovableClock()
    old.offset = clock.offset - timedelta(days=181)
    for ref in ("XJ-1", "XJ-2"):
        cases.append((f"reply+{ReplyTokens(SECRET, 180, old).make(ref)}@{DOMAIN}", OFFICE,
                      f"expired {ref}"))
    unsent = ReplyTokens(SECRET, 180, clock).make("XJ-never-sent")
    cases.append((f"reply+{unsent}@{DOMAIN}", OFFICE, "valid token, no letter, no office"))
    good = f"reply+{good_token}@{DOMAIN}"
    for bad in ("", "x", good_token[:-1], good_token + "a", good_token[:24], good_token.upper()
                + "!", "../" + good_token, good_token + "@evil"):
        cases.append((f"reply+{bad}@{DOMAIN}", OFFICE, f"malformed {bad!r}"))
    for domain in ("evil.example", DOMAIN + ".evil.example", "example"):
        cases.append((f"reply+{good_token}@{domain}", OFFICE, f"wrong domain {domain}"))
    cases.append((f"replz+{good_token}@{DOMAIN}", OFFICE, "wrong prefix"))
    for sender in (
        "attacker@evil.example", "xinfang@zj.gov.example.evil.example", "xinfang@evil.example",
        f'"{OFFICE}" <attacker@evil.example>', "xinfang+x@zj.gov.example",
        f"attacker@evil.example, {OFFICE}", f"{OFFICE}, attacker@evil.example", "",
        "xinfang@zj.gov.examp1e", "xinfang@zj-gov.example", "undisclosed-recipients:;",
    ):
        cases.append((good, sender, f"wrong sender {sender!r}"))
    return cases


async def test_forgeries_are_refused(sink: MailSink, start_transport, clock) -> None:
    running = await start_transport(sink.port)
    await running.transport.queue(OutgoingMail(
        key="letter/XJ-1", to=OFFICE, to_name="", subject="信", text="正文", reply_ref="XJ-1"))
    sent = (await asyncio.to_thread(sink.wait_for, 1))[0].message
    good_token = sent["Reply-To"].addresses[0].username[len("reply+"):]
    cases = corpus(good_token, clock)
    accepted = [why for to, sender, why in cases if await running.send_reply(
        reply(f"reply+{good_token}@{DOMAIN}", sender) if sender != OFFICE else reply(to),
        rcpt=to)]
    assert accepted == []

    genuine = reply(f"reply+{good_token}@{DOMAIN}")
    assert await running.send_reply(genuine)
    replays = 0
    for i in range(40):  # the same Message-ID again: accepted by SMTP, never delivered again
        again = reply(f"reply+{good_token}@{DOMAIN}", message_id=genuine["Message-ID"])
        replays += await running.send_reply(again, mail_from=f"relay{i}@zj.gov.example")
    await asyncio.sleep(0.5)
    assert replays == 40
    assert len(cases) + replays >= 100
    assert [r.message_id for r in running.replies] == [genuine["Message-ID"]]
    assert await running.transport.inbox.count() == 1


def test_token_properties(clock) -> None:
    tokens = ReplyTokens(SECRET, 180, clock)
    token = tokens.make("XJ20261127-0001")
    assert token.islower() and token.isalnum() and len(token) >= 24
    assert tokens.check(token) == tokens.check(token.upper()) == "XJ20261127-0001"
    clock.advance(days=180)
    assert tokens.check(token) == "XJ20261127-0001"  # valid through its last day
    clock.advance(days=1)
    assert tokens.check(token) is None
