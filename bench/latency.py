"""1. Direct user → user delivery latency on one homeserver."""

from __future__ import annotations

import uuid
from typing import Any

from bench.stack import Stack, connector_session, joined_room, make_client, one_way
from bench.stats import CpuSince, summary_ms


async def run_latency(stack: Stack, messages: int, spacing_s: float,
                      timeout: float = 120) -> dict[str, Any]:
    async with connector_session() as session:
        tag = uuid.uuid4().hex[:6]
        alice = await make_client(stack, session, f"lat_a_{tag}")
        bob = await make_client(stack, session, f"lat_b_{tag}")
        room_id = await joined_room(alice, bob)
        await bob.sync_once(0)  # past the join
        markers = [f"lat-{tag}-{i}" for i in range(messages)]

        async def send(marker: str) -> None:
            await alice.send_text(room_id, marker)

        synapse = CpuSince(stack.synapse.pid)
        delays = await one_way(send, bob, markers, timeout, spacing_s)
        synapse_cpu, busy = synapse.seconds(), synapse.busy_pct()
        result: dict[str, Any] = summary_ms(delays)
        result.update(sent=messages, received=len(delays), spacing_ms=spacing_s * 1000,
                      synapse_cpu_ms_per_message=round(synapse_cpu * 1000 / messages, 2),
                      synapse_busy_pct=busy)
        return result
