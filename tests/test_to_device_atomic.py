"""A to-device message is handled all or nothing (bridge/crypto/machine.py), on both databases.

Found in the suite: a SIGKILL after mautrix had stored an Olm session's new state but before the
Megolm key the message carried. The copy read back from the inbox then failed ("Decryption
failed for normal message": an Olm message decrypts once), and every message of that Megolm
session was lost. These tests use mautrix's real Olm machine and a real Olm peer (python-olm),
and kill a real process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from mautrix.crypto.unwedge import OlmUnwedgingMachine
from mautrix.util.async_db.database import conn_var

from tests.kit.olm_peer import ROOM, olm_message, open_bot, room_key_message

ROOT = Path(__file__).resolve().parent.parent


async def test_a_kill_while_a_room_key_is_stored_leaves_it_readable_from_the_inbox(
    database_url: str, tmp_path: Path
) -> None:
    db, machine, _ = await open_bot(database_url)
    message, group = await room_key_message(machine)
    await db.stop()
    path = tmp_path / "message.json"
    path.write_text(json.dumps(message), encoding="utf-8")

    died = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.kit.olm_peer", database_url, str(path), cwd=ROOT)
    assert await asyncio.wait_for(died.wait(), 120) == -signal.SIGKILL

    # The restarted bridge reads the same message back from the inbox.
    db, machine, inbox = await open_bot(database_url)
    try:
        async def woken_then_found() -> bool:
            assert await machine.wait_for_session(ROOM, group.id, timeout=30)
            # Woken after the commit, not before: the key is there to decrypt with.
            return await machine.crypto_store.has_group_session(ROOM, group.id)

        waiting = asyncio.create_task(woken_then_found())
        await asyncio.sleep(0)
        assert await inbox.handle(message, "read back")
        assert await waiting
        session = await machine.crypto_store.get_group_session(ROOM, group.id)
        assert session is not None
        text = group.encrypt("收到，稍后逐条答复")
        assert session.decrypt(text)[0] == "收到，稍后逐条答复"
        assert not await inbox.handle(message, "pushed")  # once, whichever way it came
    finally:
        await db.stop()


async def test_olm_tasks_started_while_a_message_is_handled_use_their_own_connection(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Olm message mautrix cannot decrypt starts its unwedging (a new Olm session with the
    sender) as a background task; it must not inherit the handler's transaction connection."""
    seen: list[Any] = []
    started = asyncio.Event()

    async def unwedge(self: Any, sender: str, sender_key: str) -> None:
        seen.append(conn_var.get())
        started.set()

    monkeypatch.setattr(OlmUnwedgingMachine, "_unwedge_session", unwedge)
    db, machine, inbox = await open_bot(database_url)
    try:
        broken = olm_message(machine, "unknownsenderkey", "AwoAbroken", kind=1)
        assert await inbox.handle(broken)  # handled: failed, logged, kept as seen
        await asyncio.wait_for(started.wait(), 10)
        assert seen == [None]
        assert not await inbox.handle(broken)
        # The database is usable afterwards (no transaction left open on its connection).
        assert await db.fetchval("SELECT COUNT(*) FROM to_device_seen") == 1
    finally:
        await db.stop()
