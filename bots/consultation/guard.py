"""Abuse controls on the citizen's side: a per-citizen rate limit and supervisors' blocks.

Rate limit. A citizen who sends more than `consultation.rate_limit.messages_per_minute` in a
minute has the rest held (consult_held, kind 'flood') and passed to the officers together, one
digest per `digest_size` held messages, at the next timer round (for a leave-message waiting for
opening, the round after its backlog went to the officers). Nothing is dropped; the
department's officers' room, which every citizen of the department shares, gets a few digests
instead of hundreds of messages, so another citizen's message does not queue behind a flood.
The citizen is told once per minute-window (an m.notice, which our own users never answer: no
reply loop). A citizen who opens more than `new_cases_per_hour` cases in an hour still gets every
case, but the officers are not mentioned for the extra ones, and the citizen is told once.

Blocks. A department's supervisor blocks the citizen of a case from that department for a
period with a reason (`!屏蔽 7天 理由`); the citizen is told plainly until when, why, and how to
appeal (the complaints account), and is reminded at most once a day while blocked. Their
messages are kept (kind 'blocked'), never relayed. The bridge lifts a block at its end and says
so to both sides; `!解除屏蔽` lifts it early. Every block and lift is an audit entry.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bridge.audit import BLOCK_LIFTED, CITIZEN_BLOCKED, AuditLog

from . import relay
from .db import Case
from .transcript import BUDGET_CHARS

if TYPE_CHECKING:
    from .bot import ConsultationBot

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
FLOOD, BLOCKED = "flood", "blocked"
_UNITS = {"分钟": MINUTE_MS, "分": MINUTE_MS, "m": MINUTE_MS, "min": MINUTE_MS,
          "小时": HOUR_MS, "时": HOUR_MS, "h": HOUR_MS,
          "天": DAY_MS, "日": DAY_MS, "d": DAY_MS}
_DURATION = re.compile(r"^(\d{1,4})\s*(分钟|分|min|m|小时|时|h|天|日|d)$", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """`7天`, `12小时`, `30分钟`, `3d`, `12h`, `30m` → milliseconds; None if it is none of these."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class Block:
    id: int
    dept_id: str
    citizen: str
    until_ms: int
    reason: str


class Guard:
    def __init__(self, bot: ConsultationBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.audit = AuditLog(bot.ctx.db)
        self._recent: dict[str, deque[int]] = {}

    def _limit(self, name: str) -> int:
        return int(self.ctx.config[f"consultation.rate_limit.{name}"] or 0)

    # The rate limit ---------------------------------------------------------------------------
    async def over_limit(self, event_id: str, case: Case, relayed: dict[str, Any]) -> bool:
        """Whether this message is over the citizen's limit; if so it is held for the digest."""
        per_minute, now = self._limit("messages_per_minute"), self.bot.now_ms()
        if per_minute <= 0:
            return False
        held = await self.ctx.db.fetchval(
            "SELECT COUNT(*) FROM consult_held WHERE kind=$1 AND case_id=$2", FLOOD, case.id)
        recent = self._recent.setdefault(case.citizen, deque())
        while recent and recent[0] <= now - MINUTE_MS:
            recent.popleft()
        if not held and len(recent) < per_minute:
            recent.append(now)
            return False
        # Once some are held, the rest follow them, so the officers read them in order.
        await self._hold(event_id, case, FLOOD, relayed)
        window = now // MINUTE_MS
        await self.ctx.send(f"{case.dm_room}/slow-down/{window}", case.dm_room,
                            self.bot.notice(self.ctx.messages("consult.slow_down")),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        return True

    async def too_many_cases(self, case: Case) -> bool:
        """Whether the citizen opened more cases in the last hour than the limit allows."""
        per_hour = self._limit("new_cases_per_hour")
        if per_hour <= 0:
            return False
        opened = await self.ctx.db.fetchval(
            "SELECT COUNT(*) FROM consult_case WHERE citizen=$1 AND opened_at > $2",
            case.citizen, self.bot.now_ms() - HOUR_MS)
        if int(opened or 0) <= per_hour:
            return False
        hour = self.bot.now_ms() // HOUR_MS
        await self.ctx.send(f"{case.citizen}/many-cases/{hour}", case.dm_room,
                            self.bot.notice(self.ctx.messages("consult.many_cases")),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        return True

    async def _hold(self, event_id: str, case: Case, kind: str, relayed: dict[str, Any]) -> None:
        await self.ctx.db.execute(
            "INSERT INTO consult_held (event_id, case_id, kind, at, content) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (event_id) DO NOTHING",
            event_id, case.id, kind, self.bot.now_ms(), json.dumps(relayed, ensure_ascii=False))

    async def release(self) -> None:
        """Pass every held flood message on, in order, text merged into digests."""
        by_case: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
        for case_id, held in await self._held():
            by_case.setdefault(case_id, []).append(held)
        for case_id, held in by_case.items():
            case = await self.bot.tables.case(case_id)
            if case is None or case.waiting:
                continue  # a waiting case's thread is made at opening: its digests follow it
            await self._release_case(case, held)

    async def release_now(self, case: Case) -> int:
        """Pass on at once what is held of one case (an officer about to close it has not seen
        them); how many there were."""
        held = [h for _, h in await self._held(case.id)]
        if held:
            await self._release_case(case, held)
        return len(held)

    async def _held(self, case_id: int | None = None) -> list[tuple[int, tuple[int, str, dict[str, Any]]]]:
        one = "" if case_id is None else " AND case_id=$2"
        rows = await self.ctx.db.fetch(
            f"SELECT seq, event_id, case_id, content FROM consult_held WHERE kind=$1{one}"
            " ORDER BY case_id, seq", FLOOD, *([] if case_id is None else [case_id]))
        return [(r["case_id"], (r["seq"], r["event_id"], json.loads(r["content"]))) for r in rows]

    async def _release_case(self, case: Case, held: list[tuple[int, str, dict[str, Any]]]) -> None:
        size, texts = max(1, self._limit("digest_size")), []
        target = case.officers_room
        for seq, event_id, content in held:
            if content.get("msgtype") in ("m.text", "m.notice", "m.emote"):
                body = str(content.get("body", ""))
                if texts and sum(len(b) for _, _, b in texts) + len(body) > BUDGET_CHARS:
                    await self._digest(case, texts)  # long texts: more digests, each one event
                    texts = []
                texts.append((seq, event_id, body))
                if len(texts) >= size:
                    await self._digest(case, texts)
                    texts = []
                continue
            if texts:  # keep the order: the texts before this file go first
                await self._digest(case, texts)
                texts = []
            content["m.relates_to"] = relay.thread(case.root_key)
            await self.ctx.send(relay.key_in(event_id), target, content)
            await self._released([seq])
        if texts:
            await self._digest(case, texts)

    async def _digest(self, case: Case, texts: list[tuple[int, str, str]]) -> None:
        """One message for several held texts; keyed by the first, so a crash after sending and
        before deleting sends it again under the same key, which the outbox does not double."""
        t = self.ctx.messages
        body = t("officer.digest", count=len(texts)) + "\n" + "\n".join(b for _, _, b in texts)
        content = self.bot.notice(body, **{"m.mentions": {}})
        content["m.relates_to"] = relay.thread(case.root_key)
        await self.ctx.send(f"digest/{texts[0][1]}", case.officers_room, content)
        await self._released([seq for seq, _, _ in texts])

    async def _released(self, seqs: list[int]) -> None:
        for seq in seqs:
            await self.ctx.db.execute("DELETE FROM consult_held WHERE seq=$1", seq)

    # Blocks -----------------------------------------------------------------------------------
    async def active_block(self, dept_id: str, citizen: str) -> Block | None:
        row = await self.ctx.db.fetchrow(
            "SELECT id, dept_id, citizen, until_ms, reason FROM consult_block"
            " WHERE dept_id=$1 AND citizen=$2 AND lifted_at IS NULL ORDER BY id DESC LIMIT 1",
            dept_id, citizen)
        if row is None:
            return None
        return Block(row["id"], row["dept_id"], row["citizen"], row["until_ms"], row["reason"])

    async def keep_blocked(self, event_id: str, case: Case | None, dept_id: str, dm_room: str,
                           block: Block, content: dict[str, Any]) -> None:
        """A blocked citizen's message: kept (never relayed), and a daily reminder of the block."""
        if case is not None:
            await self._hold(event_id, case, BLOCKED, content)
        day = self.bot.now_ms() // DAY_MS
        await self.ctx.send(f"{dm_room}/blocked/{block.id}/{day}", dm_room,
                            self.bot.say(self._blocked_text(dept_id, block)),
                            sender=self.ctx.config.ghost_mxid(dept_id))

    def _blocked_text(self, dept_id: str, block: Block) -> str:
        dept = self.ctx.roster.departments.get(dept_id)
        return self.ctx.messages(
            "consult.blocked", dept=dept.name if dept else dept_id, until=self._when(block.until_ms),
            reason=block.reason, appeal=self.ctx.config.service_mxid("complaints"))

    def _when(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, self.ctx.roster.timezone).strftime("%Y-%m-%d %H:%M")

    async def block(self, event_id: str, case: Case, actor: str, actor_label: str,
                    duration_ms: int, reason: str) -> Block:
        """Record the block (once per command event), tell the citizen and audit it."""
        now = self.bot.now_ms()
        await self.ctx.db.execute(
            "INSERT INTO consult_block (dept_id, citizen, since_ms, until_ms, reason, blocked_by, event_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
            case.dept_id, case.citizen, now, now + duration_ms, reason, actor, event_id)
        block = await self.active_block(case.dept_id, case.citizen)
        assert block is not None
        await self.audit.record(actor, CITIZEN_BLOCKED, f"case/{case.ref}", at_ms=now,
                                detail=f"{case.dept_id} until {self._when(block.until_ms)}: {reason}",
                                key=event_id)
        await self.ctx.send(f"{event_id}/blocked", case.dm_room,
                            self.bot.say(self._blocked_text(case.dept_id, block)),
                            sender=self.ctx.config.ghost_mxid(case.dept_id))
        await self.bot.officers.thread_notice(case, f"{event_id}/block-done", self.ctx.messages(
            "officer.blocked", who=actor_label, until=self._when(block.until_ms), reason=reason))
        return block

    async def lift(self, block: Block, case: Case | None, key: str, actor: str) -> None:
        """End a block (a supervisor's `!解除屏蔽`, or its end): both sides are told."""
        now = self.bot.now_ms()
        await self.ctx.db.execute(
            "UPDATE consult_block SET lifted_at=$1, lifted_by=$2 WHERE id=$3 AND lifted_at IS NULL",
            now, actor, block.id)
        await self.audit.record(actor, BLOCK_LIFTED, f"block/{block.id}", at_ms=now,
                                detail=block.dept_id, key=f"{key}/lifted")
        # Where the citizen meets this department: their own DM with it, and the DM of any case
        # of theirs a transfer brought to it (where the block was announced).
        dm = await self.ctx.db.fetchval(
            "SELECT room_id FROM consult_dm WHERE citizen=$1 AND dept_id=$2", block.citizen, block.dept_id)
        moved = [r["dm_room"] for r in await self.ctx.db.fetch(
            "SELECT DISTINCT dm_room FROM consult_case WHERE citizen=$1 AND dept_id=$2 AND dm_room<>$3",
            block.citizen, block.dept_id, dm or "")]
        dept = self.ctx.roster.departments.get(block.dept_id)
        text = self.ctx.messages("consult.unblocked", dept=dept.name if dept else block.dept_id)
        for room in ([dm] if dm else []) + sorted(moved):
            await self.ctx.send(f"{key}/unblocked" if room == dm else f"{key}/unblocked/{room}", room,
                                self.bot.say(text), sender=self.ctx.config.ghost_mxid(block.dept_id))
        if case is not None:
            await self.bot.officers.thread_notice(case, f"{key}/unblock-done",
                                                  self.ctx.messages("officer.unblocked"))

    async def lift_expired(self) -> None:
        rows = await self.ctx.db.fetch(
            "SELECT id, dept_id, citizen, until_ms, reason FROM consult_block"
            " WHERE lifted_at IS NULL AND until_ms <= $1", self.bot.now_ms())
        for row in rows:
            block = Block(row["id"], row["dept_id"], row["citizen"], row["until_ms"], row["reason"])
            case = await self._latest_case(block)
            await self.lift(block, case, f"block/{block.id}/expired", "bridge")

    async def _latest_case(self, block: Block) -> Case | None:
        case_id = await self.ctx.db.fetchval(
            "SELECT MAX(id) FROM consult_case WHERE dept_id=$1 AND citizen=$2", block.dept_id, block.citizen)
        return await self.bot.tables.case(int(case_id)) if case_id is not None else None
