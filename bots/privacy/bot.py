"""Citizens' data rights and retention: `!我的数据`, `!删除我的数据`, and the daily purge.

A citizen asks in any department DM or in the letters or complaints DM; the answer comes from
the account they are talking to. The export is a JSON file (encrypted where the room is); the
erasure asks for a confirmation first, says what a rule keeps and until when, then removes the
data (bots/privacy/records.py), withdraws the copies the bridge put in officers' rooms, says so
in each of the citizen's DMs and leaves them. Both are audit entries, which name the citizen
only by a one-way digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, time
from typing import Any

from mautrix.errors import MatrixRequestError
from mautrix.types import EventType, MessageEvent

from bots.admin.routing import is_admin_room
from bridge.audit import (
    AUDIT_READ,
    CITIZEN_DATA_ERASED,
    CITIZEN_DATA_EXPORTED,
    RETENTION_RUN,
    AuditLog,
)
from bridge.bot import Bot, on
from bridge.context import BotContext
from bridge.crypto.media import encrypt_file

from .commands import data_command
from .erasures import ErasureTable
from .messages import MESSAGES
from .records import LETTER_BOTS, CitizenRecords, Erasure, Kept
from .retention import HOUSEKEEPING, own_users, plan_for, run_retention
from .upgrade import upgrade_table

AUDIT_COMMANDS = ("!审计", "!audit")


def citizen_digest(citizen: str) -> str:
    """How the audit trail names a citizen: stable, but not the Matrix ID."""
    return "citizen/" + hashlib.sha256(citizen.encode()).hexdigest()[:16]


class PrivacyBot(Bot):
    name = "privacy"
    upgrade_table = upgrade_table
    messages = MESSAGES

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.audit = AuditLog(ctx.db)
        self.records = CitizenRecords(ctx.db, ctx.roster.timezone, ctx.config.ghost_mxid,
                                      ctx.config.service_mxid)
        self.erasures = ErasureTable(ctx.db)
        self._task: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        return int(self.ctx.clock.now().timestamp() * 1000)

    async def start(self) -> None:
        await self.finish_erasures()
        self._task = asyncio.create_task(self._daily())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # Commands ---------------------------------------------------------------------------------
    async def _where(self, room_id: str) -> tuple[str, str] | None:
        """(citizen, the account that speaks) of a department or letters DM, or None."""
        if await self.ctx.db.table_exists("consult_dm"):
            row = await self.ctx.db.fetchrow("SELECT citizen, dept_id FROM consult_dm WHERE room_id=$1", room_id)
            if row is not None:
                return row["citizen"], self.ctx.config.ghost_mxid(row["dept_id"])
        for bot in LETTER_BOTS:
            if await self.ctx.db.table_exists(f"{bot}_dm"):
                citizen = await self.ctx.db.fetchval(f"SELECT citizen FROM {bot}_dm WHERE room_id=$1", room_id)
                if citizen is not None:
                    return citizen, self.ctx.config.service_mxid(bot)
        return None

    @on(EventType.ROOM_MESSAGE)
    async def message(self, event: MessageEvent) -> None:
        content: dict[str, Any] = event.content.serialize()
        body = str(content.get("body", "")).strip()
        if body.split(" ", 1)[0].lower() in AUDIT_COMMANDS:
            await self.audit_command(event, body)
            return
        command = data_command(body)
        if command is None or content.get("m.relates_to", {}).get("rel_type") == "m.replace":
            return
        where = await self._where(event.room_id)
        if where is None or where[0] != event.sender:
            return  # only the citizen of the DM, about themselves
        citizen, speaker = where
        kind, confirmed = command
        if kind == "export":
            await self.export(event, citizen, speaker)
        elif not confirmed:
            await self._say(f"{event.event_id}/erase-ask", event.room_id, speaker,
                            self.t("privacy.erase_ask", kept=self._kept_text(await self._kept(citizen))))
        else:
            await self.erase(event, citizen, speaker)

    async def audit_command(self, event: MessageEvent, body: str) -> None:
        """`!审计 [天数]` in the administrators' room: the last days' audit entries (7 by
        default, at most 50 shown), for the bridge's administrators only. Reading is audited."""
        admins_room = await self.ctx.room_by_alias(f"{self.ctx.config.prefix}admins")
        if event.room_id != admins_room:
            if is_admin_room(self.ctx, event.room_id):
                # A city's administrators' room: the trail covers every jurisdiction's citizens,
                # so it is the province's to read; say so rather than stay silent.
                await self.ctx.send(f"{event.event_id}/audit-province-only", event.room_id, {
                    "msgtype": "m.notice", "body": self.t("privacy.audit_province_only")})
            return
        if event.sender not in (self.ctx.config["admins"] or []):
            await self.ctx.send(f"{event.event_id}/audit-refused", event.room_id, {
                "msgtype": "m.notice", "body": self.t("privacy.audit_not_admin")})
            return
        arg = body.split(" ", 1)[1].strip() if " " in body else "7"
        days = int(arg) if arg.isdigit() and 0 < int(arg) <= 3660 else 7
        now = self.now_ms()
        entries = await self.audit.entries(since_ms=now - days * 86_400_000, limit=100_000)
        tz = self.ctx.roster.timezone
        lines = [f"{datetime.fromtimestamp(e.at / 1000, tz):%m-%d %H:%M} {e.action} {e.record} "
                 f"{e.actor} {e.detail[:80]}".rstrip() for e in entries[-50:]]
        text = self.t("privacy.audit_list", days=days, count=len(entries), shown=len(lines))
        await self.ctx.send(f"{event.event_id}/audit", event.room_id, {
            "msgtype": "m.notice", "body": text + ("\n" + "\n".join(lines) if lines else "")})
        await self.audit.record(event.sender, AUDIT_READ, "audit_log", at_ms=now,
                                detail=f"!审计 {days}", key=event.event_id)

    def t(self, key: str, **kw: Any) -> str:
        return self.ctx.messages(key, **kw)

    async def _say(self, key: str, room_id: str, sender: str, text: str) -> None:
        await self.ctx.send(key, room_id, {"msgtype": "m.text", "body": text}, sender=sender)

    async def export(self, event: MessageEvent, citizen: str, speaker: str) -> None:
        names = {d.id: d.name for d in self.ctx.roster.departments.values()}
        data = await self.records.collect(citizen, names)
        data["exported_at"] = self.ctx.clock.now().astimezone(self.ctx.roster.timezone).isoformat()
        raw = json.dumps(data, ensure_ascii=False, indent=1).encode()
        name = f"{self.t('privacy.file_name')}-{self.ctx.clock.now():%Y%m%d}.json"
        intent = self.ctx.intent(speaker)
        content: dict[str, Any] = {"msgtype": "m.file", "body": name,
                                   "info": {"mimetype": "application/json", "size": len(raw)}}
        if await self._encrypted(event.room_id, speaker):
            cipher, file = encrypt_file(raw)
            file["url"] = str(await intent.upload_media(cipher, "application/octet-stream", name))
            content["file"] = file
        else:
            content["url"] = str(await intent.upload_media(raw, "application/json", name))
        await self._say(f"{event.event_id}/export-text", event.room_id, speaker,
                        self.t("privacy.exported", file=name))
        await self.ctx.send(f"{event.event_id}/export-file", event.room_id, content, sender=speaker)
        await self.audit.record(citizen_digest(citizen), CITIZEN_DATA_EXPORTED, citizen_digest(citizen),
                                at_ms=self.now_ms(), detail=f"{len(raw)} bytes", key=event.event_id)

    async def _encrypted(self, room_id: str, speaker: str) -> bool:
        try:
            await self.ctx.intent(speaker).get_state_event(room_id, EventType.ROOM_ENCRYPTION)
        except MatrixRequestError:
            return False
        return True

    def _keep_days(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.ctx.config["privacy.erasure_keeps"] or {}).items()}

    async def _kept(self, citizen: str) -> list[Kept]:
        kept, now = [], self.now_ms()
        for bot, days in self._keep_days().items():
            if days > 0 and await self.ctx.db.table_exists(f"{bot}_letter"):
                for row in await self.ctx.db.fetch(
                        f"SELECT number, created_at FROM {bot}_letter WHERE citizen=$1", citizen):
                    until = row["created_at"] + days * 86_400_000
                    if until > now:
                        kept.append(Kept(f"{bot}/{row['number']}", until))
        return kept

    def _kept_text(self, kept: list[Kept]) -> str:
        if not kept:
            return ""
        tz = self.ctx.roster.timezone
        lines = "\n".join(self.t("privacy.kept_line", what=k.what.split("/", 1)[1],
                                 until=datetime.fromtimestamp(k.until_ms / 1000, tz).strftime("%Y-%m-%d"))
                          for k in kept)
        return self.t("privacy.erase_keeps", lines=lines)

    async def erase(self, event: MessageEvent, citizen: str, speaker: str) -> None:
        """Audit first (so a crash in between still leaves the entry), write the erasure down
        (its command's inbox event goes with the citizen's rows: a crash after this point is
        finished at the next start, finish_erasures), erase, withdraw the copies in officers'
        rooms, then say so in each DM and leave it."""
        now = self.now_ms()
        await self.audit.record(citizen_digest(citizen), CITIZEN_DATA_ERASED, citizen_digest(citizen),
                                at_ms=now, key=event.event_id)
        await self.erasures.begin(event.event_id, citizen, event.room_id, speaker,
                                  await self.records.case_ids(citizen))
        done = await self._erase_rows(event.event_id, citizen, event.room_id, speaker)
        await self._withdraw(event.event_id, citizen, done.relayed_keys, *await self._plan(event.event_id))

    async def _erase_rows(self, event_id: str, citizen: str, room_id: str, speaker: str) -> Erasure:
        done = await self.records.erase(citizen, self.now_ms(), self._keep_days())
        rooms = dict(done.rooms)
        rooms.setdefault(room_id, speaker)
        await self.erasures.erased(event_id, rooms, self.t(
            "privacy.erased", cases=done.cases, letters=done.letters, rows=done.rows,
            kept=self._kept_text(done.kept)))
        return done

    async def _plan(self, event_id: str) -> tuple[dict[str, str], str, str]:
        [erasing] = [e for e in await self.erasures.unfinished() if e.event_id == event_id]
        return erasing.rooms or {}, erasing.said or "", erasing.room_id

    async def _withdraw(self, event_id: str, citizen: str, keys: list[str], rooms: dict[str, str],
                        said: str, asked_in: str) -> None:
        for key in keys:
            await self.ctx.outbox.redact(key)
        for room_id, account in rooms.items():
            await self._leave(room_id, account, said if room_id == asked_in else self.t("privacy.erased_elsewhere"))
        await self.records.forget_rooms(citizen, list(rooms))
        await self.erasures.done(event_id, self.now_ms())

    async def finish_erasures(self) -> None:
        """Erasures a crash cut short: the rows erased again if they had not all gone (what is
        gone stays gone), then the copies withdrawn and the DMs left (every send keyed: once)."""
        for erasing in await self.erasures.unfinished():
            if erasing.rooms is None:
                await self._erase_rows(erasing.event_id, erasing.citizen, erasing.room_id, erasing.speaker)
            keys = [k for case_id in erasing.case_ids for k in await self.records.copy_keys(case_id)]
            await self._withdraw(erasing.event_id, erasing.citizen, keys, *await self._plan(erasing.event_id))

    async def _leave(self, room_id: str, account: str, text: str) -> None:
        """Every account of ours leaves the DM (a transfer brings in a second department)."""
        try:
            members = await self.ctx.intent(account).get_joined_members(room_id)
        except MatrixRequestError:
            members = {}
        others = [m for m in members if self.ctx.config.is_own_user(m)
                  and m not in (account, self.ctx.config.bot_mxid)]
        try:
            await self.ctx.refuse_and_leave(room_id, {"msgtype": "m.text", "body": text}, sender=account)
        except MatrixRequestError as e:
            self.ctx.log.warning("Could not say goodbye in %s: %s", room_id, e)
        for mxid in others:
            try:
                await self.ctx.intent(mxid).leave_room(room_id)
            except MatrixRequestError:
                pass

    # Retention --------------------------------------------------------------------------------
    async def retention_due(self) -> str | None:
        """Today's date if today's run is due and not done yet."""
        local = self.ctx.clock.now().astimezone(self.ctx.roster.timezone)
        run_at = time.fromisoformat(str(self.ctx.config["privacy.run_at"]))
        day = local.date().isoformat()
        if local.time() < run_at:
            return None
        done = await self.ctx.db.fetchval("SELECT day FROM privacy_run WHERE day=$1", day)
        return None if done else day

    async def run_retention_once(self) -> str | None:
        day = await self.retention_due()
        if day is None:
            return None
        plan = plan_for(self.now_ms(), dict(self.ctx.config["privacy.retention_days"] or {}))
        await run_retention(self.ctx.db, plan, dry_run=False, own_pattern=own_users(self.ctx.config))
        summary = plan.summary()
        await self.ctx.db.execute(
            "INSERT INTO privacy_run (day, at, summary) VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING",
            day, self.now_ms(), summary)
        await self.audit.record("bridge", RETENTION_RUN, f"retention/{day}", at_ms=self.now_ms(),
                                detail=summary, key=f"retention/{day}")
        self.ctx.log.info("Retention run %s: %s", day, summary)
        removed = any(n for kind, n in plan.counts.items() if kind != HOUSEKEEPING)
        admins = await self.ctx.room_by_alias(f"{self.ctx.config.prefix}admins")
        if admins is not None and removed:  # a day with nothing past its period says nothing
            await self.ctx.send(f"privacy/retention/{day}", admins, {
                "msgtype": "m.notice", "body": self.t("privacy.retention_done", day=day, summary=summary)})
        return summary

    async def _daily(self) -> None:
        while True:
            try:
                await self.run_retention_once()
            except Exception:
                self.ctx.log.exception("Retention run failed; trying again next round")
            await asyncio.sleep(float(self.ctx.config["privacy.check_interval"]))
