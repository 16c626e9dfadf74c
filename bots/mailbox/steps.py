"""The steps both letter bots share: subject, text (with attachments), name, phone, summary.

A `step_<name>` returns None when the answer is taken (the flow moves on) or the text to send
back when it is refused; `ask_<name>` is the question that opens the step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mautrix.errors import DecryptionError

from bots.consultation.media import MediaUnavailable, download
from bridge.crypto.media import clean_file, decrypt_file
from bridge.mail.compose import check_header_text
from bridge.roster.model import Department

from .db import Draft
from .fields import normalise_phone

if TYPE_CHECKING:
    from .flow import LetterBot

DONE = {"完成", "done", "好了", "结束"}
SKIP = {"跳过", "skip", "无", "-"}
MAX_SUBJECT = 100
MAX_TEXT = 20_000
MAX_NAME = 30


class SharedSteps:
    # Subclasses add what differs between a letter and a complaint.
    def summary_lines(self: LetterBot, draft: Draft) -> list[str]:
        raise NotImplementedError

    def find_department(self: LetterBot, text: str) -> Department | None:
        """By id, full or short name; else the only department whose name contains the text."""
        wanted = text.strip().lower()
        departments = self.ctx.roster.departments.values()
        for dept in departments:
            if wanted in (dept.id.lower(), dept.name.lower(), dept.short_name.lower()):
                return dept
        partial = [d for d in departments if wanted and wanted in d.name.lower()]
        return partial[0] if len(partial) == 1 else None

    # Subject ------------------------------------------------------------------------------
    def ask_subject(self: LetterBot, draft: Draft) -> str:
        return self.t("letters.ask_subject", limit=MAX_SUBJECT)

    async def step_subject(self: LetterBot, draft: Draft, body: str) -> str | None:
        if not body:
            return self.t("letters.ask_subject", limit=MAX_SUBJECT)
        try:
            # The subject becomes a mail header: a line break could forge headers (Bcc: ...).
            check_header_text("subject", body)
        except ValueError:
            return self.t("letters.subject_refused")
        if len(body) > MAX_SUBJECT:
            return self.t("letters.subject_too_long", limit=MAX_SUBJECT)
        draft.data["subject"] = body
        return None

    # Text and attachments -----------------------------------------------------------------
    def ask_text(self: LetterBot, draft: Draft) -> str:
        return self.t("letters.ask_text", max=self.cfg("max_attachments"))

    async def step_text(self: LetterBot, draft: Draft, body: str) -> str | None:
        parts: list[str] = draft.data.setdefault("text", [])
        if body.lower() in DONE:
            return None if parts else self.t("letters.text_empty")
        if sum(map(len, parts)) + len(body) > MAX_TEXT:
            return self.t("letters.text_too_long", limit=MAX_TEXT)
        parts.append(body)
        # One acknowledgement, not one per message: the citizen may write in many pieces.
        return self.t("letters.text_noted") if len(parts) == 1 else ""

    async def attach(self: LetterBot, draft: Draft, content: dict[str, Any]) -> str:
        files: list[dict[str, Any]] = draft.data.setdefault("attachments", [])
        limit, most = int(self.cfg("max_attachment_bytes")), int(self.cfg("max_attachments"))
        name = str(content.get("filename") or content.get("body") or "attachment")[:200]
        file = clean_file(content.get("file"))  # an encrypted attachment (bridge/crypto/media.py)
        url = file["url"] if file is not None else content.get("url")
        if not isinstance(url, str):
            return self.t("letters.attachment_unreadable", name=name)
        if len(files) >= most:
            return self.t("letters.too_many_attachments", max=most)
        info = content.get("info") if isinstance(content.get("info"), dict) else {}
        declared = info.get("size")
        if isinstance(declared, int) and declared > limit:
            return self.t("letters.attachment_too_large", name=name, limit=limit // 2**20)
        # Downloaded now to learn the real size; again at submission, to attach it.
        try:
            data = await download(self.ctx.intent(self.mxid), url, name)
        except MediaUnavailable:  # missing or malformed: say so, never a dead letter
            return self.t("letters.attachment_unreadable", name=name)
        if file is not None:
            try:
                data = decrypt_file(data, file)
            except DecryptionError:
                return self.t("letters.attachment_unreadable", name=name)
        if len(data) > limit:
            return self.t("letters.attachment_too_large", name=name, limit=limit // 2**20)
        mime = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
        files.append({"url": url, "name": name, "mime": mime or "application/octet-stream",
                      "size": len(data), **({"file": file} if file is not None else {})})
        return self.t("letters.attached", name=name, count=len(files))

    # Name and phone -----------------------------------------------------------------------
    def ask_name(self: LetterBot, draft: Draft) -> str:
        key = "letters.ask_name_required" if self.cfg("require_name") else "letters.ask_name"
        return self.t(key)

    async def step_name(self: LetterBot, draft: Draft, body: str) -> str | None:
        if body.lower() in SKIP or not body:
            if self.cfg("require_name"):
                return self.t("letters.name_required")
            draft.data["name"] = ""
            return None
        if len(body) > MAX_NAME or any(not ch.isprintable() for ch in body):
            return self.t("letters.name_invalid", limit=MAX_NAME)
        draft.data["name"] = body
        return None

    def ask_phone(self: LetterBot, draft: Draft) -> str:
        key = "letters.ask_phone_required" if self.cfg("require_phone") else "letters.ask_phone"
        return self.t(key)

    async def step_phone(self: LetterBot, draft: Draft, body: str) -> str | None:
        if body.lower() in SKIP or not body:
            if self.cfg("require_phone"):
                return self.t("letters.phone_required")
            draft.data["phone"] = ""
            return None
        phone = normalise_phone(body)
        if phone is None:
            return self.t("letters.phone_invalid")
        draft.data["phone"] = phone
        return None

    # Summary ------------------------------------------------------------------------------
    def summary(self: LetterBot, draft: Draft) -> str:
        d = draft.data
        none = self.t("letters.none_given")
        text = "\n".join(d.get("text", []))
        lines = [*self.summary_lines(draft),
                 self.t("letters.sum_name", value=d.get("name") or none),
                 self.t("letters.sum_phone", value=d.get("phone") or none),
                 self.t("letters.sum_attachments",
                        value="、".join(a["name"] for a in d.get("attachments", [])) or none),
                 self.t("letters.sum_text", value=text if len(text) <= 300 else text[:300] + "…")]
        return self.t("letters.summary", lines="\n".join(lines))
