"""The complaints bot (监督投诉): a complaint about an agency goes to the supervision office only.

The accused agency is only ever named inside the mail to the supervision office; its own
address and its officers' room are never used, and without the complainant's consent the
office sees the name and phone masked.
"""

from __future__ import annotations

from bots.mailbox.db import Draft
from bots.mailbox.fields import mask_name, mask_phone
from bots.mailbox.flow import LetterBot
from bots.mailbox.messages import LETTER_MESSAGES
from bots.mailbox.submit import LetterSpec
from bots.mailbox.upgrade import make_upgrade_table

from .messages import COMPLAINT_MESSAGES

YES = {"同意", "是", "yes", "y"}
NO = {"不同意", "否", "no", "n"}


class ComplaintsBot(LetterBot):
    name = "complaints"
    upgrade_table = make_upgrade_table("complaints")
    messages = {lang: {**LETTER_MESSAGES[lang], **COMPLAINT_MESSAGES[lang]} for lang in ("zh", "en")}
    steps = ("agency", "category", "text", "name", "phone", "consent", "confirm")

    def categories(self) -> list[str]:
        return [str(c) for c in self.cfg("categories") or []]

    def ask_agency(self, draft: Draft) -> str:
        return self.t("complaints.ask_agency")

    async def step_agency(self, draft: Draft, body: str) -> str | None:
        dept = self.find_department(body)
        if dept is None:
            return self.t("complaints.agency_unknown", text=body[:50])
        # Only the id and name: the agency's own address must never be at hand for sending.
        draft.data["agency"] = {"id": dept.id, "name": dept.name}
        return None

    def ask_category(self, draft: Draft) -> str:
        lines = "\n".join(f"{n}. {c}" for n, c in enumerate(self.categories(), 1))
        return self.t("complaints.ask_category", categories=lines)

    async def step_category(self, draft: Draft, body: str) -> str | None:
        categories = self.categories()
        if body.isdigit() and 1 <= int(body) <= len(categories):
            draft.data["category"] = categories[int(body) - 1]
        elif body in categories:
            draft.data["category"] = body
        else:
            return self.t("complaints.category_unknown")
        return None

    def ask_consent(self, draft: Draft) -> str:
        return self.t("complaints.ask_consent")

    async def step_consent(self, draft: Draft, body: str) -> str | None:
        if body.lower() not in YES | NO:
            return self.t("complaints.consent_unknown")
        draft.data["consent"] = body.lower() in YES
        return None

    def summary_lines(self, draft: Draft) -> list[str]:
        d = draft.data
        return [self.t("complaints.sum_agency", value=d["agency"]["name"]),
                self.t("complaints.sum_category", value=d["category"]),
                self.t("complaints.sum_consent",
                       value=self.t("complaints.yes" if d["consent"] else "complaints.no"))]

    def office_for(self, dept_id: str) -> tuple[str, str, str | None]:
        """The supervision office for a complaint about `dept_id`: its jurisdiction's (or the
        nearest one up the chain that names one, roster `supervision_*`), else the config's;
        with the office's jurisdiction (None for the config's), whose working days count.

        Never the accused: an office whose address is the agency's own is passed over."""
        roster = self.ctx.roster
        dept = roster.departments.get(dept_id)
        own = dept.email.lower() if dept else ""
        for jid in roster.jurisdiction_chain(dept.jurisdiction) if dept else []:
            jur = roster.jurisdictions[jid]
            if jur.supervision_email and jur.supervision_email.lower() != own:
                return jur.supervision_name or jur.name, jur.supervision_email, jid
            if jur.supervision_email:
                self.ctx.log.error("Supervision office of %s is %s's own address; not used for a "
                                   "complaint about it", jid, dept_id)
        return str(self.cfg("office_name")), str(self.cfg("office_email")), None

    def letter_spec(self, draft: Draft) -> LetterSpec:
        d, t = draft.data, self.t
        consent = bool(d["consent"])
        name, phone = d.get("name") or "", d.get("phone") or ""
        if not consent:
            name, phone = mask_name(name), mask_phone(phone) if phone else ""
        none = t("letters.none_given")
        office, office_email, office_jurisdiction = self.office_for(d["agency"]["id"])
        subject = t("complaints.subject", category=d["category"], agency=d["agency"]["name"])
        return LetterSpec(
            kind="complaint", number_letters="TS", recipient=office,
            to_address=office_email, subject=subject,
            mail_subject=f"【监督投诉】{subject}",
            rows=[(t("complaints.mail_agency"), d["agency"]["name"]),
                  (t("complaints.mail_category"), d["category"]),
                  (t("complaints.mail_writer"), name or none),
                  (t("complaints.mail_phone"), phone or none),
                  (t("complaints.mail_consent"),
                   t("complaints.mail_consented" if consent else "complaints.mail_masked"))],
            deadline_days=int(self.cfg("deadline_working_days")),
            jurisdiction=office_jurisdiction,
        )
