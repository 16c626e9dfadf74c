"""Bounded concurrency for provisioning many rooms at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .context import BotContext

T = TypeVar("T")
log = logging.getLogger("dutyroom.provisioning")
# Synapse creates rooms faster with a few requests in flight (it batches their database work):
# 124 departments took 57 s at 6 and 50 s at 10 on two cores, with Synapse's one core at 74 %
# and 94 %. Much more only queues inside Synapse and delays everything else it serves.
DEFAULT_CONCURRENCY = 8


async def bounded(limit: int, jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Run `jobs` with at most `limit` at a time; results in order.

    Every job runs to its end even when another fails (one broken department must not leave the
    others unprovisioned, nor leave jobs running after the caller's lock is released); the first
    failure is raised afterwards.
    """
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(job: Awaitable[T]) -> T:
        async with semaphore:
            return await job

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for other in failures[1:]:  # only the first propagates; the others would go unseen
            log.error("Another provisioning job failed too", exc_info=other)
        raise failures[0]
    return results  # type: ignore[return-value]


def provision_concurrency(ctx: BotContext) -> int:
    """`rosters.provision_concurrency`: rooms set up at once when a roster is applied."""
    return max(1, int(ctx.config.get("rosters.provision_concurrency", DEFAULT_CONCURRENCY)))
