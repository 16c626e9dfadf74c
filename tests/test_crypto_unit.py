"""bridge/crypto without a homeserver: attachments, the relay's `file` filter, transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mautrix.errors import DecryptionError
from mautrix.util.async_db import Database

from bridge.crypto.ghosts import GhostDevice
from bridge.crypto.manager import Encryption
from bridge.crypto.media import clean_file, decrypt_file, encrypt_file
from bridge.crypto.to_device import ToDeviceInbox
from bridge.db import upgrade_table
from bridge.relay_content import citizen_to_officer


def test_attachments_round_trip_and_tampering_is_refused() -> None:
    data = b"\x89PNG" + bytes(range(256)) * 10
    ciphertext, file = encrypt_file(data)
    assert ciphertext != data and "url" not in file
    file["url"] = "mxc://localhost/abc"
    assert clean_file(file) == file
    assert decrypt_file(ciphertext, file) == data
    with pytest.raises(DecryptionError):
        decrypt_file(ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]), file)


def test_clean_file_keeps_only_the_spec_fields() -> None:
    _, file = encrypt_file(b"x")
    dirty = {**file, "url": "mxc://localhost/abc", "sender": "@officer:localhost",
             "key": {**file["key"], "note": "@officer:localhost"}}
    cleaned = clean_file(dirty)
    assert cleaned is not None and "@officer" not in repr(cleaned)
    assert set(cleaned) == {"url", "key", "iv", "hashes", "v"}
    assert clean_file({**dirty, "url": "https://evil.example/x"}) is None
    assert clean_file({**dirty, "iv": None}) is None
    assert clean_file("mxc://localhost/abc") is None


def test_the_relay_keeps_an_encrypted_attachment_for_reupload() -> None:
    _, file = encrypt_file(b"x")
    file["url"] = "mxc://localhost/abc"
    safe = citizen_to_officer({"msgtype": "m.image", "body": "a.png", "file": {**file, "x": 1}})
    assert safe["file"] == file


class FakeMachine:
    def __init__(self, device_id: str = "DEV") -> None:
        self.calls: list[tuple[str, Any]] = []
        self.client = type("Client", (), {"device_id": device_id})()

    @asynccontextmanager
    async def atomically(self) -> AsyncIterator[None]:
        yield

    async def handle_as_to_device_event(self, event: Any) -> None:
        if event.type.t == "m.room.encrypted" and event.sender == "@bad:localhost":
            raise ValueError("corrupt Olm message")
        self.calls.append(("to_device", event.sender))

    async def handle_as_device_lists(self, lists: Any) -> None:
        self.calls.append(("device_lists", list(lists.changed)))

    async def handle_as_otk_counts(self, counts: Any) -> None:
        self.calls.append(("otk", {u: {d: c.signed_curve25519 for d, c in v.items()}
                                   for u, v in counts.items()}))


async def _rooms_of(user: str) -> list[str]:
    return []


def to_device(sender: str) -> dict[str, Any]:
    return {"type": "m.room.encrypted", "sender": sender, "to_user_id": "@bot:localhost",
            "to_device_id": "DEV", "content": {"algorithm": "m.olm.v1.curve25519-aes-sha2",
                                              "sender_key": "k", "ciphertext": {}}}


async def test_one_bad_to_device_message_does_not_lose_the_others() -> None:
    db = Database.create("sqlite::memory:", upgrade_table=upgrade_table)
    await db.start()
    try:
        enc = Encryption.__new__(Encryption)
        enc.db, enc.bot_mxid = db, "@bot:localhost"
        enc.machine = FakeMachine()  # type: ignore[assignment]
        enc.inbox = ToDeviceInbox(enc.machine, db, "@bot:localhost", readable=False)  # type: ignore[arg-type]
        enc.bot_device = GhostDevice("@bot:localhost", enc.machine, enc.inbox)  # type: ignore[arg-type]
        # A department's own device: its to-device messages and key counts go to it.
        ghost_machine = FakeMachine("GDEV")
        ghost = GhostDevice("@ghost:localhost", ghost_machine, ToDeviceInbox(  # type: ignore[arg-type]
            ghost_machine, db, "@ghost:localhost", readable=False, account="@ghost:localhost"))  # type: ignore[arg-type]
        enc.ghosts = type("Ghosts", (), {"get": lambda self, m: ghost if m == ghost.mxid else None,
                                         "__len__": lambda self: 1})()  # type: ignore[assignment]
        enc.state_store = type("States", (), {"find_shared_rooms": staticmethod(
            lambda user: _rooms_of(user))})()  # type: ignore[assignment]
        body = {
            "events": [],
            "de.sorunome.msc2409.to_device": [to_device("@bad:localhost"),
                                              to_device("@ok:localhost"),
                                              {**to_device("@citizen:localhost"),
                                               "to_user_id": "@ghost:localhost"}],
            "org.matrix.msc3202.device_lists": {"changed": ["@ok:localhost"], "left": []},
            "org.matrix.msc3202.device_one_time_keys_count": {
                # (a cross-signing key, a hidden device to Synapse: not ours to count)
                "@bot:localhost": {"DEV": {"signed_curve25519": 3}, "XSKEY": {"signed_curve25519": 0}},
                "@ghost:localhost": {"GDEV": {"signed_curve25519": 5}}},
        }
        await enc.handle_transaction(body)
        assert enc.machine.calls == [  # type: ignore[attr-defined]
            ("to_device", "@ok:localhost"), ("device_lists", ["@ok:localhost"]),
            ("otk", {"@bot:localhost": {"DEV": 3}}),
        ]
        assert ghost_machine.calls == [("to_device", "@citizen:localhost"),
                                       ("otk", {"@ghost:localhost": {"GDEV": 5}})]
        # The same messages again (pushed, then read back from the inbox): handled once.
        enc.machine.calls.clear()  # type: ignore[attr-defined]
        assert not await enc.inbox.handle(to_device("@ok:localhost"))
        await enc.handle_transaction(body)
        assert ("to_device", "@ok:localhost") not in enc.machine.calls  # type: ignore[attr-defined]
    finally:
        await db.stop()


class FakeInboxApi:
    """The bot device's inbox as /sync pages it: each page's messages, then an empty page."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages, self.asked = pages, []  # type: ignore[var-annotated]

    async def request(self, method: Any, path: Any, query_params: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(query_params.get("since"))
        events = self.pages.pop(0) if self.pages else []
        return {"to_device": {"events": events}, "next_batch": f"s{len(self.asked)}"}


def machine_reading(api: Any) -> FakeMachine:
    """A fake Olm machine whose client reads the inbox through `api`."""
    machine = FakeMachine()
    machine.client = type("Client", (), {"device_id": "DEV", "api": api})()  # type: ignore[attr-defined]
    return machine


async def test_the_inbox_is_emptied_not_replayed_after_an_upgrade_and_read_on_after() -> None:
    """The first read after this version empties what the inbox held (pushed before, when no
    digests were kept: handling it again would fail and start new Olm sessions), unless the
    device is new; later reads go on from the stored token and handle what was not pushed."""
    db = Database.create("sqlite::memory:", upgrade_table=upgrade_table)
    await db.start()
    try:
        machine = machine_reading(api := FakeInboxApi([[to_device("@old:localhost"),
                                                         to_device("@older:localhost")]]))
        inbox = ToDeviceInbox(machine, db, "@bot:localhost", readable=True)  # type: ignore[arg-type]
        assert await inbox.read(not_before=1) == 0 and machine.calls == []
        assert api.asked == [None, "s1"]  # emptied: paged until an empty page
        pushed = to_device("@pushed:localhost")
        assert await inbox.handle(pushed)
        api.pages = [[pushed, to_device("@lost:localhost")]]
        assert await inbox.read(not_before=2**40) == 1  # the pushed one is not handled again
        assert machine.calls == [("to_device", "@pushed:localhost"), ("to_device", "@lost:localhost")]
        assert api.asked[2] == "s2"  # on from the stored token
        # A read that began after the moment asked for already looked: not asked again.
        assert await inbox.read(not_before=1) == 0 and len(api.asked) == 4
    finally:
        await db.stop()


async def test_a_failed_read_of_the_inbox_does_not_count_as_a_read() -> None:
    db = Database.create("sqlite::memory:", upgrade_table=upgrade_table)
    await db.start()
    try:
        class Down:
            async def request(self, *_: Any, **__: Any) -> dict[str, Any]:
                raise ConnectionError("homeserver down")

        machine = machine_reading(Down())
        inbox = ToDeviceInbox(machine, db, "@bot:localhost", readable=True)  # type: ignore[arg-type]
        inbox.new_device = True
        with pytest.raises(ConnectionError):
            await inbox.read(not_before=1)
        machine.client.api = api = FakeInboxApi([[to_device("@lost:localhost")]])  # type: ignore[attr-defined]
        assert await inbox.read(not_before=1) == 1 and api.asked == [None, "s1"]
    finally:
        await db.stop()


async def test_a_first_read_cut_short_empties_the_rest_rather_than_replaying_it() -> None:
    """The first read after the upgrade is a drain; if it fails half-way, the next read drains
    again from the start instead of handling the older messages left in the inbox."""
    db = Database.create("sqlite::memory:", upgrade_table=upgrade_table)
    await db.start()
    try:
        class CutShort(FakeInboxApi):
            async def request(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
                if len(self.asked) == 1:
                    self.asked.append("failed")
                    raise ConnectionError("homeserver gone")
                return await super().request(*args, **kwargs)

        old = [to_device("@old:localhost")]
        machine = machine_reading(api := CutShort([old, old]))
        inbox = ToDeviceInbox(machine, db, "@bot:localhost", readable=True)  # type: ignore[arg-type]
        with pytest.raises(ConnectionError):
            await inbox.read(not_before=1)
        assert await inbox.read(not_before=1) == 0 and machine.calls == []
        assert api.asked[2] is None  # drained again from the start, nothing handled
    finally:
        await db.stop()


class FailingInboxApi(FakeInboxApi):
    def __init__(self) -> None:
        super().__init__([])
        self.down = True

    async def request(self, method: Any, path: Any, query_params: dict[str, Any]) -> dict[str, Any]:
        if self.down:
            raise ConnectionError("homeserver unreachable")
        return await super().request(method, path, query_params)


async def test_an_inbox_that_cannot_be_read_reaches_the_administrators_once_and_its_recovery_too(
) -> None:
    db = Database.create("sqlite::memory:", upgrade_table=upgrade_table)
    await db.start()
    try:
        api = FailingInboxApi()
        inbox = ToDeviceInbox(machine_reading(api), db, "@bot:localhost", readable=True)  # type: ignore[arg-type]
        inbox.new_device = True
        told: list[tuple[str, str, dict[str, str]]] = []

        async def tell(kind: str, key: str, details: dict[str, str]) -> None:
            told.append((kind, key, details))

        inbox.on_problem = tell
        await inbox.scheduled_read()
        assert told == []  # one failure: perhaps a homeserver restart
        await inbox.scheduled_read()
        await inbox.scheduled_read()
        [(kind, key, details)] = told  # once for the streak, not every ten minutes
        assert kind == "inbox_unreadable" and details["count"] == "2"
        assert "homeserver unreachable" in details["error"]
        api.down = False
        api.pages = [[to_device("@lost:localhost")]]
        await inbox.scheduled_read()
        assert told[1] == ("inbox_readable", key.replace("inbox_unreadable", "inbox_readable"),
                           {"count": "3", "handled": "1"})
        await inbox.scheduled_read()
        assert len(told) == 2
    finally:
        await db.stop()


async def test_the_bot_inbox_token_survives_the_upgrade_to_a_token_per_device(
    database_url: str,
) -> None:
    """Migration v08 moves the bot device's /sync token (v07's one row) to the per-device table,
    so the first read after the upgrade goes on from it instead of emptying the inbox again."""
    from bridge.db.upgrade.v08_to_device_per_account import upgrade_v8

    db = Database.create(database_url)
    await db.start()
    try:
        async with db.acquire() as conn:
            await conn.execute("CREATE TABLE to_device_sync (id INTEGER PRIMARY KEY, since TEXT NOT NULL)")
            await conn.execute("INSERT INTO to_device_sync (id, since) VALUES (1, 's42_7')")
            await upgrade_v8(conn, db.scheme)  # (as mautrix's UpgradeTable calls it)
        assert await db.fetchval("SELECT since FROM to_device_since WHERE account_id=''") == "s42_7"
        assert not await db.table_exists("to_device_sync")
    finally:
        await db.stop()
