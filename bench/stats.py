"""Percentiles without numpy, and CPU time read from /proc."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for an empty sequence."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else math.nan,
    }


class CpuSince:
    """CPU seconds a process has used since this was made; NaN when there is no process."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.start = cpu_s(pid) if pid else math.nan
        self.wall0 = time.perf_counter()

    def seconds(self) -> float:
        return cpu_s(self.pid) - self.start if self.pid else math.nan

    def busy_pct(self) -> float:
        """Share of the wall time since this was made that the process spent on a CPU: near
        100% for Synapse, which runs its Python on one core, means requests queue."""
        return round(100 * self.seconds() / (time.perf_counter() - self.wall0), 1)


def cpu_s(pid: int, tid: int | None = None) -> float:
    """utime + stime of the process (all its threads), or of one thread, in seconds."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK
