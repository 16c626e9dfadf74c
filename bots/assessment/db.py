"""The assessment bot's tables: bulletins sent (exactly once) and topic counts (热点)."""

from __future__ import annotations

from mautrix.util.async_db import Database


class AssessTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def installed_at(self, now_ms: int) -> int:
        """When the assessment first ran on this database (recorded by the first call)."""
        await self.db.execute(
            "INSERT INTO assess_bulletin (kind, period, claimed_at, sent_at) VALUES ('installed', '', $1, $1)"
            " ON CONFLICT (kind, period) DO NOTHING", now_ms)
        return int(await self.db.fetchval(
            "SELECT claimed_at FROM assess_bulletin WHERE kind='installed' AND period=''"))

    async def claim_bulletin(self, kind: str, period: str, now_ms: int) -> bool:
        """True unless this bulletin was sent already (a claimed but unsent one is claimed
        again: its sends are keyed by kind and period, so the outbox sends each once)."""
        await self.db.execute(
            "INSERT INTO assess_bulletin (kind, period, claimed_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (kind, period) DO NOTHING", kind, period, now_ms)
        sent = await self.db.fetchval(
            "SELECT sent_at FROM assess_bulletin WHERE kind=$1 AND period=$2", kind, period)
        return sent is None

    async def bulletin_sent(self, kind: str, period: str, now_ms: int) -> None:
        await self.db.execute(
            "UPDATE assess_bulletin SET sent_at=$3 WHERE kind=$1 AND period=$2", kind, period, now_ms)

    async def bulletins(self) -> list[tuple[str, str]]:
        rows = await self.db.fetch(
            "SELECT kind, period FROM assess_bulletin WHERE sent_at IS NOT NULL ORDER BY claimed_at")
        return [(r["kind"], r["period"]) for r in rows]

    async def count_terms(self, event_id: str, dept_id: str, day: str, terms: set[str]) -> None:
        """Add one question's words to the day's counts, once per event."""
        async with self.db.acquire() as conn, conn.transaction():
            seen = await conn.fetchval(
                "INSERT INTO assess_topic_seen (event_id) VALUES ($1) ON CONFLICT DO NOTHING"
                " RETURNING event_id", event_id)
            if seen is None:
                return
            for term in sorted(terms):
                await conn.execute(
                    "INSERT INTO assess_topic (dept_id, day, term, n) VALUES ($1, $2, $3, 1)"
                    " ON CONFLICT (dept_id, day, term) DO UPDATE SET n = assess_topic.n + 1",
                    dept_id, day, term)

    async def top_terms(self, dept_ids: list[str], first: str, end: str, limit: int,
                        min_n: int) -> list[tuple[str, int]]:
        """The period's most frequent words over these departments (days first..end exclusive)."""
        if not dept_ids:
            return []
        marks = ", ".join(f"${i + 4}" for i in range(len(dept_ids)))
        rows = await self.db.fetch(
            f"SELECT term, SUM(n) AS total FROM assess_topic WHERE day >= $1 AND day < $2"
            f" AND dept_id IN ({marks}) GROUP BY term HAVING SUM(n) >= $3"
            " ORDER BY SUM(n) DESC, term LIMIT " + str(int(limit)),
            first, end, min_n, *dept_ids)
        return [(r["term"], int(r["total"])) for r in rows]
