"""2. Raw homeserver send throughput: K senders, M messages each, own room each."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.stack import Client, Stack, connector_session, joined_room, make_client
from bench.stats import CpuSince


async def _burst(client: Client, room_id: str, markers: list[str]) -> None:
    for marker in markers:
        await client.send_text(room_id, marker)


async def run_throughput(stack: Stack, senders: int, messages: int,
                         timeout: float = 300) -> dict[str, Any]:
    async with connector_session() as session:
        tag = uuid.uuid4().hex[:6]
        receiver = await make_client(stack, session, f"tp_r_{tag}")
        clients = [await make_client(stack, session, f"tp_s{i}_{tag}") for i in range(senders)]
        rooms = [await joined_room(c, receiver) for c in clients]
        await receiver.sync_once(0)
        plan = [[f"tp-{tag}-{s}-{i}" for i in range(messages)] for s in range(senders)]
        wanted = {m for markers in plan for m in markers}
        synapse = CpuSince(stack.synapse.pid)
        start = time.perf_counter()
        sync = asyncio.create_task(receiver.sync_until(wanted, time.monotonic() + timeout))
        await asyncio.gather(*(_burst(c, r, p) for c, r, p in zip(clients, rooms, plan, strict=True)))
        sent = time.perf_counter() - start
        await sync
        seen = [receiver.seen[m] for m in wanted if m in receiver.seen]
        visible = (max(seen) - start) if seen else float("nan")
        total = senders * messages
        synapse_cpu = synapse.seconds()
        return {
            "synapse_cpu_ms_per_message": round(synapse_cpu * 1000 / total, 2),
            "senders": senders, "messages_each": messages, "total": total,
            "received": len(seen),
            "sent_s": round(sent, 3), "visible_s": round(visible, 3),
            "msgs_per_s": round(len(seen) / visible, 1) if seen else 0.0,
            "send_ack_msgs_per_s": round(total / sent, 1),
        }
