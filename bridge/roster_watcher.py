"""Holds the roster in force and swaps in a new one only when the edited files validate."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from .roster import Roster, RosterError, load_roster
from .roster.files import roster_files

log = logging.getLogger("dutyroom.roster")

Listener = Callable[[], Awaitable[None]]
ErrorListener = Callable[[RosterError], Awaitable[None]]


class RosterWatcher:
    def __init__(self, patterns: Sequence[str], base: Path, poll_interval: float = 5.0) -> None:
        self.patterns = list(patterns)
        self.base = base
        self.poll_interval = poll_interval
        self.on_change: list[Listener] = []
        self.on_error: list[ErrorListener] = []
        self._current: Roster | None = None
        self._digest = ""
        self._task: asyncio.Task[None] | None = None
        self.last_error: RosterError | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> Roster:
        if self._current is None:
            raise RuntimeError("The roster has not been loaded")
        return self._current

    def _read(self) -> tuple[list[Path], str]:
        files = roster_files(self.patterns, self.base)
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path).encode())
            try:
                digest.update(path.read_bytes())
            except OSError as e:
                digest.update(repr(e).encode())
        return files, digest.hexdigest()

    def load_initial(self) -> Roster:
        """Load at start-up; an invalid roster here stops the bridge with the error list."""
        files, digest = self._read()
        self._current = load_roster(files)
        self._digest = digest
        return self._current

    async def check_now(self) -> bool:
        """Reload if any file changed; True if a new roster was applied."""
        async with self._lock:
            return await self._check()

    async def _check(self) -> bool:
        files, digest = self._read()
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            roster = load_roster(files)
        except RosterError as e:
            self.last_error = e
            log.error("Roster change refused, the running roster stays in force:\n%s", e)
            for listener in self.on_error:
                await listener(e)
            return False
        self.last_error = None
        if self._current is not None and roster.fingerprint() == self._current.fingerprint():
            return False
        self._current = roster
        log.info("Applied a new roster: %d departments", len(roster.departments))
        for change_listener in self.on_change:
            await change_listener()
        return True

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.check_now()
            except Exception:
                log.exception("Roster check failed")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
