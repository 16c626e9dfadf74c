"""Holds the entries in force and their search index; swaps in new ones only when an edit
validates (like bridge/roster_watcher.py for the roster).

Indexes are built in a thread: the first one waits for jieba's dictionary (about a second),
and neither may hold up the event loop. Searches await `ready()`, so a citizen's question that
arrives during that second gets its suggestions a moment later rather than none.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bridge.roster import Roster

from .entries import Knowledge, KnowledgeError, entry_files, load_knowledge
from .search import Index

log = logging.getLogger("dutyroom.knowledge")

ErrorListener = Callable[[KnowledgeError], Awaitable[None]]
ChangeListener = Callable[[Knowledge], Awaitable[None]]


class KnowledgeWatcher:
    def __init__(self, folder: Path, roster: Callable[[], Roster]) -> None:
        self.folder = folder
        self.roster = roster
        self.knowledge = Knowledge()
        self.index: Index | None = None
        self.last_error: KnowledgeError | None = None
        self.on_error: list[ErrorListener] = []
        self.on_change: list[ChangeListener] = []
        self._digest: str | None = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()

    def _read(self) -> tuple[list[Path], str]:
        digest = hashlib.sha256(str(self.folder).encode())
        files = entry_files(self.folder) if self.folder.is_dir() else []
        for path in files:
            digest.update(str(path).encode())
            try:
                digest.update(path.read_bytes())
            except OSError as e:
                digest.update(repr(e).encode())
        return files, digest.hexdigest()

    async def ready(self, timeout: float = 60.0) -> Index:
        """The index in force, once there is one; a first load that never finishes (a bug)
        raises after `timeout` rather than holding up a citizen's message for ever."""
        await asyncio.wait_for(self._ready.wait(), timeout)
        assert self.index is not None
        return self.index

    async def check_now(self, *, force: bool = False) -> bool:
        """Reload if a file changed (or `force`, after a roster change); True if applied."""
        async with self._lock:
            files, digest = self._read()
            if digest == self._digest and not force:
                return False
            self._digest = digest
            roster = self.roster()
            try:
                # Nothing in force yet (a start): the valid files go live, the broken ones are
                # reported; later, an edit is all or nothing and the entries in force stay.
                knowledge = load_knowledge(self.folder, roster, files, strict=self.index is not None)
                index = await asyncio.to_thread(Index, knowledge.entries.values(), knowledge.synonyms,
                                                self.index)
            except KnowledgeError as e:
                self.last_error = e
                log.error("Knowledge edit refused, the entries in force stay:\n%s", e)
                if self.index is None:  # nothing in force yet: search an empty base meanwhile
                    self.index = await asyncio.to_thread(Index, [])
                    self._ready.set()
                for listener in self.on_error:
                    await listener(e)
                return False
            knowledge.digest = digest
            if knowledge.problems:
                self.last_error = KnowledgeError(knowledge.problems)
                log.error("Knowledge files left out at start:\n%s", self.last_error)
                for listener in self.on_error:
                    await listener(self.last_error)
            changed = self.index is None or knowledge.entries != self.knowledge.entries \
                or knowledge.synonyms != self.knowledge.synonyms
            self.knowledge, self.index = knowledge, index
            self.last_error = KnowledgeError(knowledge.problems) if knowledge.problems else None
            self._ready.set()
            if changed:
                log.info("Applied the knowledge base: %d entries", len(knowledge.entries))
                for change in self.on_change:
                    await change(knowledge)
            return changed
