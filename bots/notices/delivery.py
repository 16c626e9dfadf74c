"""Copies and the tally: every department's copy goes through the durable outbox under the key
`notice/<id>/copy/<dept>`, so a restart in the middle of a delivery queues the rest and nothing
twice (the outbox keeps one row per key, and its transaction IDs make the homeserver drop a
resend). The sender's tally is one message, edited in place (m.replace) after each receipt."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bots.officers.rooms import room_name
from bridge.mail import OutgoingMail
from bridge.outbox_sender import REFERENCE

from .db import MEETING, RECALLED, SENT, Notice, Receipt
from .render import escape, to_html

if TYPE_CHECKING:
    from .bot import NoticesBot


def copy_key(notice_id: int, dept_id: str) -> str:
    return f"notice/{notice_id}/copy/{dept_id}"


def tally_key(notice_id: int) -> str:
    return f"notice/{notice_id}/tally"


def edit_of(target_key: str, content: dict[str, Any]) -> dict[str, Any]:
    """An m.replace of the message queued under `target_key` (resolved by the outbox)."""
    new = {k: v for k, v in content.items() if k not in ("m.relates_to", "m.mentions")}
    edit = {**new, "body": "* " + str(new.get("body", "")),
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": REFERENCE + target_key},
            "m.mentions": {}}
    if "formatted_body" in new:
        edit["formatted_body"] = "* " + str(new["formatted_body"])
    return edit


class Delivery:
    def __init__(self, bot: NoticesBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx
        self.tables = bot.tables

    def when(self, ms: int) -> str:
        tz = self.ctx.roster.timezone
        return datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")

    def dept_name(self, dept_id: str) -> str:
        dept = self.ctx.roster.departments.get(dept_id)
        return room_name(self.ctx, dept) if dept else dept_id

    # The copy -----------------------------------------------------------------------------
    def copy_content(self, notice: Notice) -> dict[str, Any]:
        t = self.ctx.messages
        kind = t(f"notices.kind_{notice.kind}")
        head = [t("notices.copy_head", kind=kind, ref=notice.ref, title=notice.title)]
        if notice.kind == MEETING:
            head.append(t("notices.copy_meeting", when=notice.meeting.get("time", "—"),
                          where=notice.meeting.get("place", "—"),
                          who=notice.meeting.get("attendance", "—")))
        foot = t("notices.copy_foot_meeting" if notice.kind == MEETING else "notices.copy_foot",
                 deadline=self.when(notice.deadline), ref=notice.ref)
        if notice.version:
            foot = t("notices.copy_corrected", version=notice.version) + "\n" + foot
        body = "\n".join(head) + "\n\n" + notice.body + "\n\n" + foot
        html_head = "<br>".join(f"<strong>{escape(line)}</strong>" if i == 0 else escape(line)
                                for i, line in enumerate(head))
        html = (f"<p>{html_head}</p>{to_html(notice.body)}<p><em>"
                + escape(foot).replace("\n", "<br>") + "</em></p>")
        return {"msgtype": "m.text", "body": body, "format": "org.matrix.custom.html",
                "formatted_body": html, "org.dutyroom.notice": notice.ref}

    async def deliver(self, notice: Notice) -> None:
        """Queue every copy (and attachment, and e-mail), then the tally; repeatable."""
        bot_mxid = self.ctx.config.bot_mxid
        content = self.copy_content(notice)
        for dept_id, room_id in notice.copies.items():
            key = copy_key(notice.id, dept_id)
            await self.ctx.send(key, room_id, content, sender=bot_mxid)
            for i, att in enumerate(notice.attachments):
                await self.ctx.send(f"{key}/att/{i}", room_id, attachment_content(att),
                                    sender=bot_mxid)
        if notice.email and self.ctx.mail is not None:
            await self._mail(notice)
        await self.ctx.send(tally_key(notice.id), notice.sender_room,
                            await self.tally_content(notice), sender=self.bot.mxid)
        await self.tables.set_status(notice.id, SENT)
        self.bot.delivered += 1

    async def _mail(self, notice: Notice) -> None:
        assert self.ctx.mail is not None
        text = self.copy_content(notice)
        for dept_id in notice.copies:
            dept = self.ctx.roster.departments.get(dept_id)
            if dept is None or not dept.email:
                continue
            await self.ctx.mail.queue(OutgoingMail(
                key=f"notice/{notice.id}/mail/{dept_id}", to=dept.email, to_name=dept.name,
                subject=f"【{self.ctx.messages(f'notices.kind_{notice.kind}')}】{notice.title}"
                        f"（{notice.ref}）",
                text=str(text["body"]), html=str(text["formatted_body"])))

    # The tally ----------------------------------------------------------------------------
    def tally_text(self, notice: Notice, receipts: dict[str, Receipt]) -> str:
        t = self.ctx.messages
        done = [d for d in notice.copies if d in receipts]
        missing = [d for d in notice.copies if d not in receipts and d in self.ctx.roster.departments]
        gone = [d for d in notice.copies if d not in receipts and d not in self.ctx.roster.departments]
        lines = [t("notices.tally_head", ref=notice.ref, title=notice.title),
                 t("notices.tally_count", done=len(done), total=len(notice.copies),
                   deadline=self.when(notice.deadline))]
        if notice.status == RECALLED:
            lines.insert(1, t("notices.tally_recalled", reason=notice.recall_reason or "—"))
        lines.append(t("notices.tally_missing",
                       names="、".join(self.dept_name(d) for d in missing) or "—"))
        if gone:
            lines.append(t("notices.tally_gone", names="、".join(gone)))
        if notice.kind == MEETING:
            rows = [f"{self.dept_name(d)}：{'、'.join(receipts[d].attendees) or '—'}" for d in done]
            lines.append(t("notices.tally_attendees", lines="\n".join(rows) or "—"))
        return "\n".join(lines)

    async def tally_content(self, notice: Notice) -> dict[str, Any]:
        text = self.tally_text(notice, await self.tables.receipts(notice.id))
        return {"msgtype": "m.notice", "body": text, "format": "org.matrix.custom.html",
                "formatted_body": escape(text).replace("\n", "<br>")}

    async def update_tally(self, notice: Notice, cause: str) -> None:
        """One edit of the tally, keyed by what changed it (a receipt event, an edit, a recall)."""
        content = await self.tally_content(notice)
        await self.ctx.send(f"{tally_key(notice.id)}/{cause}", notice.sender_room,
                            edit_of(tally_key(notice.id), content), sender=self.bot.mxid)


def attachment_content(att: dict[str, Any]) -> dict[str, Any]:
    msgtype = "m.image" if str(att.get("mimetype", "")).startswith("image/") else "m.file"
    content: dict[str, Any] = {"msgtype": msgtype, "body": att["name"],
                               "info": {"mimetype": att.get("mimetype", "application/octet-stream"),
                                        "size": int(att.get("size", 0))}}
    if att.get("file"):  # sent from an encrypted DM: the key travels with the copy
        content["file"] = att["file"]
    else:
        content["url"] = att["url"]
    return content
