"""Everything the bridge keeps about one citizen: found for an export, removed for an erasure.

One module knows where a citizen's data lives, so the export (`!我的数据`) and the erasure
(`!删除我的数据`) cannot disagree about it:

- consultations: consult_dm (their DMs), consult_case (their cases: times, outcome, rating),
  consult_pseudonym, consult_log (their messages' times; officers' notes may mention them),
  consult_pending / consult_held (messages waiting), consult_block;
- the copies the bridge made: outbox rows of their messages into the officers' rooms
  (`relay-in/<event>`, `digest/<event>`) and of everything sent into their DMs, and the mail
  outbox and inbox for their letters, complaints and e-mailed cases;
- the raw events: inbox_event (by sender), dead_letter (payloads naming them);
- the Matrix state the bridge caches: mx_user_profile (their display name), presence_dm_topic;
- in encrypted DMs, the Megolm session keys of the DM (crypto_megolm_*), forgotten after leaving;
- the letters and complaints bots' tables (`<bot>_dm`, `<bot>_draft`, `<bot>_letter`).

An erasure keeps the times and outcomes the assessment counts (cases and letters stay, with
'erased' in place of the citizen and their rooms) and drops content and identities. What a
configured rule keeps (e.g. a complaint the supervision office is still working on) is left
whole and named to the citizen with the date it goes. Officers' identities are never exported.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mautrix.util.async_db import Database

from bots.consultation.transcript import ERASED, LABEL, citizen_content, edits_of
from bridge.db import OutboxTable

LETTER_BOTS = ("mailbox", "complaints")
PLACEHOLDER = json.dumps({"msgtype": "m.notice", "body": "（已删除）"}, ensure_ascii=False)


@dataclass
class Kept:
    """A record an erasure keeps, and until when (a configured rule)."""

    what: str  # e.g. "complaints/TS20261130-0001"
    until_ms: int


@dataclass
class Erasure:
    cases: int = 0
    letters: int = 0
    rows: int = 0
    rooms: list[tuple[str, str]] = field(default_factory=list)  # (room, account to leave it)
    relayed_keys: list[str] = field(default_factory=list)  # officers' room copies to redact
    kept: list[Kept] = field(default_factory=list)


def _text(content: str) -> str:
    try:
        value = json.loads(content)
    except ValueError:
        return ""
    body = str(value.get("body", "")) if isinstance(value, dict) else ""
    return LABEL.sub("", body)


def _mail_text(raw: str) -> str:
    """The plain-text body of a mail as the bridge sent it (attachments named, not included)."""
    message = email.message_from_string(raw, policy=email.policy.default)
    body = message.get_body(("plain",))
    return body.get_content() if isinstance(body, email.message.EmailMessage) else ""


def _iso(ms: int | None, tz: Any) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")


class CitizenRecords:
    def __init__(self, db: Database, tz: Any, ghost_of: Any, service_of: Any) -> None:
        """`ghost_of(dept_id)` and `service_of(bot)` give the accounts that speak in DMs."""
        self.db, self.tz = db, tz
        self.ghost_of, self.service_of = ghost_of, service_of

    async def _exists(self, table: str) -> bool:
        return await self.db.table_exists(table)

    # What there is ----------------------------------------------------------------------------
    async def collect(self, citizen: str, names: dict[str, str]) -> dict[str, Any]:
        """The export: the citizen's cases with their own messages, what the departments sent
        them, their letters and complaints with their text, their ratings and blocks.
        `names` maps department ids to names."""
        data: dict[str, Any] = {"account": citizen, "consultations": [], "conversations": [],
                                "letters": [], "complaints": [], "blocks": []}
        if await self._exists("consult_case"):
            await self._collect_consultations(citizen, names, data)
        for bot in LETTER_BOTS:
            if await self._exists(f"{bot}_letter"):
                data["letters" if bot == "mailbox" else "complaints"] = await self._letters(bot, citizen)
        return data

    async def _collect_consultations(self, citizen: str, names: dict[str, str],
                                     data: dict[str, Any]) -> None:
        for case in await self.db.fetch(
                "SELECT id, ref, dept_id, status, opened_at, first_reply_at, closed_at, rating"
                " FROM consult_case WHERE citizen=$1 ORDER BY id", citizen):
            messages = []
            for row in await self.db.fetch(  # in the order they were passed on
                    "SELECT l.event_id, l.at FROM consult_log l LEFT JOIN outbox o"
                    " ON o.key = 'relay-in/' || l.event_id WHERE l.case_id=$1"
                    " AND l.kind='citizen_message' ORDER BY l.at, COALESCE(o.seq, 0), l.event_id",
                    case["id"]):
                text = await self._message_text(row["event_id"])
                if text is not None:
                    edits = [LABEL.sub("", e) for e in await edits_of(self.db, f"relay-in/{row['event_id']}")]
                    messages.append({"at": _iso(row["at"], self.tz), "text": text,
                                     **({"edited_to": edits} if edits else {})})
            data["consultations"].append({
                "reference": case["ref"], "department": names.get(case["dept_id"], case["dept_id"]),
                "status": case["status"], "opened_at": _iso(case["opened_at"], self.tz),
                "first_answer_at": _iso(case["first_reply_at"], self.tz),
                "closed_at": _iso(case["closed_at"], self.tz), "your_rating": case["rating"],
                "your_messages": messages,
            })
        ghosts = {self.ghost_of(dept_id): dept_id for dept_id in names}
        for dm in await self.db.fetch("SELECT room_id, dept_id FROM consult_dm WHERE citizen=$1", citizen):
            sent = await self.db.fetch(
                "SELECT content, created_at, sender FROM outbox WHERE room_id=$1 AND sender<>$2"
                " AND event_type='m.room.message' ORDER BY seq", dm["room_id"], "")
            # By the department that spoke: a transfer brings another department into the DM.
            spoken: dict[str, list[dict[str, Any]]] = {dm["dept_id"]: []}
            for r in sent:
                if _text(r["content"]):
                    spoken.setdefault(ghosts.get(r["sender"], dm["dept_id"]), []).append(
                        {"at": _iso(r["created_at"], self.tz), "text": _text(r["content"])})
            data["conversations"] += [{"department": names.get(dept_id, dept_id), "messages_from_department": said}
                                      for dept_id, said in spoken.items()]
        if await self._exists("consult_block"):
            data["blocks"] = [
                {"department": names.get(r["dept_id"], r["dept_id"]), "since": _iso(r["since_ms"], self.tz),
                 "until": _iso(r["until_ms"], self.tz), "reason": r["reason"]}
                for r in await self.db.fetch(
                    "SELECT dept_id, since_ms, until_ms, reason FROM consult_block WHERE citizen=$1", citizen)]

    async def _message_text(self, event_id: str) -> str | None:
        """A citizen's message as the bridge keeps it (bots/consultation/transcript.py)."""
        content = await citizen_content(self.db, event_id)
        return LABEL.sub("", str(content.get("body", ""))) if content is not None else None

    async def _letters(self, bot: str, citizen: str) -> list[dict[str, Any]]:
        out = []
        for r in await self.db.fetch(
                f"SELECT number, kind, recipient, subject, status, created_at, deadline, replied_at"
                f" FROM {bot}_letter WHERE citizen=$1 ORDER BY created_at", citizen):
            raw = await self.db.fetchval("SELECT raw FROM mail_outbox WHERE key=$1",
                                         f"{bot}/letter/{r['number']}") if await self._exists("mail_outbox") else None
            out.append({"number": r["number"], "to": r["recipient"], "subject": r["subject"],
                        "status": r["status"], "submitted_at": _iso(r["created_at"], self.tz),
                        "deadline": r["deadline"], "answered_at": _iso(r["replied_at"], self.tz),
                        "text_as_sent": _mail_text(raw) if raw else None})
        return out

    # Erasure ----------------------------------------------------------------------------------
    async def erase(self, citizen: str, now_ms: int, keep_days: dict[str, int]) -> Erasure:
        """Remove the citizen's content and identity everywhere but in what a rule keeps.
        `keep_days` maps a letter bot ("complaints") to days after submission it is kept."""
        done = Erasure()
        if await self._exists("consult_case"):
            await self._erase_consultations(citizen, done)
        for bot in LETTER_BOTS:
            if await self._exists(f"{bot}_letter"):
                await self._erase_letters(bot, citizen, now_ms, keep_days.get(bot, 0), done)
        done.rows += await self._count("DELETE FROM inbox_event WHERE sender=$1", citizen)
        done.rows += await self._count("DELETE FROM dead_letter WHERE payload LIKE $1", f"%{citizen}%")
        done.rows += await self._count("DELETE FROM mx_user_profile WHERE user_id=$1", citizen)
        return done

    async def forget_rooms(self, citizen: str, rooms: list[str]) -> None:
        """After leaving the citizen's DMs: what the state store learnt about them there while
        the bridge said goodbye (the members it read to leave)."""
        megolm = [t for t in ("crypto_megolm_inbound_session", "crypto_megolm_outbound_session")
                  if await self._exists(t)]
        for room in rooms:
            await self.db.execute("DELETE FROM mx_user_profile WHERE user_id=$1 AND room_id=$2", citizen, room)
            await self.db.execute("DELETE FROM mx_room_state WHERE room_id=$1", room)
            # In an encrypted DM, the Megolm keys: with them, the copies the homeserver still
            # holds of the citizen's messages (and of the answers) could be read again.
            for table in megolm:
                await self.db.execute(f"DELETE FROM {table} WHERE room_id=$1", room)

    async def _count(self, query: str, *args: Any) -> int:
        result = await self.db.execute(query, *args)
        if isinstance(result, str):  # asyncpg: "DELETE 3"
            return int(result.rsplit(" ", 1)[-1]) if result[-1:].isdigit() else 0
        return max(0, int(getattr(result, "rowcount", 0) or 0))

    async def case_ids(self, citizen: str) -> list[int]:
        if not await self._exists("consult_case"):
            return []
        return [int(r["id"]) for r in await self.db.fetch("SELECT id FROM consult_case WHERE citizen=$1", citizen)]

    async def copy_keys(self, case_id: int) -> list[str]:
        """The outbox keys of what an erasure withdraws from the officers' rooms for a case (as
        _erase_consultations finds them; still found after it, for an erasure a crash cut short)."""
        keys = []
        for row in await self.db.fetch(
                "SELECT event_id FROM consult_log WHERE case_id=$1 AND kind='citizen_message'", case_id):
            for copy in (f"relay-in/{row['event_id']}", f"digest/{row['event_id']}"):
                keys += [copy, *await OutboxTable(self.db).derived_of(copy)]
        return keys + [key for key in await OutboxTable(self.db).keys_under(f"case/{case_id}/")
                       if key.split("/")[2] in ("root", "history", "back") and "/edit/" not in key]

    async def _erase_consultations(self, citizen: str, done: Erasure) -> None:
        dms = await self.db.fetch("SELECT room_id, dept_id FROM consult_dm WHERE citizen=$1", citizen)
        cases = await self.db.fetch("SELECT id, ref, dm_room FROM consult_case WHERE citizen=$1", citizen)
        rooms = {r["room_id"] for r in dms} | {r["dm_room"] for r in cases}
        for case in cases:
            events = [r["event_id"] for r in await self.db.fetch(
                "SELECT event_id FROM consult_log WHERE case_id=$1 AND kind='citizen_message'", case["id"])]
            for event_id in events:
                for copy in (f"relay-in/{event_id}", f"digest/{event_id}"):
                    # (a long one went as parts, bridge/long_messages.py; and its edits)
                    for key in [copy, *await OutboxTable(self.db).derived_of(copy)]:
                        if await self._count("UPDATE outbox SET content=$1 WHERE key=$2", PLACEHOLDER, key):
                            done.relayed_keys.append(key)
            # What repeated their words in the officers' rooms: a transfer's root (with the
            # case's history), a return's notice, `!历史`; roots also show a Matrix ID where a
            # department shows them (bots/consultation/commands.py).
            for key in await OutboxTable(self.db).keys_under(f"case/{case['id']}/"):
                if key.split("/")[2] not in ("root", "history", "back"):
                    continue
                # A root's status edits are keyed under it: blanked here, redacted with it.
                if await self._count("UPDATE outbox SET content=$1 WHERE key=$2", PLACEHOLDER, key) \
                        and "/edit/" not in key:
                    done.relayed_keys.append(key)
            await self.db.execute(
                "UPDATE consult_log SET detail=NULL, actor=NULL WHERE case_id=$1 AND kind<>'transferred'",
                case["id"])
            for table in ("consult_pending", "consult_held"):
                if await self._exists(table):
                    done.rows += await self._count(f"DELETE FROM {table} WHERE case_id=$1", case["id"])
            await self._erase_mail(case["ref"], done)
        done.cases = len(cases)
        await self.db.execute(
            "UPDATE consult_case SET citizen=$1, dm_room=$1 WHERE citizen=$2", ERASED, citizen)
        for room in rooms:
            done.rows += await self._count("UPDATE outbox SET content=$1 WHERE room_id=$2", PLACEHOLDER, room)
            if await self._exists("presence_dm_topic"):
                await self.db.execute("DELETE FROM presence_dm_topic WHERE room_id=$1", room)
            await self.db.execute("DELETE FROM mx_room_state WHERE room_id=$1", room)
        if await self._exists("consult_block"):
            await self.db.execute("UPDATE consult_block SET citizen=$1, reason='' WHERE citizen=$2",
                                  ERASED, citizen)
        await self.db.execute("DELETE FROM consult_pseudonym WHERE citizen=$1", citizen)
        await self.db.execute("DELETE FROM consult_dm WHERE citizen=$1", citizen)
        done.rooms += [(r["room_id"], self.ghost_of(r["dept_id"])) for r in dms]

    async def _erase_mail(self, ref: str, done: Erasure) -> None:
        """Mail that carried the citizen's words: the office's copy and the office's answer."""
        if not await self._exists("mail_outbox"):
            return
        # A mail still waiting to go (the relay down) is withdrawn, not sent blank later.
        done.rows += await self._count(
            "UPDATE mail_outbox SET raw='', state=CASE WHEN state='pending' THEN 'withdrawn'"
            " ELSE state END WHERE reply_ref=$1", ref)
        done.rows += await self._count("DELETE FROM mail_inbox WHERE reply_ref=$1", ref)

    async def _erase_letters(self, bot: str, citizen: str, now_ms: int, keep_days: int,
                             done: Erasure) -> None:
        kept_rooms = set()
        for letter in await self.db.fetch(
                f"SELECT number, room_id, created_at FROM {bot}_letter WHERE citizen=$1", citizen):
            until = letter["created_at"] + keep_days * 86_400_000
            if keep_days > 0 and until > now_ms:
                done.kept.append(Kept(f"{bot}/{letter['number']}", until))
                kept_rooms.add(letter["room_id"])
                continue
            await self._erase_mail(letter["number"], done)
            await self.db.execute(
                f"UPDATE {bot}_letter SET citizen=$1, room_id=$1, subject='' WHERE number=$2",
                ERASED, letter["number"])
            done.letters += 1
        for dm in await self.db.fetch(f"SELECT room_id FROM {bot}_dm WHERE citizen=$1", citizen):
            if dm["room_id"] in kept_rooms:
                continue  # the kept complaint's answer still comes back to this room
            await self.db.execute(f"DELETE FROM {bot}_draft WHERE room_id=$1", dm["room_id"])
            await self.db.execute(f"DELETE FROM {bot}_dm WHERE room_id=$1", dm["room_id"])
            done.rows += await self._count("UPDATE outbox SET content=$1 WHERE room_id=$2",
                                           PLACEHOLDER, dm["room_id"])
            await self.db.execute("DELETE FROM mx_room_state WHERE room_id=$1", dm["room_id"])
            done.rooms.append((dm["room_id"], self.service_of(bot)))
