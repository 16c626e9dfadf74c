"""Session fixtures: one real Synapse (and one real PostgreSQL) shared by the whole run.

Every bridge test runs on both databases: `sqlite` (the embedded default) and `postgres`.
Tests get a fresh bridge database and their own namespace prefix, so they share the homeserver
without seeing each other's rooms.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack import Postgres
from tests.kit.bridge import BridgeSettings, InProcessBridge, running_bridge, write_config
from tests.kit.clients import UserFactory
from tests.kit.duty import DutyRoom, start_duty_room
from tests.kit.e2ee import EncryptingUserFactory
from tests.kit.stack import Stack, start_stack

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BACKENDS = [b for b in os.environ.get("DUTYROOM_TEST_DATABASES", "sqlite,postgres").split(",") if b]
_counter = itertools.count(1)


# The homeserver's default room version, which the bridge follows unless configured: CI runs the
# directory and relay suites again on 10 (older clients cannot read version 12; issue #14).
HOMESERVER_ROOM_VERSION = os.environ.get("DUTYROOM_TEST_ROOM_VERSION", "12")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack"),
                          {"default_room_version": HOMESERVER_ROOM_VERSION})
    try:
        yield running
    finally:
        running.synapse.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    if "postgres" not in BACKENDS:
        yield None
        return
    if not Postgres.available():
        pytest.fail("PostgreSQL binaries not found (install postgresql-15)")
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path}/bridge.db"
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database(f"bridge_{next(_counter)}_{secrets.token_hex(3)}")


@pytest.fixture
def prefix() -> str:
    return f"dutyroom_t{next(_counter)}x_"


@pytest.fixture
def bridge_settings(stack: Stack, database_url: str, prefix: str) -> BridgeSettings:
    return stack.bridge_settings(database_url, prefix, [str(DATA / "rosters" / "small" / "*.yaml")])


@pytest.fixture
def roster_dir(tmp_path: Path) -> Path:
    """A writable copy of the small test roster, for tests that edit it while the bridge runs."""
    target = tmp_path / "roster"
    shutil.copytree(DATA / "rosters" / "small", target)
    return target


@pytest.fixture
async def bridge(bridge_settings: BridgeSettings, tmp_path: Path) -> AsyncIterator[InProcessBridge]:
    async with running_bridge(write_config(tmp_path / "config.yaml", bridge_settings)) as running:
        yield running


@pytest.fixture
async def duty(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory
) -> AsyncIterator[DutyRoom]:
    """The kit's duty room: officers rostered and in their rooms (mail tests add their own)."""
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, users)
    yield room
    await room.bridge.stop()


@pytest.fixture
async def users(stack: Stack) -> AsyncIterator[UserFactory]:
    factory = UserFactory(stack)
    try:
        yield factory
    finally:
        for user in factory.made:
            await user.close()


# Users whose clients encrypt (matrix-nio[e2e]), and the duty room with encrypted officers' rooms:
# the encryption tests (test_e2ee*, test_notices_e2ee, test_knowledge) share them.

@pytest.fixture
async def e2ee_users(stack: Stack, tmp_path: Path) -> AsyncIterator[EncryptingUserFactory]:
    factory = EncryptingUserFactory(stack, tmp_path / "stores")
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def e2ee_duty(
    bridge_settings: BridgeSettings, roster_dir: Path, tmp_path: Path,
    e2ee_users: EncryptingUserFactory,
) -> AsyncIterator[DutyRoom]:
    """The kit's duty room with encrypting officers in encrypted officers' rooms."""
    bridge_settings.extra["consultation.encrypt_officers_rooms"] = True
    bridge_settings.extra["encryption.key_wait_seconds"] = 10
    room = await start_duty_room(bridge_settings, roster_dir, tmp_path, e2ee_users)  # type: ignore[arg-type]
    yield room
    await room.bridge.stop()
