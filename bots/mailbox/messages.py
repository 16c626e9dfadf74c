"""Texts of the letter flow (shared by both letter bots) and of the mailbox bot."""

from __future__ import annotations

LETTER_MESSAGES = {
    "zh": {
        "letters.group_refused": "为保护您的隐私，本账号只接受一对一私聊。请新建与本账号的私聊后再写信。",
        "letters.new": "好的，我们开始写一封新的信件。随时发送「取消」可放弃。",
        "letters.edit_ignored": "已填写的内容不能通过编辑修改。如需修改，请发送「取消」后重新填写。",
        "letters.cancelled": "已取消，未发送任何内容。发送任意消息可重新开始。",
        "letters.nothing_to_cancel": "当前没有正在填写的信件。",
        "letters.media_only_in_text": "请在填写正文时发送图片或文件，它们会作为附件随信发送。",
        "letters.unsupported": "抱歉，{kind}无法写进信件，这条没有被记录。请按提示用文字回复（图片或文件请在填写正文时发送）。",
        "letters.kind_poll": "投票",
        "letters.kind_sticker": "贴纸",
        "letters.kind_other": "这类消息",
        "letters.confirm_or_cancel": "请发送「确认」提交，或发送「取消」放弃。",
        "letters.ask_subject": "请输入主题（一行，不超过 {limit} 字）。",
        "letters.subject_refused": (
            "主题不能包含换行或特殊控制字符（为防止邮件被篡改），本次输入未被采用，没有发送任何内容。"
            "请重新输入一行主题。"
        ),
        "letters.subject_too_long": "主题过长，请控制在 {limit} 字以内。",
        "letters.ask_text": (
            "请输入正文，可以分多条消息发送；也可以发送图片或文件作为附件（最多 {max} 个）。"
            "写完后请发送「完成」。"
        ),
        "letters.text_noted": "已记录。可继续输入或发送附件，写完后请发送「完成」。",
        "letters.text_empty": "正文还是空的，请先输入内容，再发送「完成」。",
        "letters.text_too_long": "正文过长（超过 {limit} 字），这条消息未被采用。请精简后再发送。",
        "letters.attached": "已添加附件「{name}」（共 {count} 个）。",
        "letters.attachment_too_large": "附件「{name}」超过 {limit} MB，未能添加。",
        "letters.attachment_unreadable": "附件「{name}」无法读取，未能添加。",
        "letters.undecryptable": "抱歉，未能解密您的这条加密消息（可能是在我们收到密钥之前发出的），它没有被记录。请重新发送一次。",
        "letters.too_many_attachments": "附件最多 {max} 个，这个文件未能添加。",
        "letters.ask_name": "请输入您的姓名（可发送「跳过」匿名提交，但可能无法与您联系）。",
        "letters.ask_name_required": "请输入您的姓名（必填）。",
        "letters.name_required": "姓名为必填项，请输入您的姓名。",
        "letters.name_invalid": "姓名格式不正确（不超过 {limit} 字），请重新输入。",
        "letters.ask_phone": "请输入您的联系电话（可发送「跳过」）。",
        "letters.ask_phone_required": "请输入您的联系电话（必填）。",
        "letters.phone_required": "联系电话为必填项，请输入。",
        "letters.phone_invalid": "电话号码格式不正确，请输入 7–15 位数字的手机或固定电话号码。",
        "letters.none_given": "（未填写）",
        "letters.sum_name": "姓名：{value}",
        "letters.sum_phone": "电话：{value}",
        "letters.sum_attachments": "附件：{value}",
        "letters.sum_text": "正文：\n{value}",
        "letters.summary": "请核对以下内容：\n\n{lines}\n\n确认无误请发送「确认」提交；发送「取消」放弃。",
        "letters.mail_disabled": "抱歉，邮件服务暂未开通，信件未能提交。请稍后再试。",
        "letters.refused_header": (
            "抱歉，信件内容中有无法安全写入邮件的字符，信件没有发送。请发送「取消」后重新填写。"
        ),
        "letters.submitted": (
            "已提交，编号 {number}，收件方：{recipient}，状态：受理。办理时限为 {days} 个工作日，"
            "预计 {deadline} 前答复；答复会发送到本对话。可随时发送「状态 {number}」查询进度，"
            "发送「!letters」查看全部。"
        ),
        "letters.attachments_lost": "注意：附件 {names} 未能读取，没有随信发送。如有需要请重新提交。",
        "letters.none": "您还没有提交过信件。",
        "letters.list": "您的信件：\n{lines}",
        "letters.not_found": "没有找到编号为 {number} 的信件。请核对编号（只能查询您本人提交的信件）。",
        "letters.status_line": "{number}「{subject}」→ {recipient}：{status}（办理时限 {deadline}）",
        "letters.status.accepted": "受理",
        "letters.status.transferred": "转办",
        "letters.status.replied": "已回复",
        "letters.status.finished": "办结",
        "letters.status.failed": "投递失败",
        "letters.reply_header": "【答复】信件 {number}（状态：{status}）",
        "letters.reply_dropped": "答复中的附件 {names} 过大，未能转发。",
        "letters.failed_citizen": (
            "抱歉，您的信件 {number} 未能投递到「{recipient}」（邮件服务器拒收或长时间无法连接），"
            "状态：投递失败。您的内容没有丢失，请稍后重新提交，或拨打 12345 政务服务热线反映。"
        ),
        "letters.overdue_citizen": (
            "您的信件 {number} 已超过办理时限（{deadline}）仍未答复，我们已向承办单位发出催办。"
            "答复后会发送到本对话。"
        ),
        "letters.remind_subject": "【催办】{subject}（{number}）",
        "letters.remind_text": (
            "您单位收到的来信 {number}「{subject}」已超过办理时限（{deadline}）仍未答复。"
            "请尽快回复原邮件（或本邮件）答复来信人。\n\n——{service}\n"
        ),
        "letters.mail_number": "编号",
        "letters.mail_submitted": "提交时间",
        "letters.mail_deadline": "办理时限",
        "letters.mail_deadline_value": "{deadline} 前（{days} 个工作日）",
        "letters.mail_subject": "主题",
        "letters.mail_footer": (
            "请直接回复本邮件，答复会送达来信人（{service}）。"
            "回复的主题或正文以「【转办】」开头表示已转办，以「【办结】」开头表示已办结。"
        ),
        "letters.dead_letter": (
            "抱歉，您的这条消息暂时未能处理。消息已妥善保存，系统已通知管理员，处理后会继续办理，"
            "您无需重复发送。"
        ),
    },
    "en": {
        "letters.group_refused": "To protect your privacy this account only takes one-to-one chats.",
        "letters.new": "Let's write a new letter. Send \"cancel\" at any time to stop.",
        "letters.edit_ignored": "Edits cannot change an answer; send \"cancel\" and start again.",
        "letters.cancelled": "Cancelled; nothing was sent. Send any message to start again.",
        "letters.nothing_to_cancel": "There is no letter in progress.",
        "letters.media_only_in_text": "Send images or files while writing the text.",
        "letters.unsupported": "Sorry: {kind} cannot go into a letter, so this one was not recorded. Please answer in words (images or files go with the text).",
        "letters.kind_poll": "polls",
        "letters.kind_sticker": "stickers",
        "letters.kind_other": "messages of this kind",
        "letters.confirm_or_cancel": "Send \"confirm\" to submit or \"cancel\" to stop.",
        "letters.ask_subject": "Please enter a subject (one line, up to {limit} characters).",
        "letters.subject_refused": (
            "A subject cannot contain line breaks or control characters; nothing was sent. "
            "Please enter a one-line subject."
        ),
        "letters.subject_too_long": "The subject is too long (max {limit} characters).",
        "letters.ask_text": (
            "Please write your text, in as many messages as you like; images or files become "
            "attachments (up to {max}). Send \"done\" when finished."
        ),
        "letters.text_noted": "Noted. Continue, or send \"done\" when finished.",
        "letters.text_empty": "The text is empty; write something first, then send \"done\".",
        "letters.text_too_long": "The text is too long (over {limit} characters).",
        "letters.attached": "Attachment \"{name}\" added ({count} in all).",
        "letters.attachment_too_large": "\"{name}\" is larger than {limit} MB and was not added.",
        "letters.attachment_unreadable": "\"{name}\" could not be read and was not added.",
        "letters.undecryptable": "Sorry: this encrypted message could not be decrypted (it was probably sent before we had its keys), so it was not recorded. Please send it again.",
        "letters.too_many_attachments": "At most {max} attachments; this file was not added.",
        "letters.ask_name": "Your name (or \"skip\" to stay anonymous).",
        "letters.ask_name_required": "Your name (required).",
        "letters.name_required": "Your name is required.",
        "letters.name_invalid": "That name is not valid (up to {limit} characters).",
        "letters.ask_phone": "Your phone number (or \"skip\").",
        "letters.ask_phone_required": "Your phone number (required).",
        "letters.phone_required": "A phone number is required.",
        "letters.phone_invalid": "That phone number is not valid (7–15 digits).",
        "letters.none_given": "(none)",
        "letters.sum_name": "Name: {value}",
        "letters.sum_phone": "Phone: {value}",
        "letters.sum_attachments": "Attachments: {value}",
        "letters.sum_text": "Text:\n{value}",
        "letters.summary": "Please check:\n\n{lines}\n\nSend \"confirm\" to submit or \"cancel\".",
        "letters.mail_disabled": "Sorry, the mail service is not available; nothing was sent.",
        "letters.refused_header": (
            "Sorry, the letter holds characters that cannot be put in an e-mail safely; "
            "nothing was sent. Send \"cancel\" and write it again."
        ),
        "letters.submitted": (
            "Submitted as {number} to {recipient}, status: accepted. Answer due within {days} "
            "working days (by {deadline}), here in this chat. Send \"!status {number}\" any time."
        ),
        "letters.attachments_lost": "Note: attachments {names} could not be read and were not sent.",
        "letters.none": "You have no letters yet.",
        "letters.list": "Your letters:\n{lines}",
        "letters.not_found": "No letter {number} found (you can only look up your own).",
        "letters.status_line": "{number} \"{subject}\" → {recipient}: {status} (due {deadline})",
        "letters.status.accepted": "accepted",
        "letters.status.transferred": "transferred",
        "letters.status.replied": "replied",
        "letters.status.finished": "finished",
        "letters.status.failed": "delivery failed",
        "letters.reply_header": "[Answer] letter {number} (status: {status})",
        "letters.reply_dropped": "Attachments {names} of the answer were too large to forward.",
        "letters.failed_citizen": (
            "Sorry, letter {number} could not be delivered to {recipient}; status: delivery "
            "failed. Nothing is lost: please submit it again later or call the 12345 hotline."
        ),
        "letters.overdue_citizen": (
            "Letter {number} passed its deadline ({deadline}) unanswered; the office was chased."
        ),
        "letters.remind_subject": "[Reminder] {subject} ({number})",
        "letters.remind_text": (
            "Letter {number} \"{subject}\" passed its deadline ({deadline}) unanswered. "
            "Please reply to it.\n\n-- {service}\n"
        ),
        "letters.mail_number": "Number",
        "letters.mail_submitted": "Submitted",
        "letters.mail_deadline": "Deadline",
        "letters.mail_deadline_value": "{deadline} ({days} working days)",
        "letters.mail_subject": "Subject",
        "letters.mail_footer": (
            "Reply to this mail to answer the citizen ({service}). Start the subject or text with 【转办】 "
            "(transferred) or 【办结】 (finished) to set the status."
        ),
        "letters.dead_letter": (
            "Sorry: this message could not be handled yet. It has been kept and the "
            "administrators were alerted; it will be handled once they have fixed the problem. "
            "There is no need to send it again."
        ),
    },
}

MAILBOX_MESSAGES = {
    "zh": {
        "mailbox.displayname": "省长信箱 · 部门信箱",
        "mailbox.greeting": (
            "您好，这里是浙江政务通「省长信箱 · 部门信箱」。写信分几步：① 选择收信人（省长、副省长、"
            "各市市长信箱或部门信箱）② 主题 ③ 正文（可附图片、文件）④ 姓名和电话 ⑤ 核对并发送「确认」。"
            "提交后您会得到一个编号，答复会发送到本对话。随时发送「取消」可放弃，"
            "发送「状态 编号」查询进度，发送「!letters」查看您的全部信件。"
        ),
        "mailbox.ask_recipient": (
            "请选择收信人，回复序号：\n{leaders}\n或输入部门名称或代码（如「省发展改革委」或「fgw」）"
            "写信到部门信箱。"
        ),
        "mailbox.leader_line": "{n}. {title} {name}：{portfolio}",
        "mailbox.mayor_portfolio": "{jurisdiction}人民政府的来信，由市政府办理",
        "mailbox.recipient_unknown": "没有找到「{text}」。请回复上面的序号，或输入准确的部门名称或代码。",
        "mailbox.no_email": "「{name}」暂未开通部门信箱，请选择其他收信人。",
        "mailbox.sum_recipient": "收信人：{value}",
        "mailbox.sum_subject": "主题：{value}",
        "mailbox.mail_recipient": "收信人",
        "mailbox.mail_writer": "来信人",
        "mailbox.mail_phone": "联系电话",
    },
    "en": {
        "mailbox.displayname": "Governor's and department mailboxes",
        "mailbox.greeting": (
            "Welcome to the governor's and department mailboxes. Steps: 1. recipient, "
            "2. subject, 3. text (with images or files), 4. name and phone, 5. \"confirm\". "
            "You get a number and the answer arrives here. \"cancel\" stops; \"!status <number>\" "
            "and \"!letters\" work any time."
        ),
        "mailbox.ask_recipient": (
            "Choose a recipient by number:\n{leaders}\nor type a department's name or id."
        ),
        "mailbox.leader_line": "{n}. {title} {name}: {portfolio}",
        "mailbox.mayor_portfolio": "letters to the {jurisdiction} government, handled by the city",
        "mailbox.recipient_unknown": "\"{text}\" not found; reply with a number or a department.",
        "mailbox.no_email": "{name} has no mailbox yet; please choose another recipient.",
        "mailbox.sum_recipient": "To: {value}",
        "mailbox.sum_subject": "Subject: {value}",
        "mailbox.mail_recipient": "To",
        "mailbox.mail_writer": "From",
        "mailbox.mail_phone": "Phone",
    },
}
