"""`python -m bridge dead-letters`, the dead-letter sweep and its gauge, on both databases
(no homeserver: the rows are made the way the runtime makes them)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mautrix.util.async_db import Database
from ruamel.yaml import YAML

from bridge.audit import DEAD_LETTER_READ, AuditLog
from bridge.config import EXAMPLE_CONFIG
from bridge.db import DeadLetterTable, InboxTable, OutboxTable, upgrade_table
from bridge.db.dead_letter import DeadLetter
from bridge.dead_letter_watch import DeadLetterWatch
from bridge.dead_letters import _parser, run
from bridge.metrics import DEAD_LETTERS_UNRESOLVED

ROOT = Path(__file__).resolve().parent.parent


def event(n: int, room: str = "!r:x", **extra: Any) -> dict[str, Any]:
    return {"event_id": f"$e{n}", "room_id": room, "type": "m.room.message", "sender": "@c:x",
            "origin_server_ts": n, "content": {"msgtype": "m.text", "body": f"消息 {n}"}, **extra}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.create(database_url, upgrade_table=upgrade_table)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    yaml = YAML()
    data = yaml.load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["appservice"]["database"] = database_url
    path = tmp_path / "config.yaml"
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(data, stream)
    return path


async def cli(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str]:
    code = await run(_parser().parse_args(["-c", str(config), *argv]))
    out = capsys.readouterr()
    return code, out.out + out.err


async def seed(db: Database) -> dict[str, str]:
    """One of each kind, as the runtime leaves them; returns their ids."""
    letters = DeadLetterTable(db)
    await letters.add("t1", {"event_id": "$bad", "room_id": "!r:x", "content": []}, "missing sender")
    # Malformed when it came, readable now (as after a fix of the door's checks).
    await letters.add("t2", event(90, room="!fixed:x"), "missing or invalid sender")
    inbox = InboxTable(db)
    [dead] = await inbox.store("t3", [event(1)])
    await inbox.record_failure(dead.seq, "RuntimeError('a handler bug')", dead=True)
    outbox = OutboxTable(db)
    await outbox.add("k/1", "!dm:x", "@ghost:x", "m.room.message", {"msgtype": "m.notice", "body": "hi"})
    seq = await db.fetchval("SELECT seq FROM outbox WHERE key='k/1'")
    await outbox.mark_failed(seq, "403 M_FORBIDDEN: not in room")
    ids = [d.id for d in await letters.unresolved()]
    return {"bad": ids[0], "fixed": ids[1], "inbox": ids[2], "outbox": ids[3]}


async def test_list_show_retry_once_and_discard(
    db: Database, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await seed(db)
    assert ids["inbox"].startswith("inbox/") and ids["outbox"].startswith("outbox/")
    code, out = await cli(capsys, config, "list")
    assert code == 0 and "4 unresolved" in out
    for letter_id in ids.values():
        assert letter_id in out
    assert "403 M_FORBIDDEN" in out and "a handler bug" in out
    code, out = await cli(capsys, config, "list", "--kind", "outbox")
    assert ids["outbox"] in out and ids["inbox"] not in out

    code, out = await cli(capsys, config, "show", ids["inbox"])
    assert code == 0 and "消息 1" in out and "state:    unresolved" in out
    # It may be a citizen's message: looking at it is an audit entry.
    [looked] = await AuditLog(db).entries(action=DEAD_LETTER_READ)
    assert looked.record == f"dead-letter/{ids['inbox']}" and looked.detail == "show"

    # An inbox dead letter: pending again with its attempts reset, once.
    assert (await cli(capsys, config, "retry", ids["inbox"]))[0] == 0
    row = await db.fetchrow("SELECT state, attempts FROM inbox_event WHERE event_id='$e1'")
    assert (row["state"], row["attempts"]) == ("pending", 0)
    code, out = await cli(capsys, config, "retry", ids["inbox"])
    assert code == 1 and "pending" in out
    # The replay failed again: it is a dead letter again, and not replayed twice.
    await InboxTable(db).record_failure(int(ids["inbox"].split("/")[1]), "again", dead=True)
    code, out = await cli(capsys, config, "retry", ids["inbox"])
    assert code == 1 and "retried once already" in out
    assert (await cli(capsys, config, "discard", ids["inbox"]))[0] == 0

    # A failed send: pending again for the outbox's sweep, once.
    assert (await cli(capsys, config, "retry", ids["outbox"]))[0] == 0
    row = await db.fetchrow("SELECT state, attempts, not_before FROM outbox WHERE key='k/1'")
    assert (row["state"], row["attempts"], row["not_before"]) == ("pending", 0, 0)
    assert (await cli(capsys, config, "retry", ids["outbox"]))[0] == 1

    # Still malformed: refused, then discarded (once).
    code, out = await cli(capsys, config, "retry", ids["bad"])
    assert code == 1 and "still malformed" in out
    assert (await cli(capsys, config, "discard", ids["bad"]))[0] == 0
    code, out = await cli(capsys, config, "discard", ids["bad"])
    assert code == 1 and "discarded" in out

    # Malformed then, readable now: stored in the inbox as a retried event, resolved.
    assert (await cli(capsys, config, "retry", ids["fixed"]))[0] == 0
    assert await db.fetchval("SELECT state FROM inbox_event WHERE event_id='$e90'") == "pending"
    assert (await cli(capsys, config, "retry", ids["fixed"]))[0] == 1
    inbox_rooms, outbox_rooms = await DeadLetterTable(db).replayed_rooms()
    assert inbox_rooms == ["!fixed:x"] and outbox_rooms == ["!dm:x"]

    code, out = await cli(capsys, config, "list")
    assert "No unresolved dead letters" in out
    assert (await cli(capsys, config, "show", "inbox/99999"))[0] == 1
    assert (await cli(capsys, config, "show", "nonsense"))[0] == 2


async def test_the_sweep_reports_each_dead_letter_once_and_keeps_the_gauge(db: Database) -> None:
    ids = await seed(db)
    told: list[DeadLetter] = []
    woken: list[list[str]] = []

    async def hook(letter: DeadLetter) -> None:
        told.append(letter)

    async def broken(letter: DeadLetter) -> None:
        raise RuntimeError("a failing hook is logged, never looped")

    table = DeadLetterTable(db)
    watch = DeadLetterWatch(table, interval=60, wake_inbox=woken.append, wake_outbox=woken.append)
    watch.hooks += [broken, hook]
    await watch.sweep()
    assert sorted(d.id for d in told) == sorted(ids.values())
    [inbox] = [d for d in told if d.kind == "inbox"]
    assert (inbox.event_id, inbox.room_id, inbox.sender) == ("$e1", "!r:x", "@c:x")
    assert "handler bug" in inbox.error
    [sent] = [d for d in told if d.kind == "outbox"]
    assert (sent.key, sent.room_id, sent.sender) == ("k/1", "!dm:x", "@ghost:x")

    def gauge(kind: str) -> float:
        return DEAD_LETTERS_UNRESOLVED.labels(kind)._value.get()

    assert (gauge("malformed"), gauge("inbox"), gauge("outbox")) == (2, 1, 1)
    await watch.sweep()
    assert len(told) == 4  # once each
    assert await table.retry(inbox)
    await watch.sweep()
    assert gauge("inbox") == 0 and woken == [["!r:x"]]  # the retried room is woken
    await InboxTable(db).record_failure(inbox.seq, "again", dead=True)
    await watch.sweep()
    assert told[-1].id == inbox.id and told[-1].retried  # dead again after a retry: told again
    assert gauge("inbox") == 1


def test_the_command_line_dispatches_dead_letters(config: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bridge", "dead-letters", "-c", str(config), "list"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "No unresolved dead letters" in done.stdout


async def test_dead_letters_from_before_the_upgrade_are_counted_not_announced(
    database_url: str,
) -> None:
    """Citizens must not hear, after an upgrade, about messages of days ago; the gauge and the
    list still show those dead letters."""
    from mautrix.util.async_db import UpgradeTable

    before = UpgradeTable(version_table_name=upgrade_table.version_table_name,
                          database_name=upgrade_table.database_name)
    before.upgrades = upgrade_table.upgrades[:4]
    old = Database.create(database_url, upgrade_table=before)
    await old.start()
    [dead] = await InboxTable(old).store("t", [event(1)])
    await old.execute("UPDATE inbox_event SET state='dead', error='old' WHERE seq=$1", dead.seq)
    await old.stop()
    db = Database.create(database_url, upgrade_table=upgrade_table)
    await db.start()
    try:
        table = DeadLetterTable(db)
        assert await table.unalerted() == []
        assert (await table.unresolved_counts())["inbox"] == 1
        assert [d.id for d in await table.unresolved()] == [f"inbox/{dead.seq}"]
    finally:
        await db.stop()
