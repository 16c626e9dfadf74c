"""1. Direct user → user delivery latency on one homeserver."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.stack import Stack, connector_session, joined_room, make_client
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
        sent_at: dict[str, float] = {}
        receiver = asyncio.create_task(
            bob.sync_until(set(markers), time.monotonic() + timeout))
        await asyncio.sleep(0.2)  # let the long-poll settle in
        synapse = CpuSince(stack.synapse.pid)
        for marker in markers:
            sent_at[marker] = time.perf_counter()
            await alice.send_text(room_id, marker)
            await asyncio.sleep(spacing_s)
        await receiver
        synapse_cpu = synapse.seconds()
        delays = [bob.seen[m] - sent_at[m] for m in markers if m in bob.seen]
        result: dict[str, Any] = summary_ms(delays)
        result.update(sent=messages, received=len(delays), spacing_ms=spacing_s * 1000,
                      synapse_cpu_ms_per_message=round(synapse_cpu * 1000 / messages, 2))
        return result
