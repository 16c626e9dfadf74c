"""The directory's tables: which Matrix room stands for which space or department, and the
state last applied to it, so a warm restart sends nothing that has not changed."""

from __future__ import annotations

import json
from typing import Any

from mautrix.util.async_db import Database


class DirectoryTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def rooms(self, table: str) -> dict[str, tuple[str, dict[str, Any]]]:
        key = "jurisdiction" if table == "directory_space" else "dept_id"
        rows = await self.db.fetch(f"SELECT {key} AS id, room_id, applied FROM {table}")
        return {r["id"]: (r["room_id"], json.loads(r["applied"])) for r in rows}

    async def save_room(self, table: str, key: str, room_id: str, applied: dict[str, Any]) -> None:
        column = "jurisdiction" if table == "directory_space" else "dept_id"
        await self.db.execute(
            f"INSERT INTO {table} ({column}, room_id, applied) VALUES ($1, $2, $3)"
            f" ON CONFLICT ({column}) DO UPDATE SET room_id=excluded.room_id,"
            " applied=excluded.applied",
            key,
            room_id,
            json.dumps(applied, ensure_ascii=False, sort_keys=True),
        )

    async def ghost_names(self) -> dict[str, str]:
        rows = await self.db.fetch("SELECT dept_id, displayname FROM directory_ghost")
        return {r["dept_id"]: r["displayname"] for r in rows}

    async def save_ghost_name(self, dept_id: str, displayname: str) -> None:
        await self.db.execute(
            "INSERT INTO directory_ghost (dept_id, displayname) VALUES ($1, $2)"
            " ON CONFLICT (dept_id) DO UPDATE SET displayname=excluded.displayname",
            dept_id,
            displayname,
        )
