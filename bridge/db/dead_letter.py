"""dead_letter: pushed events too malformed to store in the inbox, kept for an operator."""

from __future__ import annotations

import json
import time
from typing import Any

from mautrix.util.async_db import Database


class DeadLetterTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, txn_id: str, payload: Any, error: str) -> None:
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        await self.db.execute(
            "INSERT INTO dead_letter (txn_id, event_id, payload, error, received_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            txn_id,
            event_id if isinstance(event_id, str) else None,
            json.dumps(payload, ensure_ascii=False, default=repr),
            error,
            int(time.time() * 1000),
        )

    async def count(self) -> int:
        return await self.db.fetchval("SELECT COUNT(*) FROM dead_letter")
