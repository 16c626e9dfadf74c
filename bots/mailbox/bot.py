"""The mailbox bot (省长信箱 / 部门信箱): letters to the governor, a vice-governor or a department."""

from __future__ import annotations

from typing import Any

from .db import Draft
from .flow import LetterBot
from .messages import LETTER_MESSAGES, MAILBOX_MESSAGES
from .submit import LetterSpec
from .upgrade import make_upgrade_table


class MailboxBot(LetterBot):
    name = "mailbox"
    upgrade_table = make_upgrade_table("mailbox")
    messages = {lang: {**LETTER_MESSAGES[lang], **MAILBOX_MESSAGES[lang]} for lang in ("zh", "en")}
    steps = ("recipient", "subject", "text", "name", "phone", "confirm")

    def leaders(self) -> list[dict[str, Any]]:
        """The governor and vice-governors (config), then each city's 市长信箱 (roster
        `mailbox_name`/`mailbox_email` of a jurisdiction), numbered on in roster order."""
        found = [dict(leader) for leader in self.cfg("leaders") or []]
        for jur in self.ctx.roster.jurisdictions.values():
            if jur.mailbox_email:
                found.append({"id": f"mayor_{jur.id}", "title": jur.mailbox_name or jur.name,
                              "name": "", "email": jur.mailbox_email, "mayor": True,
                              "jurisdiction": jur.id,
                              "portfolio": self.t("mailbox.mayor_portfolio", jurisdiction=jur.name)})
        return found

    def ask_recipient(self, draft: Draft) -> str:
        lines = [self.t("mailbox.leader_line", n=n, title=x.get("title", ""), name=x.get("name", ""),
                        portfolio=x.get("portfolio", ""))
                 for n, x in enumerate(self.leaders(), 1)]
        return self.t("mailbox.ask_recipient", leaders="\n".join(lines))

    async def step_recipient(self, draft: Draft, body: str) -> str | None:
        leaders = self.leaders()
        chosen = None
        if body.isdigit() and 1 <= int(body) <= len(leaders):
            chosen = leaders[int(body) - 1]
        else:
            chosen = next((x for x in leaders if body and body in (x.get("id"), x.get("name"),
                                                                    x.get("title"))), None)
        if chosen is not None:
            draft.data["recipient"] = {
                "kind": "leader", "id": chosen["id"], "email": chosen["email"],
                "label": f"{chosen.get('title', '')} {chosen.get('name', '')}".strip(),
                "mayor": bool(chosen.get("mayor")), "jurisdiction": chosen.get("jurisdiction"),
            }
            return None
        dept = self.find_department(body)
        if dept is None:
            return self.t("mailbox.recipient_unknown", text=body[:50])
        if not dept.email:
            return self.t("mailbox.no_email", name=dept.name)
        draft.data["recipient"] = {"kind": "department", "id": dept.id, "email": dept.email,
                                   "label": dept.name, "jurisdiction": dept.jurisdiction}
        return None

    def summary_lines(self, draft: Draft) -> list[str]:
        return [self.t("mailbox.sum_recipient", value=draft.data["recipient"]["label"]),
                self.t("mailbox.sum_subject", value=draft.data["subject"])]

    def letter_spec(self, draft: Draft) -> LetterSpec:
        d, t = draft.data, self.t
        to = d["recipient"]
        leader = to["kind"] == "leader"
        none = t("letters.none_given")
        return LetterSpec(
            kind=to["kind"], number_letters="XJ" if leader else "BM", recipient=to["label"],
            to_address=to["email"], subject=d["subject"],
            mail_subject=f"{_tag(to)}{d['subject']}",
            rows=[(t("mailbox.mail_recipient"), to["label"]),
                  (t("mailbox.mail_writer"), d.get("name") or none),
                  (t("mailbox.mail_phone"), d.get("phone") or none)],
            deadline_days=int(self.cfg("deadline_working_days")[to["kind"]]),
            jurisdiction=to.get("jurisdiction"),
        )


def _tag(to: dict[str, Any]) -> str:
    if to["kind"] != "leader":
        return "【部门信箱】"
    return "【市长信箱】" if to.get("mayor") else "【省长信箱】"
