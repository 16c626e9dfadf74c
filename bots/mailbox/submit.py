"""A confirmed draft becomes a numbered letter and a queued mail to its office."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mautrix.types import MessageEvent

from bridge.audit import COMPLAINT_SENT, LETTER_SENT, AuditLog
from bridge.crypto.media import decrypt_file
from bridge.mail import OutgoingMail

from .db import Draft, Letter
from .fields import add_working_days

if TYPE_CHECKING:
    from .flow import LetterBot


@dataclass(frozen=True)
class LetterSpec:
    """Where a letter goes and what the office reads; made by each bot from its draft."""

    kind: str  # leader, department or complaint: picks the deadline
    number_letters: str  # XJ, BM, TS
    recipient: str  # shown to the citizen and used as the mail's To name
    to_address: str
    subject: str  # the citizen's subject, or one made for them
    mail_subject: str  # without the number, which is appended
    rows: list[tuple[str, str]]  # label, value: the header block of the mail body
    deadline_days: int
    # Whose working days count the deadline: the recipient's jurisdiction (a city's 市长信箱, a
    # city department, a city's supervision office keep the city's rest and make-up days);
    # None for the province's own offices.
    jurisdiction: str | None = None


class Submitter:
    def __init__(self, bot: LetterBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx

    async def submit(self, event: MessageEvent, draft: Draft) -> tuple[list[str], Draft | None]:
        bot, t, mail = self.bot, self.bot.t, self.ctx.mail
        if mail is None:
            return [t("letters.mail_disabled")], draft
        spec = bot.letter_spec(draft)
        roster = self.ctx.roster
        local = self.ctx.clock.now().astimezone(roster.timezone)
        calendar = roster.calendar_of(spec.jurisdiction) if (
            spec.jurisdiction in roster.jurisdictions) else roster
        deadline = add_working_days(local.date(), spec.deadline_days, calendar.is_working_day)
        letter = await bot.tables.create_letter(
            event_id=event.event_id, number_prefix=f"{spec.number_letters}{local:%Y%m%d}",
            kind=spec.kind, citizen=event.sender, room_id=event.room_id,
            recipient=spec.recipient, to_address=spec.to_address, subject=spec.subject,
            created_at=int(local.timestamp() * 1000), deadline=deadline.isoformat(),
        )
        attachments, lost = await self._attachments(draft)
        outgoing = OutgoingMail(
            key=f"{bot.name}/letter/{letter.number}", to=spec.to_address, to_name=spec.recipient,
            subject=f"{spec.mail_subject}（{letter.number}）",
            text=self.office_text(letter, spec, draft, f"{local:%Y-%m-%d %H:%M}"),
            reply_ref=letter.number, attachments=attachments,
            headers={"X-Dutyroom-Kind": spec.kind},
        )
        try:
            await mail.queue(outgoing)
        except ValueError as e:
            # A header the mail package refuses (CR/LF, encoded words...): nothing was stored.
            self.ctx.log.warning("Letter %s refused: %s", letter.number, e)
            await bot.tables.delete_letter(letter.number)
            return [t("letters.refused_header")], draft
        # The office now holds what the citizen gave (name and phone, masked or not).
        await AuditLog(self.ctx.db).record(
            bot.mxid, COMPLAINT_SENT if spec.kind == "complaint" else LETTER_SENT,
            f"letter/{letter.number}", at_ms=int(local.timestamp() * 1000),
            detail=spec.to_address, key=f"{bot.name}/letter/{letter.number}")
        done = t("letters.submitted", number=letter.number, recipient=spec.recipient,
                 deadline=letter.deadline, days=spec.deadline_days)
        return ([done, t("letters.attachments_lost", names="、".join(lost))] if lost
                else [done]), None

    async def _attachments(self, draft: Draft) -> tuple[list[tuple[str, str, bytes]], list[str]]:
        intent, limit = self.ctx.intent(self.bot.mxid), int(self.bot.cfg("max_attachment_bytes"))
        found: list[tuple[str, str, bytes]] = []
        lost: list[str] = []
        for item in draft.data.get("attachments", []):
            try:
                data = await intent.download_media(item["url"])
                if "file" in item:  # kept with the draft, in the bridge's database
                    data = decrypt_file(data, item["file"])
            except Exception:
                self.ctx.log.exception("Attachment %s could not be downloaded", item["url"])
                lost.append(item["name"])
                continue
            if len(data) > limit:
                lost.append(item["name"])
            else:
                found.append((item["name"], item["mime"], data))
        return found, lost

    def office_text(self, letter: Letter, spec: LetterSpec, draft: Draft, at: str) -> str:
        t = self.bot.t
        rows = [(t("letters.mail_number"), letter.number), *spec.rows,
                (t("letters.mail_submitted"), at),
                (t("letters.mail_deadline"), t("letters.mail_deadline_value",
                                               deadline=letter.deadline, days=spec.deadline_days)),
                (t("letters.mail_subject"), spec.subject)]
        head = "\n".join(f"{label}：{value}" for label, value in rows)
        body = "\n\n".join(draft.data.get("text", []))
        return f"{head}\n\n{body}\n\n——\n{t('letters.mail_footer', service=self.bot.service_name)}\n"
