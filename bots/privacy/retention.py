"""Retention: what is past its period goes, every day, and only that.

Periods per kind of record (config `privacy.retention_days`):
- `cases`: closed consultations closed longer ago than this lose the citizen's texts (their
  copies in the officers' rooms' outbox rows with their parts and edits, the case's roots,
  `!历史` records and transfer notices, held and pending messages, the e-mail fallback's mail),
  the mapping of relayed messages, officers' notes, and the link to the citizen (citizen and
  DM room become 'purged'); what the bridge sent into DMs that long ago goes too;
- `letters`: letters and complaints submitted longer ago lose their subject, text (the mail
  as sent), the office's answer mail and the link to the citizen;
- `audit`: audit entries older than this are deleted (whole entries, never rewritten);
- in both kinds of DMs, the Megolm keys received or made longer ago than their period (any
  device's: the bot's, a department's, a letters account's): with them the homeserver's copies
  of those conversations could be read again. (A client rotates its session weekly or after 100
  messages, so no key that old is still in use.)
Times, departments, outcomes and ratings stay, so the assessment figures of any period are the
same before and after a purge. Every statement is idempotent: a run interrupted and run again,
or run twice in a day, removes nothing more than once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mautrix.util.async_db import Database

from bridge.db.outbox import OutboxTable

from .records import LETTER_BOTS

PURGED = "purged"
HOUSEKEEPING = "cached room state of rooms left"
ENCRYPTION_KEYS = "encryption keys of DMs"
DAY_MS = 86_400_000


@dataclass
class RetentionPlan:
    cutoffs: dict[str, int]  # kind → records older than this (ms) go
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.counts.items()) or "nothing"


def own_users(config: Any) -> str:
    """The bridge's users: a LIKE pattern for its prefix (ghosts, letters accounts), a space,
    and its bot's Matrix ID."""
    prefix = config["appservice.namespace_prefix"].replace("_", "\\_").replace("%", "\\%")
    return f"@{prefix}% {config.bot_mxid}"


def plan_for(now_ms: int, days: dict[str, Any]) -> RetentionPlan:
    return RetentionPlan({kind: now_ms - int(days[kind]) * DAY_MS
                          for kind in ("cases", "letters", "audit") if days.get(kind)})


async def run_retention(db: Database, plan: RetentionPlan, *, dry_run: bool,
                        own_pattern: str) -> RetentionPlan:
    """Count (dry run) or remove what is past its period; fills `plan.counts`. `own_pattern`
    names the bridge's own users (`own_users`)."""
    if "cases" in plan.cutoffs and await db.table_exists("consult_case"):
        await _cases(db, plan, plan.cutoffs["cases"], dry_run)
    if "letters" in plan.cutoffs:
        for bot in LETTER_BOTS:
            if await db.table_exists(f"{bot}_letter"):
                await _letters(db, bot, plan, plan.cutoffs["letters"], dry_run)
    if "cases" in plan.cutoffs and await db.table_exists("consult_dm"):
        await _keys(db, plan, "consult_dm", plan.cutoffs["cases"], dry_run)
    if "letters" in plan.cutoffs:
        for bot in LETTER_BOTS:
            if await db.table_exists(f"{bot}_dm"):
                await _keys(db, plan, f"{bot}_dm", plan.cutoffs["letters"], dry_run)
    plan.counts[HOUSEKEEPING] = await _left_rooms(db, own_pattern, dry_run)
    if "audit" in plan.cutoffs and await db.table_exists("audit_log"):
        cutoff = plan.cutoffs["audit"]
        plan.counts["audit entries"] = int(await db.fetchval(
            "SELECT COUNT(*) FROM audit_log WHERE at < $1", cutoff) or 0)
        if not dry_run:
            await db.execute("DELETE FROM audit_log WHERE at < $1", cutoff)
    return plan


async def _cases(db: Database, plan: RetentionPlan, cutoff: int, dry_run: bool) -> None:
    cases = await db.fetch(
        "SELECT id, ref FROM consult_case WHERE status='closed' AND closed_at < $1 AND citizen<>$2",
        cutoff, PURGED)
    plan.counts["cases"] = len(cases)
    plan.counts["messages to citizens"] = int(await db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE created_at < $1 AND state='sent'"
        " AND room_id IN (SELECT room_id FROM consult_dm)", cutoff) or 0)
    if dry_run:
        return
    for case in cases:
        case_id = case["id"]
        for row in await db.fetch("SELECT event_id FROM consult_log WHERE case_id=$1"
                                  " AND kind='citizen_message'", case_id):
            copy = f"relay-in/{row['event_id']}"  # with its parts and edits
            for key in (copy, f"digest/{row['event_id']}", *await OutboxTable(db).derived_of(copy)):
                await db.execute("DELETE FROM outbox WHERE key=$1", key)
        for key in await OutboxTable(db).keys_under(f"case/{case_id}/", messages_only=False):
            await db.execute("DELETE FROM outbox WHERE key=$1", key)
        await db.execute(
            "DELETE FROM inbox_event WHERE state<>'pending' AND event_id IN"
            " (SELECT event_id FROM consult_log WHERE case_id=$1)", case_id)
        await db.execute(
            "UPDATE consult_log SET detail=NULL, actor=NULL WHERE case_id=$1 AND kind<>'transferred'",
            case_id)
        for table in ("consult_pending", "consult_held"):
            if await db.table_exists(table):
                await db.execute(f"DELETE FROM {table} WHERE case_id=$1", case_id)
        await _mail(db, case["ref"])
        await db.execute("UPDATE consult_case SET citizen=$1, dm_room=$1 WHERE id=$2", PURGED, case_id)
    await db.execute(
        "DELETE FROM outbox WHERE created_at < $1 AND state='sent'"
        " AND room_id IN (SELECT room_id FROM consult_dm)", cutoff)


async def _letters(db: Database, bot: str, plan: RetentionPlan, cutoff: int, dry_run: bool) -> None:
    letters = await db.fetch(
        f"SELECT number FROM {bot}_letter WHERE created_at < $1 AND citizen<>$2", cutoff, PURGED)
    plan.counts[bot] = len(letters)
    if dry_run:
        return
    await db.execute(  # what the letters account said in its DMs then (summaries, answers)
        f"DELETE FROM outbox WHERE created_at < $1 AND state='sent'"
        f" AND room_id IN (SELECT room_id FROM {bot}_dm)", cutoff)
    for letter in letters:
        await _mail(db, letter["number"])
        await db.execute(f"UPDATE {bot}_letter SET citizen=$1, room_id=$1, subject='' WHERE number=$2",
                         PURGED, letter["number"])


async def _keys(db: Database, plan: RetentionPlan, dms: str, cutoff: int, dry_run: bool) -> None:
    """The DMs' Megolm keys past the period (mautrix stores naive UTC timestamps)."""
    if not await db.table_exists("crypto_megolm_inbound_session"):
        return
    before = datetime.fromtimestamp(cutoff / 1000, timezone.utc).replace(tzinfo=None)
    rooms = f"room_id IN (SELECT room_id FROM {dms})"
    inbound = f"FROM crypto_megolm_inbound_session WHERE received_at < $1 AND {rooms}"
    outbound = f"FROM crypto_megolm_outbound_session WHERE created_at < $1 AND {rooms}"
    count = sum([int(await db.fetchval(f"SELECT COUNT(*) {q}", before) or 0)
                 for q in (inbound, outbound)])
    plan.counts[ENCRYPTION_KEYS] = plan.counts.get(ENCRYPTION_KEYS, 0) + count
    if not dry_run:
        for query in (inbound, outbound):
            await db.execute(f"DELETE {query}", before)


async def _mail(db: Database, ref: str) -> None:
    if await db.table_exists("mail_outbox"):
        await db.execute("UPDATE mail_outbox SET raw='' WHERE reply_ref=$1 AND state<>'pending'", ref)
        await db.execute("DELETE FROM mail_inbox WHERE reply_ref=$1 AND state<>'pending'", ref)


async def _left_rooms(db: Database, own_pattern: str, dry_run: bool) -> int:
    """The state store's members of rooms none of the bridge's users is in any more (a DM
    left after an erasure, or by the citizen): the bridge needs nothing of them, and a
    membership cached after an erasure (members read while saying goodbye) goes here."""
    pattern, bot = own_pattern.split(" ", 1)
    where = ("room_id NOT IN (SELECT room_id FROM mx_user_profile WHERE membership='join'"
             " AND (user_id LIKE $1 ESCAPE '\\' OR user_id=$2))")
    count = int(await db.fetchval(f"SELECT COUNT(*) FROM mx_user_profile WHERE {where}", pattern, bot) or 0)
    if not dry_run and count:
        await db.execute(f"DELETE FROM mx_user_profile WHERE {where}", pattern, bot)
    return count
