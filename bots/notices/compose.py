"""The guided dialogue in a DM with the notices account: kind, title (meeting: time and place),
body in Markdown, attachments, recipients, receipt deadline, e-mail copy, confirmation.

The draft is one row per DM; each event is handled once (its id is remembered with the draft
change) and every reply is queued under a key derived from the event, so a crash repeats no step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .db import MEETING, WORK
from .scope import RecipientError, resolve, sender_scope
from .worktime import parse_deadline

if TYPE_CHECKING:
    from .bot import NoticesBot

MEDIA = ("m.image", "m.file", "m.video", "m.audio")
CANCEL = {"取消", "cancel", "!取消", "!cancel"}
CONFIRM = {"确认", "发送", "confirm", "send", "yes"}
DONE = {"完成", "无", "没有", "done", "none", "no"}
NEW = {"新通知", "新建", "new", "!通知 新建", "!notice new"}
YES = {"是", "要", "yes", "y"}
STEPS = ("kind", "title", "time", "place", "attendance", "body", "attachments", "recipients", "deadline",
         "email", "confirm")


class Composer:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    def t(self, key: str, **fields: Any) -> str:
        return self.ctx.messages(key, **fields)

    async def handle(self, room_id: str, sender: str, event_id: str,
                     content: dict[str, Any]) -> list[str]:
        """The replies to one message of the dialogue (the draft is saved here)."""
        body = str(content.get("body", "")).strip()
        msgtype = content.get("msgtype")
        draft = await self.tables.draft(room_id)
        if body.lower() in CANCEL:
            await self.tables.save_draft(room_id, None, {})
            return [self.t("notices.cancelled" if draft else "notices.nothing_to_cancel")]
        scope = sender_scope(self.ctx.config, self.ctx.roster, sender)
        if draft is None:
            if not scope:
                return [self.t("notices.not_sender")]
            if body.lower() not in NEW and msgtype not in MEDIA:
                return [self.t("notices.help")]
            await self.tables.save_draft(room_id, "kind", {"_event": event_id})
            return [self.t("notices.ask_kind")]
        if not scope:  # no longer a sender (a roster edit meanwhile)
            await self.tables.save_draft(room_id, None, {})
            return [self.t("notices.not_sender")]
        step, data = draft
        if data.get("_event") == event_id:
            # Handled before a crash that came before the event was marked seen: the step was
            # taken; the replies (keyed by the event) are queued once whatever is said here.
            return [self._ask(step, data)]
        data["_event"] = event_id
        if msgtype in MEDIA:
            if step not in ("body", "attachments"):
                return [self.t("notices.media_only_in_attachments")]
            data.setdefault("attachments", []).append(_attachment(content))
            await self.tables.save_draft(room_id, "attachments", data)
            return [self.t("notices.attached", count=len(data["attachments"]))]
        if msgtype not in ("m.text", "m.notice"):
            return []
        if step == "confirm":
            if body.lower() not in CONFIRM:
                return [self.t("notices.confirm_or_cancel")]
            return await self._submit(room_id, sender, event_id, data, scope)
        refusal = self._take(step, body, data, scope)
        if refusal is not None:
            return [refusal]
        nxt = self._next(step, data)
        await self.tables.save_draft(room_id, nxt, data)
        return [self._ask(nxt, data)]

    def _next(self, step: str, data: dict[str, Any]) -> str:
        i = STEPS.index(step) + 1
        while True:
            nxt = STEPS[i]
            if nxt in ("time", "place", "attendance") and data.get("kind") != MEETING:
                i += 1
            elif nxt == "email" and self.ctx.mail is None:
                i += 1
            else:
                return nxt

    def _take(self, step: str, body: str, data: dict[str, Any], scope: set[str]) -> str | None:
        """Store this step's answer in `data`, or say what is wrong with it."""
        if step == "kind":
            kinds = {"1": MEETING, "会议通知": MEETING, "会议": MEETING, "meeting": MEETING,
                     "2": WORK, "工作通知": WORK, "工作": WORK, "work": WORK}
            if body.lower() not in kinds:
                return self.t("notices.ask_kind")
            data["kind"] = kinds[body.lower()]
        elif step in ("title", "time", "place", "attendance"):
            if not body or len(body) > 200:
                return self.t("notices.bad_short", max=200)
            if step == "title":
                data["title"] = body
            else:
                data.setdefault("meeting", {})[step] = body
        elif step == "body":
            if not body:
                return self.t("notices.ask_body")
            data["body"] = body
        elif step == "attachments":
            if body.lower() not in DONE:
                return self.t("notices.ask_attachments")
        elif step == "recipients":
            try:
                data["recipients"] = resolve(self.ctx.roster, body, scope)
            except RecipientError as e:
                return self.recipient_error(e)
            data["recipients_spec"] = body
        elif step == "deadline":
            try:
                at = parse_deadline(self.ctx.roster, body, self.bot.now(), self.bot.office,
                                    data.get("recipients") or ())
            except ValueError:
                return self.t("notices.bad_deadline")
            data["deadline"] = int(at.timestamp() * 1000)
        elif step == "email":
            data["email"] = body.lower() in YES
        return None

    def recipient_error(self, e: RecipientError) -> str:
        kind, _, detail = str(e).partition(":")
        return self.t(f"notices.recipients_{kind}", detail=detail)

    def _ask(self, step: str, data: dict[str, Any]) -> str:
        if step == "confirm":
            return self.summary(data)
        return self.t(f"notices.ask_{step}")

    def summary(self, data: dict[str, Any]) -> str:
        names = [self.bot.delivery.dept_name(d) for d in data["recipients"]]
        shown = "、".join(names[:20]) + (self.t("notices.and_more", n=len(names) - 20)
                                          if len(names) > 20 else "")
        meeting = data.get("meeting") or {}
        return self.t("notices.summary", kind=self.t(f"notices.kind_{data['kind']}"),
                      title=data["title"], time=meeting.get("time", "—"),
                      place=meeting.get("place", "—"), attendance=meeting.get("attendance", "—"), count=len(names), names=shown,
                      attachments=len(data.get("attachments", [])),
                      deadline=self.bot.delivery.when(data["deadline"]),
                      email=self.t("notices.yes" if data.get("email") else "notices.no"))

    async def _submit(self, room_id: str, sender: str, event_id: str, data: dict[str, Any],
                      scope: set[str]) -> list[str]:
        # The recipients again: the roster (or the sender's rights) may have changed meanwhile.
        try:
            recipients = resolve(self.ctx.roster, data["recipients_spec"], scope)
        except RecipientError as e:
            return [self.recipient_error(e)]
        notice, problem = await self.bot.create_notice(
            f"dm/{event_id}", sender, room_id, {**data, "recipients": recipients})
        await self.tables.save_draft(room_id, None, {})
        if notice is None:
            return [problem or ""]
        return [self.t("notices.submitted", ref=notice.ref, count=len(notice.copies))]


def _attachment(content: dict[str, Any]) -> dict[str, Any]:
    info = content.get("info") or {}
    return {"name": str(content.get("body") or "attachment"), "url": content.get("url"),
            "mimetype": info.get("mimetype", "application/octet-stream"),
            "size": int(info.get("size") or 0), "file": content.get("file")}
