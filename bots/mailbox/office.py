"""The mail office's side: replies into the citizen's room, failed mail, overdue letters."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from bridge.crypto.media import encrypt_file
from bridge.mail import InboundMail, OutgoingMail

from .db import ERASED, FAILED, FINISHED, Letter
from .fields import office_status

if TYPE_CHECKING:
    from .flow import LetterBot


class OfficeSide:
    def __init__(self, bot: LetterBot) -> None:
        self.bot = bot
        self.ctx = bot.ctx

    def _now_ms(self) -> int:
        return int(self.ctx.clock.now().timestamp() * 1000)

    async def on_reply(self, mail: InboundMail) -> None:
        """Called by the transport for every stored reply, at least once; ours are by number."""
        bot = self.bot
        letter = await bot.tables.letter(mail.reply_ref)
        if letter is None:
            return  # another bot's reference
        if mail.auto_submitted:
            # Vacation notices and bounces are not answers; the citizen never sees them.
            self.ctx.log.info("Auto-submitted mail %s for %s not delivered", mail.message_id,
                              letter.number)
            return
        status = office_status(mail.subject, mail.text)
        if letter.citizen == ERASED:  # its writer had their data erased: nobody to pass it to
            self.ctx.log.info("Reply %s to %s not delivered: its writer's data was erased",
                              mail.message_id, letter.number)
        else:
            await self._pass_on(letter, mail, status)
        if letter.status != FINISHED or status == FINISHED:  # a later note cannot reopen it
            await bot.tables.set_status(letter.number, status, replied_at=self._now_ms())

    async def _pass_on(self, letter: Letter, mail: InboundMail, status: str) -> None:
        """The office's answer, with its files, into the letter's room."""
        bot = self.bot
        key = f"{bot.name}/reply/{mail.message_id}"
        header = bot.t("letters.reply_header", number=letter.number,
                       status=bot.t(f"letters.status.{status}"))
        content: dict[str, Any] = {"msgtype": "m.text", "body": f"{header}\n\n{mail.text}"}
        if mail.html:  # already sanitised to Matrix's allowlist by the transport
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = f"<p><b>{html.escape(header)}</b></p>{mail.html}"
        await self.ctx.send(key, letter.room_id, content, sender=bot.mxid)
        intent = self.ctx.intent(bot.mxid)
        encrypted = self.ctx.encryption is not None and \
            await self.ctx.encryption.is_encrypted(letter.room_id, bot.mxid)
        for i, (name, mime, data) in enumerate(mail.attachments):
            media: dict[str, Any]
            if encrypted:  # uploaded encrypted, the key inside the encrypted event
                ciphertext, file = encrypt_file(data)
                url = await intent.upload_media(ciphertext, mime_type="application/octet-stream")
                media = {"file": {**file, "url": str(url)}}
            else:
                media = {"url": str(await intent.upload_media(data, mime_type=mime, filename=name))}
            await self.ctx.send(f"{key}/file/{i}", letter.room_id, {
                "msgtype": "m.image" if mime.startswith("image/") else "m.file",
                "body": name, "filename": name, **media,
                "info": {"mimetype": mime, "size": len(data)},
            }, sender=bot.mxid)
        if mail.dropped:
            await bot.say(f"{key}/dropped", letter.room_id,
                          bot.t("letters.reply_dropped", names="、".join(mail.dropped)))

    async def on_failure(self, key: str, error: str) -> None:
        bot = self.bot
        if key.startswith(f"{bot.name}/remind/"):
            self.ctx.log.error("Reminder %s could not be delivered: %s", key, error)
            return
        prefix = f"{bot.name}/letter/"
        letter = await bot.tables.letter(key[len(prefix):]) if key.startswith(prefix) else None
        if letter is None:
            return
        if letter.citizen == ERASED:  # (the mail was withdrawn or had gone: nobody to tell)
            await bot.tables.set_status(letter.number, FAILED)
            return
        await bot.say(f"{bot.name}/failed/{letter.number}", letter.room_id,
                      bot.t("letters.failed_citizen", number=letter.number,
                            recipient=letter.recipient))
        await bot.tables.set_status(letter.number, FAILED)

    async def check_deadlines(self) -> int:
        """Chase each unanswered letter past its deadline once: mail the office, tell the citizen."""
        mail = self.ctx.mail
        if mail is None:
            return 0
        today = self.ctx.clock.now().astimezone(self.ctx.roster.timezone).date().isoformat()
        chased = 0
        for letter in await self.bot.tables.overdue(today):
            try:
                await mail.queue(self._reminder(letter))
            except ValueError:
                self.ctx.log.exception("Reminder for %s refused", letter.number)
                continue
            # Keys and the stored mark make a check interrupted half-way harmless to repeat.
            await self.bot.say(f"{self.bot.name}/overdue/{letter.number}", letter.room_id,
                               self.bot.t("letters.overdue_citizen", number=letter.number,
                                          deadline=letter.deadline))
            await self.bot.tables.mark_reminded(letter.number, self._now_ms())
            chased += 1
        return chased

    def _reminder(self, letter: Letter) -> OutgoingMail:
        t = self.bot.t
        return OutgoingMail(
            key=f"{self.bot.name}/remind/{letter.number}", to=letter.to_address,
            to_name=letter.recipient,
            subject=t("letters.remind_subject", number=letter.number, subject=letter.subject),
            text=t("letters.remind_text", number=letter.number, subject=letter.subject,
                   deadline=letter.deadline, service=self.bot.service_name),
            reply_ref=letter.number, headers={"X-Dutyroom-Kind": "reminder"},
        )
