"""In order and nothing stranded: numbered messages both ways while the bridge process is SIGKILLed
and the homeserver is SIGKILLed and restarted, at moments chosen by a seeded random generator.

Every citizen's message must reach the officers' room in its case's thread exactly once and in the
order sent, every officer's reply the citizen likewise, each within DELIVERY_BOUND seconds of its
send. The homeserver is the test's own, so killing it does not disturb other tests.

CI runs one seed per database. More: DUTYROOM_FAULT_SEEDS=10 (seeds 1..10), and
DUTYROOM_FAULT_MESSAGES / _CITIZENS / _BRIDGE_KILLS / _HOMESERVER_KILLS for bigger runs; each run's figures are printed
(`-s`) and appended as JSON lines to DUTYROOM_FAULT_REPORT if set (docs/benchmark.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.kit.clients import UserFactory
from tests.kit.faults import run_fault_scenario
from tests.kit.stack import Stack, start_stack

SEEDS = range(1, int(os.environ.get("DUTYROOM_FAULT_SEEDS", "1")) + 1)
MESSAGES = int(os.environ.get("DUTYROOM_FAULT_MESSAGES", "12"))
CITIZENS = int(os.environ.get("DUTYROOM_FAULT_CITIZENS", "3"))
BRIDGE_KILLS = int(os.environ.get("DUTYROOM_FAULT_BRIDGE_KILLS", "2"))
HOMESERVER_KILLS = int(os.environ.get("DUTYROOM_FAULT_HOMESERVER_KILLS", "1"))
# A homeserver restart (~3 s here), a bridge restart (~2 s), the outbox's backoff while the
# homeserver was away, and the scheduled reconciliation's interval (5 s in this test).
DELIVERY_BOUND = 60.0


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("faults"))
    try:
        yield running
    finally:
        running.synapse.stop()


@pytest.mark.parametrize("seed", SEEDS)
async def test_messages_stay_in_order_and_arrive_across_kills(
    fault_stack: Stack, database_url: str, prefix: str, roster_dir: Path, tmp_path: Path, seed: int
) -> None:
    settings = fault_stack.bridge_settings(database_url, prefix, [str(roster_dir / "*.yaml")])
    settings.extra["appservice.reconcile_interval"] = 5
    users = UserFactory(fault_stack)
    try:
        report = await run_fault_scenario(
            fault_stack, settings, roster_dir, tmp_path, users, seed=seed,
            citizens=CITIZENS, messages=MESSAGES, bridge_kills=BRIDGE_KILLS,
            homeserver_kills=HOMESERVER_KILLS,
        )
    finally:
        for user in users.made:
            await user.close()
    figures = {k: v for k, v in asdict(report).items() if k != "problems"}
    print("fault run:", json.dumps(figures))
    if os.environ.get("DUTYROOM_FAULT_REPORT"):
        with Path(os.environ["DUTYROOM_FAULT_REPORT"]).open("a", encoding="utf-8") as out:  # noqa: ASYNC230
            out.write(json.dumps(asdict(report), ensure_ascii=False) + "\n")
    assert report.ok, report.problems
    assert report.bridge_kills and report.homeserver_kills
    assert report.worst_delay_s <= DELIVERY_BOUND, figures
