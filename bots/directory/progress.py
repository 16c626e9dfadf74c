"""Provisioning progress (issue #18): rooms made / to make and the time left, in the log and in
the province's administrators' room.

Provisioning is resumable by construction: every room is recorded as soon as it is made (and a
room made just before a crash is found again by its alias), so a restart makes only what is
missing. This module only tells people how far it has got: a province of 141 departments takes a
minute or two cold, 744 departments much longer.
"""

from __future__ import annotations

import time
from typing import Any

from bots.admin.routing import PROVINCE, ensure_admin_room
from bridge.context import BotContext

# Fewer rooms to make than this (a roster edit adding a department) is not worth a notice.
NOTICE_FROM = 20
LOG_EVERY_S = 5.0
NOTICE_EVERY_S = 60.0


def _duration(seconds: float, t: Any) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return t("directory.seconds", n=seconds)
    return t("directory.minutes", m=seconds // 60, s=seconds % 60)


class Progress:
    def __init__(self, ctx: BotContext, total: int, existing: int) -> None:
        self.ctx, self.total, self.existing = ctx, total, existing
        self.done = 0
        self.started = self._last_log = self._last_notice = time.monotonic()
        self.run = int(ctx.clock.now().timestamp() * 1000)
        self.room: str | None = None

    def left_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total - self.done) if self.done else float("nan")

    async def begin(self) -> None:
        self.ctx.log.info("Provisioning: %d rooms to make%s", self.total,
                          f" ({self.existing} made before: resuming)" if self.existing else "")
        if self.total < NOTICE_FROM:
            return
        try:
            self.room = await ensure_admin_room(self.ctx, PROVINCE)
        except Exception:  # no administrators' room: the log still has it all
            self.ctx.log.exception("No administrators' room for provisioning progress")
            return
        await self._notice("start", self.ctx.messages(
            "directory.provisioning_start", total=self.total, existing=self.existing))

    async def made(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            self.ctx.log.info("Provisioning: %d/%d rooms made, about %.0f s left",
                              self.done, self.total, self.left_s())
        if self.room and now - self._last_notice >= NOTICE_EVERY_S:
            self._last_notice = now
            await self._notice(str(self.done), self.ctx.messages(
                "directory.provisioning_progress", done=self.done, total=self.total,
                left=_duration(self.left_s(), self.ctx.messages)))

    async def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        self.ctx.log.info("Provisioning: %d rooms made in %.1f s", self.done, elapsed)
        if self.room:
            await self._notice("done", self.ctx.messages(
                "directory.provisioning_done", done=self.done,
                elapsed=_duration(elapsed, self.ctx.messages)))

    async def _notice(self, step: str, text: str) -> None:
        assert self.room is not None
        await self.ctx.send(f"directory/provisioning/{self.run}/{step}", self.room,
                            {"msgtype": "m.notice", "body": text})
