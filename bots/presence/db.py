"""What the presence bot set as each DM's topic, so a restart sends only what changed."""

from __future__ import annotations

from mautrix.util.async_db import Database

DM_TABLE = "consult_dm"  # the consultation bot's record of citizens' DMs with departments
CASE_TABLE = "consult_case"


class TopicTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def recent_dms(self, dept_id: str, since_ms: int) -> dict[str, str | None]:
        """The department's DMs with a case opened since `since_ms`, and their last topic."""
        rows = await self.db.fetch(
            f"SELECT DISTINCT d.room_id, t.topic FROM {DM_TABLE} d"
            f" JOIN {CASE_TABLE} c ON c.dm_room = d.room_id"
            " LEFT JOIN presence_dm_topic t ON t.room_id = d.room_id"
            " WHERE d.dept_id = $1 AND c.opened_at >= $2",
            dept_id, since_ms,
        )
        return {r["room_id"]: r["topic"] for r in rows}

    async def save(self, room_id: str, topic: str) -> None:
        await self.db.execute(
            "INSERT INTO presence_dm_topic (room_id, topic) VALUES ($1, $2)"
            " ON CONFLICT (room_id) DO UPDATE SET topic=excluded.topic",
            room_id, topic,
        )
