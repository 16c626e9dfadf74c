MESSAGES = {
    "zh": {
        "privacy.exported": (
            "这是网上值班室保存的关于您的全部数据（咨询、您发送的消息、部门的答复、信件、投诉、评价），"
            "见附件 {file}。其中不含工作人员的身份信息和内部备注。"
        ),
        "privacy.erase_ask": (
            "您要求删除网上值班室保存的关于您的数据。删除后：您的消息内容、联系方式和账号关联将被清除，"
            "已转给工作人员的消息副本将被撤回；为统计考核保留的只有不含您身份的时间和办理结果。\n"
            "{kept}"
            "本对话将随之结束，之后如需咨询可重新发起私聊。\n"
            "如确认删除，请发送：!删除我的数据 确认"
        ),
        "privacy.erase_keeps": "依据规定，以下记录暂时保留，到期后自动删除：\n{lines}\n",
        "privacy.kept_line": "· {what}：保留至 {until}（监督部门办理需要）",
        "privacy.erased": (
            "已按您的要求删除您的数据：咨询 {cases} 件、信件和投诉 {letters} 件，另清除记录 {rows} 条。\n"
            "{kept}本对话到此结束，感谢您的使用。"
        ),
        "privacy.erased_elsewhere": "您的数据已按您的要求删除，本对话到此结束。",
        "privacy.retention_done": "数据保留期限到期清理已完成（{day}）：{summary}。",
        "privacy.file_name": "我的数据",
        "privacy.audit_not_admin": "只有网上值班室的管理员可以查看审计记录。",
        "privacy.audit_province_only": "审计记录涵盖全省各级，仅可在省级管理室由省级管理员查看；如需查询，请联系省级管理员。",
        "privacy.audit_list": "最近 {days} 天的审计记录共 {count} 条（显示最近 {shown} 条；全部记录：python -m bridge audit）：",
    },
    "en": {
        "privacy.exported": (
            "Here is everything the duty room keeps about you (consultations, your messages, the "
            "departments' answers, letters, complaints, ratings) in the attached {file}. It holds "
            "no staff identities and no internal notes."
        ),
        "privacy.erase_ask": (
            "You asked us to delete the data the duty room keeps about you. Your messages, contact "
            "details and the link to your account will be removed and the copies passed to staff "
            "withdrawn; only times and outcomes without your identity stay, for the statistics.\n"
            "{kept}"
            "This conversation will end; you can start a new one at any time.\n"
            "To confirm, send: !erasemydata confirm"
        ),
        "privacy.erase_keeps": "By rule, these records are kept for now and deleted when due:\n{lines}\n",
        "privacy.kept_line": "· {what}: kept until {until} (needed by the supervision office)",
        "privacy.erased": (
            "Your data was deleted as you asked: {cases} consultations, {letters} letters and "
            "complaints, and {rows} further records.\n{kept}This conversation ends here. Thank you."
        ),
        "privacy.erased_elsewhere": "Your data was deleted as you asked; this conversation ends here.",
        "privacy.retention_done": "Retention run finished ({day}): {summary}.",
        "privacy.file_name": "my-data",
        "privacy.audit_not_admin": "Only the duty room's administrators can read the audit trail.",
        "privacy.audit_province_only": "The audit trail covers every level of the province, so it is read only in the province's administrators' room by its administrators; please ask them.",
        "privacy.audit_list": "Audit entries of the last {days} days: {count} (the latest {shown} shown; all: python -m bridge audit):",
    },
}
