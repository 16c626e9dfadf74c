"""Texts of the complaints bot; the flow's shared texts come from bots.mailbox."""

from __future__ import annotations

COMPLAINT_MESSAGES = {
    "zh": {
        "complaints.displayname": "监督投诉",
        "complaints.greeting": (
            "您好，这里是浙江政务通「监督投诉」。您的投诉只发送给省政府督办部门，不会转给被投诉单位。"
            "投诉分几步：① 被投诉单位 ② 投诉类别 ③ 投诉内容（可附图片、文件）④ 姓名和电话 "
            "⑤ 是否同意向督办部门提供联系方式 ⑥ 核对并发送「确认」。提交后您会得到一个编号，"
            "答复会发送到本对话。随时发送「取消」可放弃，发送「状态 编号」查询进度。"
        ),
        "complaints.ask_agency": "请输入被投诉单位的名称或代码（如「省发展改革委」或「fgw」）。",
        "complaints.agency_unknown": "没有找到「{text}」。请输入准确的单位名称或代码。",
        "complaints.ask_category": "请选择投诉类别，回复序号：\n{categories}",
        "complaints.category_unknown": "请回复上面列出的类别序号。",
        "complaints.ask_consent": (
            "是否同意向督办部门提供您的联系方式？回复「同意」或「不同意」。"
            "不同意时，督办部门只能看到隐去的姓名和电话（如 张**、138****5678）。"
        ),
        "complaints.consent_unknown": "请回复「同意」或「不同意」。",
        "complaints.sum_agency": "被投诉单位：{value}",
        "complaints.sum_category": "投诉类别：{value}",
        "complaints.sum_consent": "提供联系方式：{value}",
        "complaints.yes": "同意",
        "complaints.no": "不同意（督办部门只看到隐去的姓名和电话）",
        "complaints.mail_agency": "被投诉单位",
        "complaints.mail_category": "投诉类别",
        "complaints.mail_writer": "投诉人",
        "complaints.mail_phone": "联系电话",
        "complaints.mail_consent": "联系方式",
        "complaints.mail_consented": "投诉人同意提供",
        "complaints.mail_masked": "投诉人未同意提供，已隐去",
        "complaints.subject": "{category}：{agency}",
    },
    "en": {
        "complaints.displayname": "Supervision complaints",
        "complaints.greeting": (
            "Welcome to supervision complaints. Your complaint goes only to the supervision office, "
            "never to the agency complained about. Steps: agency, category, text, name and phone, "
            "consent to share your contact details, \"confirm\". \"cancel\" stops; "
            "\"!status <number>\" works any time."
        ),
        "complaints.ask_agency": "Which agency is the complaint about (name or id)?",
        "complaints.agency_unknown": "\"{text}\" not found; please type the agency's name or id.",
        "complaints.ask_category": "Choose a category by number:\n{categories}",
        "complaints.category_unknown": "Please reply with one of the numbers above.",
        "complaints.ask_consent": (
            "May we give the supervision office your contact details? Reply \"yes\" or \"no\" "
            "(with no, it sees them masked)."
        ),
        "complaints.consent_unknown": "Please reply \"yes\" or \"no\".",
        "complaints.sum_agency": "Agency: {value}",
        "complaints.sum_category": "Category: {value}",
        "complaints.sum_consent": "Share contact details: {value}",
        "complaints.yes": "yes",
        "complaints.no": "no (masked)",
        "complaints.mail_agency": "Agency",
        "complaints.mail_category": "Category",
        "complaints.mail_writer": "Complainant",
        "complaints.mail_phone": "Phone",
        "complaints.mail_consent": "Contact details",
        "complaints.mail_consented": "shared with consent",
        "complaints.mail_masked": "masked (no consent)",
        "complaints.subject": "{category}: {agency}",
    },
}
