"""A case's conversation as the bridge keeps it: the citizen's messages and the department's
answers, in the order they were passed on, from the copies in the outbox.

Used by `!历史` (an officer whose new device cannot decrypt what came before, or who takes
over a long case, gets the case reposted in its thread, encrypted for the devices there now)
and by the privacy bot's export (the citizen's own messages). Nothing here sends anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mautrix.util.async_db import Database

from bridge.db import OutboxTable
from bridge.long_messages import EMPTIED_PART, PART_MARK
from bridge.mail.sanitise import html_to_text

# The pseudonym the officers' copy of a citizen's message starts with ("市民 #4821："); a
# digest has one per line.
LABEL = re.compile(r"^(市民|Citizen) #\d+：", re.MULTILINE)
TEXT_TYPES = ("m.text", "m.notice", "m.emote")
BLANK_LINES = re.compile(r"\n[ \t　]*\n+")  # (a paragraph break is one line break in a record)
# A case's citizen (and DM room) once the citizen had their data erased (bots/privacy).
ERASED = "erased"
# What a retracted or erased message's kept copies say (consult.retracted_copy in both
# languages; bots/privacy/records.py PLACEHOLDER): their edits are not shown instead.
WITHDRAWN = ("（已撤回）", "(retracted)", "（已删除）")


# What a record reposted in one message may hold: the latest lines, each cut to LINE_CHARS, in
# at most BUDGET_CHARS (12,000 Chinese characters are 36 KB as UTF-8, 48 KB once encrypted;
# the homeserver refuses an event over 64 KiB, and a transfer's root that is refused never
# reaches the receiving department).
LINE_CHARS = 300
BUDGET_CHARS = 12_000
HTML = "org.matrix.custom.html"


def words(content: dict[str, Any]) -> str:
    """A message's words as its reader saw them: the text of its HTML where it has some (an
    Element user's `body` is the Markdown they typed, "**重要**"), else its body."""
    formatted = content.get("formatted_body")
    if content.get("format") == HTML and isinstance(formatted, str) and formatted.strip():
        return html_to_text(formatted)
    return str(content.get("body", ""))


def latest(lines: list[str], count: int, budget: int = BUDGET_CHARS) -> list[str]:
    """The last `count` lines, each cut to LINE_CHARS, as many as fit in `budget` characters."""
    kept: list[str] = []
    for line in reversed(lines[-count:]):
        line = line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + "…"
        budget -= len(line) + 1
        if budget < 0 and kept:
            break
        kept.append(line)
    return kept[::-1]


@dataclass
class Entry:
    at: int                 # ms, when the case log recorded it
    kind: str               # "citizen", "answer" (an officer's or a knowledge-base answer), "transfer"
    actor: str | None       # the officer's alias for an answer; "fgw->gat: note" for a transfer
    content: dict[str, Any] | None  # the message as passed on; None when no copy is kept
    edited: bool = False  # content holds the latest edit's words, not those first sent

    @property
    def text(self) -> str:
        """The words without the pseudonym (a file's: its caption or name), without blank lines."""
        if self.content is None:
            return ""
        return BLANK_LINES.sub("\n", LABEL.sub("", words(self.content))).strip("\n")

    @property
    def media(self) -> str | None:
        """The kind of file it is ("image", "file", "video", "audio"); None for words."""
        msgtype = self.content.get("msgtype") if self.content is not None else None
        return None if msgtype in TEXT_TYPES or msgtype is None else str(msgtype).removeprefix("m.")


def shown(entry: Entry, t: Any) -> str:
    """An entry's words as a record shows them: a file's kind first, in the officers' language
    ("[图片] 证件.png")."""
    return f"{t(f'officer.media_{entry.media}')} {entry.text}" if entry.media else entry.text


def _loads(raw: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def copy_of(db: Database, key: str) -> dict[str, Any] | None:
    """The outbox's copy under `key`, whole: a message too long for one event went as parts
    (bridge/long_messages.py), joined here without their "(i/n)" marks. As first sent: parts
    an edit added after them (numbered on from there) are not the original's words."""
    first = _loads(await db.fetchval("SELECT content FROM outbox WHERE key=$1", key))
    mark = PART_MARK.search(str(first.get("body", ""))) if first is not None else None
    if first is None or mark is None:  # (erased: the first part's body is blank)
        return first
    keys = (await OutboxTable(db).parts_of(key))[:int(mark.group(2)) - 1]
    rows = [await db.fetchval("SELECT content FROM outbox WHERE key=$1", k) for k in keys]
    parts = [first, *(c for c in map(_loads, rows) if c is not None)]
    body = "\n".join(PART_MARK.sub("", str(p.get("body", ""))) for p in parts)
    # (Each part's HTML holds that part only: the joined message is its text.)
    return {k: v for k, v in parts[0].items() if k not in ("format", "formatted_body")} | {"body": body}


async def edits_of(db: Database, key: str, rendered: bool = False) -> list[str]:
    """The new texts of the edits of the message queued under `key`, oldest first (an edit of
    a message in parts went as one edit per part: joined); `rendered`: as read (`words`), not
    as typed."""
    texts: dict[str, list[str]] = {}
    for derived in await OutboxTable(db).derived_of(key):
        edit = derived.removeprefix(f"{key}/").partition("edit/")[2].partition("/part")[0]
        if not edit:
            continue  # a part of the message itself
        content = _loads(await db.fetchval("SELECT content FROM outbox WHERE key=$1", derived)) or {}
        new = content.get("m.new_content")
        if not isinstance(new, dict):
            new = {}
        body = PART_MARK.sub("", words(new) if rendered else str(new.get("body", "")))
        if body not in EMPTIED_PART.values():  # (a part the edit no longer needed)
            texts.setdefault(edit, []).append(body)
    return ["\n".join(parts) for parts in texts.values()]


async def citizen_content(db: Database, event_id: str) -> dict[str, Any] | None:
    """A citizen's message: the copy in the officers' thread, or the copy waiting for the next
    shift or for a digest, or (held in a flood) the digest that passed it on."""
    found = await copy_of(db, f"relay-in/{event_id}")
    if found is not None:
        return found
    for table in ("consult_pending", "consult_held"):
        if await db.table_exists(table):
            found = await db.fetchval(f"SELECT content FROM {table} WHERE event_id=$1", event_id)
            if found is not None:
                return _loads(found)
    digest = _loads(await db.fetchval("SELECT content FROM outbox WHERE key=$1", f"digest/{event_id}"))
    if digest is not None:  # keyed by its first message; its first line says what it is
        digest["body"] = str(digest.get("body", "")).partition("\n")[2]
    return digest


async def case_transcript(db: Database, case_id: int) -> list[Entry]:
    """Every message of the case both ways, and its transfers, oldest first."""
    rows = await db.fetch(
        "SELECT l.event_id, l.kind, l.at, l.actor, l.detail FROM consult_log l"
        " LEFT JOIN outbox o ON o.key IN ('relay-in/' || l.event_id, 'relay-out/' || l.event_id,"
        "                                 l.event_id || '/out')"  # (a transfer's notice)
        " WHERE l.case_id=$1 AND l.kind IN ('citizen_message', 'officer_reply', 'kb_answer', 'transferred')"
        " ORDER BY l.at, COALESCE(o.seq, 0), l.event_id", case_id)
    entries = []
    for r in rows:
        if r["kind"] == "citizen_message":
            entry = Entry(r["at"], "citizen", None, await citizen_content(db, r["event_id"]))
            entries.append(await _edited(db, entry, f"relay-in/{r['event_id']}"))
        elif r["kind"] == "transferred":
            entries.append(Entry(r["at"], "transfer", r["detail"], None))
        else:
            entry = Entry(r["at"], "answer", r["actor"], await copy_of(db, f"relay-out/{r['event_id']}"))
            entries.append(await _edited(db, entry, f"relay-out/{r['event_id']}"))
    return entries


async def _edited(db: Database, entry: Entry, key: str) -> Entry:
    """The entry with its latest words, as the thread shows them (a message still waiting was
    edited where it waits; a retracted or erased one stays so)."""
    if entry.content is None or LABEL.sub("", str(entry.content.get("body", ""))) in WITHDRAWN:
        return entry
    edits = await edits_of(db, key, rendered=True)
    if not edits or not LABEL.sub("", edits[-1]).strip():
        return entry
    content = {k: v for k, v in entry.content.items() if k not in ("format", "formatted_body")}
    return Entry(entry.at, entry.kind, entry.actor, content | {"body": edits[-1]}, edited=True)
