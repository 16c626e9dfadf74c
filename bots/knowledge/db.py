"""The knowledge bot's tables: numbered offers, usage per entry, weekly review reminders.

kb_usage is what the assessment reads: one row per event (key unique), columns
key, entry_id, dept_id, case_id, kind, at (ms). Kinds:
  suggested_officer  shown to officers (thread root or `!答 <词>`)
  suggested_citizen  listed in an out-of-hours / nobody-on-duty reply
  opened             a citizen replied with its number and read it in full
  sent               an officer sent it to the citizen with `!答 <编号>`
  closed_well        a case it was sent or opened in was rated 4 or 5
"""

from __future__ import annotations

from mautrix.util.async_db import Database

SUGGESTED_OFFICER, SUGGESTED_CITIZEN = "suggested_officer", "suggested_citizen"
OPENED, SENT, CLOSED_WELL = "opened", "sent", "closed_well"


class KnowledgeTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def offer(self, scope: str, entry_ids: list[str], now_ms: int) -> None:
        """Number `entry_ids` 1, 2, 3 … in `scope`, replacing the previous list."""
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM kb_offer WHERE scope=$1", scope)
            for number, entry_id in enumerate(entry_ids, 1):
                await conn.execute(
                    "INSERT INTO kb_offer (scope, number, entry_id, offered_at) VALUES ($1, $2, $3, $4)",
                    scope, number, entry_id, now_ms)

    async def offered(self, scope: str) -> tuple[list[str], int | None]:
        """The entry ids last offered in `scope`, in number order, and when."""
        rows = await self.db.fetch(
            "SELECT entry_id, offered_at FROM kb_offer WHERE scope=$1 ORDER BY number", scope)
        return [r["entry_id"] for r in rows], (rows[0]["offered_at"] if rows else None)

    async def use(self, key: str, entry_id: str, dept_id: str, case_id: int | None, kind: str,
                  now_ms: int) -> None:
        await self.db.execute(
            "INSERT INTO kb_usage (key, entry_id, dept_id, case_id, kind, at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
            key, entry_id, dept_id, case_id, kind, now_ms)

    async def answered_with(self, case_id: int) -> list[tuple[str, str]]:
        """(entry, department) of the entries sent or opened in a case."""
        rows = await self.db.fetch(
            "SELECT DISTINCT entry_id, dept_id FROM kb_usage WHERE case_id=$1 AND kind IN ($2, $3)",
            case_id, SENT, OPENED)
        return [(r["entry_id"], r["dept_id"]) for r in rows]

    async def counts(self) -> dict[str, dict[str, int]]:
        rows = await self.db.fetch("SELECT entry_id, kind, COUNT(*) AS n FROM kb_usage GROUP BY entry_id, kind")
        found: dict[str, dict[str, int]] = {}
        for r in rows:
            found.setdefault(r["entry_id"], {})[r["kind"]] = int(r["n"])
        return found

    async def review_sent(self, dept_id: str, week: str) -> bool:
        return await self.db.fetchval(
            "SELECT 1 FROM kb_review_sent WHERE dept_id=$1 AND week=$2", dept_id, week) is not None

    async def mark_review_sent(self, dept_id: str, week: str, now_ms: int) -> None:
        await self.db.execute(
            "INSERT INTO kb_review_sent (dept_id, week, sent_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (dept_id, week) DO NOTHING", dept_id, week, now_ms)
