MESSAGES = {
    "zh": {
        "consult.greeting": (
            "您好，这里是{name}网上值班室。{description}\n值班时间：{hours}。\n{now}\n"
            "请直接在此输入您的问题，值班人员会以部门名义答复您；您的个人信息只用于本次咨询。"
            "每次咨询都会有一个编号，方便您查询。"
        ),
        "consult.opened": "已收到您的咨询，编号 {ref}。值班人员正在处理，请稍候。",
        "consult.now_open": "现在有值班人员在线（至 {until}），会尽快答复您。",
        "consult.now_always": "全天有值班人员在线，会尽快答复您。",
        "consult.now_unstaffed": "现在是工作时间，但暂时没有值班人员在线；您可以先留言，值班人员到岗后答复。",
        "consult.now_closed": "现在是非工作时间，下次上班：{next}。您可以先留言，上班后值班人员会答复您。",
        "consult.now_no_opening": "近期没有值班安排；您可以先留言，恢复值班后值班人员会答复您。",
        "consult.encrypted": (
            "抱歉，本对话开启了端到端加密，网上值班室暂时无法读取加密消息，您的消息没有送达。"
            "请新建一个未加密的私聊（在 Element 中新建私聊时关闭“加密”选项），再向{name}发送您的问题。"
        ),
        "consult.undecryptable": (
            "抱歉，{name}未能解密您的这条加密消息（可能是在我们加入对话、收到密钥之前发出的），"
            "消息没有送达。请重新发送一次；如果仍然不行，请在 Element 中退出并重新登录后再试。"
        ),
        "consult.group_refused": "为保护您的隐私，部门账号只接受一对一私聊。请新建与{name}的私聊后再咨询。",
        "consult.media_too_large": "附件过大（{size}），未能转交。请发送不超过 {limit} 的文件。",
        "consult.transferred_citizen": (
            "您的咨询（编号 {ref}）已转交「{to}」办理，后续答复将由「{to}」在本对话中发送。"
        ),
        "consult.transferred_welcome": (
            "您好，这里是{name}。您的咨询（编号 {ref}）已由「{source}」转来，此前的记录我们都能看到，"
            "无需重复说明。本部门值班时间：{hours}。{now}"
        ),
        "consult.hint_elsewhere": (
            "提示：根据您的描述，以下部门的职责可能更对口：{names}。本部门值班人员看到后会为您转办；"
            "您也可以直接私信这些部门。"
        ),
        "consult.closed_citizen": (
            "本次咨询（编号 {ref}）已办结。请回复数字 1–5 为本次服务评分："
            "5 非常满意，4 满意，3 基本满意，2 不满意，1 非常不满意。"
        ),
        "consult.rated_citizen": "感谢您的评价（{rating} 分）。如有新的问题，欢迎随时留言。",
        "consult.reopened": (
            "您的咨询（编号 {ref}）已重新打开，继续办理。您的新消息已转给值班人员，请稍候答复。"
        ),
        "consult.reopened_off_hours": (
            "您的咨询（编号 {ref}）已重新打开，继续办理。现在是非工作时间，您的留言已记录，"
            "值班人员上班后会在这里答复您，无需重复发送。"
        ),
        "consult.rated_bad_citizen": (
            "感谢您的评价（{rating} 分）。您的意见已转给部门负责人督办，我们会尽快再次与您联系。"
        ),
        "consult.slow_down": (
            "您的消息发送得较快。我们已全部收到，会合并后一并转给值班人员，不会遗漏，请勿重复发送。"
        ),
        "consult.many_cases": (
            "您在一小时内开启了较多咨询。每一条都已记录并会得到处理；为便于值班人员跟进，"
            "请尽量在已有的咨询中继续留言。"
        ),
        "consult.blocked": (
            "由于{reason}，您向「{dept}」发送消息的功能已被暂停，至 {until} 自动恢复。"
            "暂停期间您的消息会被记录，但不会转给值班人员。如对此有异议，"
            "可私信 {appeal}（监督投诉）提出申诉。"
        ),
        "consult.unblocked": "您向「{dept}」发送消息的功能已恢复，欢迎继续咨询。",
        "officer.digest": "（以下 {count} 条为该市民在短时间内连续发送的消息，合并转交）",
        "officer.block_not_supervisor": "只有本部门负责人可以屏蔽或解除屏蔽市民。",
        "officer.block_usage": (
            "用法：!屏蔽 时长 理由，例如 !屏蔽 7天 多次发送辱骂信息（时长最多 {days} 天，"
            "可写 30分钟、12小时、7天）；!解除屏蔽 提前解除。"
        ),
        "officer.blocked": "{who} 已屏蔽该市民至 {until}，理由：{reason}。已告知市民及申诉途径。",
        "officer.unblocked": "对该市民的屏蔽已解除，已告知市民。",
        "officer.not_blocked": "该市民目前没有被屏蔽。",
        "officer.root": "新咨询 {ref} · {who} · {time} · 状态：{status}",
        "officer.root_mentions": "请值班人员处理：{mentions}",
        "officer.unclaimed": "{ref} 的认领人已不在本部门值班名单中，本咨询已重新开放，请值班人员认领：{mentions}",
        "officer.status_open": "待认领",
        "officer.status_claimed": "已认领（{alias}）",
        "officer.status_closed": "已办结",
        "officer.status_transferred": "已转办至「{to}」",
        "officer.status_reopened": "市民再次来信，待处理",
        "officer.reopened": "{ref} 办结后市民再次来信，咨询已重新打开。",
        "officer.claimed": "{alias} 已认领 {ref}。",
        "officer.not_officer": "您不在「{dept}」的值班名单中，这条消息没有转给市民。",
        "officer.moved_on": "{ref} 已转交「{dept}」办理，本话题中的消息和命令不再处理，这条消息没有转给市民。",
        "officer.undecryptable": "网上值班室未能解密这条加密消息，它没有转给市民。请重新发送一次。",
        "officer.note_saved": "内部备注已记录（不会发给市民）。",
        "officer.history": (
            "咨询 {ref} 的记录（共 {count} 条，以下是最近 {shown} 条；此处重发的副本，"
            "新登录的设备也能读到；不会发给市民）：\n{lines}"
        ),
        "officer.history_transfer": "{when} —— 转交「{to}」，说明：{note}",
        "officer.history_empty": "咨询 {ref} 还没有可显示的消息记录。",
        "officer.erased_citizen": "市民（已删除数据）",
        "officer.unsupported": "{kind}不会转给市民，请用文字、图片或文件答复。",
        "officer.command_edit": "编辑命令不会重新执行，也不会发给市民，市民看到的仍是原来的内容。如需更正，请撤回（删除）原消息后重新发送。",
        "officer.edited_elsewhere": "市民修改了此前发出的一条消息（原消息在转办前的会话串或合并转交中），修改后为——\n{text}",
        "officer.case_erased": (
            "该市民已按本人要求删除了在网上值班室的数据，咨询 {ref} 无法再回复、转办或办结，"
            "您的消息没有发出。仍可用 !历史 查看记录，用 !备注 记内部备注。"
        ),
        "officer.transfer_usage": "用法：!转办 部门编号 说明，例如 !转办 gat 涉及户籍问题",
        "officer.transfer_unknown": "没有编号为 {dept} 的部门。发送「!转办 ?」可查看与本咨询最相关的部门。",
        "officer.transfer_hint": (
            "与本咨询内容最相关的部门（按部门职责描述匹配）：\n{lines}\n"
            "转办请发送：!转办 部门编号 说明，例如 !转办 {first} 属贵单位职责"
        ),
        "officer.transfer_hint_line": "· {id}：{name}（{jurisdiction}）",
        "officer.transferred_out": "{ref} 已由 {alias} 转交「{to}」：{note}",
        "officer.transferred_in": "转入咨询 {ref}（来自「{source}」）· {who} · 说明：{note}\n此前的记录：\n{history}",
        "officer.closed": "{ref} 已由 {alias} 办结，已请市民评分。",
        "officer.rated": "{ref} 市民评分：{rating} 分。",
        "officer.rated_bad": "{ref} 市民评分 {rating} 分（差评），已重新打开，请负责人督办：{mentions}",
        "officer.case_closed": "{ref} 已办结；市民再次来信时会重新打开。",
        "officer.close_held": (
            "{ref} 尚未办结：该市民还有 {count} 条因发送过快而暂存的消息，现已合并转交到本话题。"
            "请阅读后再发送 !办结。"
        ),
        "officer.close_waiting": (
            "{ref} 尚未办结：市民在非值班时间的留言将于 {next} 转交到本话题，请阅读后再发送 !办结。"
        ),
        "officer.next_shift": "下一班次开始时",
            "consult.off_hours": (
            "您好，{dept}现在是非工作时间（值班时间：{hours}）。您的留言已记录，编号 {ref}。"
            "我们将于 {next} 开始办理，届时值班人员会在这里主动答复您，无需重复发送。"
        ),
        "consult.off_hours_no_opening": (
            "您好，{dept}近期没有值班安排（值班时间：{hours}）。您的留言已记录，编号 {ref}，"
            "恢复值班后值班人员会在这里答复您。"
        ),
        "consult.unstaffed": (
            "您好，{dept}现在是工作时间，但暂时没有值班人员在线。您的留言已记录，编号 {ref}，"
            "值班人员到岗后会尽快在这里答复您。"
        ),
        "consult.reminded": "您的咨询（编号 {ref}）还在等待答复，我们已再次提醒值班人员，请稍候。",
        "consult.unanswered_duty_ended": (
            "本时段值班已结束，您的咨询（编号 {ref}）尚未得到答复。值班人员将于 {next} 上岗后优先处理，"
            "答复会发到这里，无需重复发送。"
        ),
        "consult.unanswered_unstaffed": (
            "现在暂时没有值班人员在线，您的咨询（编号 {ref}）尚未得到答复。值班人员到岗后会优先处理，"
            "答复会发到这里，无需重复发送。"
        ),
        "consult.escalated": "您的咨询（编号 {ref}）等待时间较长，已转请部门负责人督办，请稍候。",
        "consult.offer_email": (
            "抱歉让您久等。如您愿意，可以回复“邮件”，我们会把本次咨询（编号 {ref}）发送到{dept}的部门邮箱，"
            "答复仍会回到这里；您也可以继续在此等待值班人员。"
        ),
        "consult.emailed": "已把您的咨询（编号 {ref}）发送到{dept}的部门邮箱，部门答复后会在这里转告您。",
        "consult.email_unavailable": "抱歉，邮件通道暂不可用，您的咨询仍在等待值班人员答复（编号 {ref}）。",
        "consult.email_already": "您的咨询 {ref} 已发往「{dept}」的部门邮箱，答复会转到这里，请耐心等待。",
        "consult.email_failed": (
            "抱歉，发往部门邮箱的邮件未能送达。您的咨询（编号 {ref}）仍在这里等待值班人员答复，"
            "无需重新发送；管理员已收到通知。"
        ),
        "officer.email_failed": "{ref} 发往部门邮箱的邮件未能送达（{error}），请在本话题中答复市民。",
        "consult.email_reply": "{dept}通过邮件答复了您的咨询（编号 {ref}）：\n{text}",
        "officer.backlog": "值班开始：共有 {count} 条留言等待处理，最早一条留于 {since}。以下按时间先后列出。",
        "officer.all_retracted": "市民已撤回咨询 {ref} 的全部留言，没有需要转交的内容。如无后续，可发送 !办结 结束。",
        "officer.remind": "{ref} 已等待 {minutes} 分钟仍未答复，请值班人员尽快处理：{mentions}",
        "officer.escalate": "{ref} 等待 {minutes} 分钟仍未答复，请负责人督办：{mentions}",
        "officer.followup_remind": "留言 {ref} 上班后 {hours} 个工作小时仍未跟进，请值班人员处理：{mentions}",
        "officer.followup_escalate": "留言 {ref} 上班后 {hours} 个工作小时仍未跟进，请负责人督办：{mentions}",
        "officer.emailed": "{ref} 市民选择改用邮件，已发送至部门邮箱 {email}；邮件答复会转给市民。",
        "officer.email_reply": "{ref} 部门邮箱已答复，答复已转给市民。",
        "officer.email_reply_before": "{ref} 转办前发往「{dept}」邮箱的咨询，该部门已通过邮件答复，答复已转给市民；本咨询仍由本部门办理。",
        "consult.dead_letter": (
            "抱歉，您的这条消息暂时未能转交给值班人员。消息已妥善保存，系统已通知管理员处理，"
            "处理后会继续转交，您无需重复发送。"
        ),
        "consult.department_gone": (
            "抱歉，本部门已不再通过网上值班室受理咨询，您的这条消息未能转交。"
            "如需咨询，请在「浙江政务通」空间中选择其他部门开始对话；本对话中的记录仍然保留。"
        ),
        "consult.unsupported": "抱歉，{kind}无法转交给值班人员。请用文字描述您的问题，也可以发送图片或文件。",
        "consult.retracted_copy": "（已撤回）",
        "officer.edited_mark": "（已编辑）",
        "officer.media_image": "[图片]",
        "officer.media_file": "[文件]",
        "officer.media_video": "[视频]",
        "officer.media_audio": "[语音]",
        "consult.kind_poll": "投票",
        "consult.kind_sticker": "贴纸",
        "consult.parts_dropped": (
            "提示：您这条消息中的部分附加信息（如引用、回复或编辑标记）格式无法识别，未能一并转交；"
            "消息的其余内容已照常处理。"
        ),
        "consult.media_unavailable": (
            "抱歉，您发送的附件「{name}」无法获取（文件可能不存在或链接有误），未能转交给值班人员。"
            "请重新发送该文件，或用文字说明。"
        ),
        "officer.media_unavailable": "［附件「{name}」无法获取，未能转来；已请市民重新发送。］",
        "officer.media_not_sent": "附件「{name}」无法获取，未能转给市民，请重新上传后发送。",
    },
    "en": {
        "consult.off_hours": (
            "Hello, {dept} is closed now (hours: {hours}). Your message is recorded as {ref}. "
            "We open again {next}; an officer will answer you here then, no need to resend."
        ),
        "consult.off_hours_no_opening": (
            "Hello, {dept} has no duty scheduled at the moment (hours: {hours}). Your message is "
            "recorded as {ref}; an officer will answer here when duty resumes."
        ),
        "consult.unstaffed": (
            "Hello, {dept} is in working hours but no officer is on duty right now. Your message "
            "is recorded as {ref}; an officer will answer here as soon as one is on duty."
        ),
        "consult.reminded": "Your question {ref} is still waiting; we reminded the officers on duty.",
        "consult.unanswered_duty_ended": (
            "Duty has ended for now and your question {ref} has not been answered yet. The officers "
            "will take it up first when duty starts again ({next}); the answer will come here, no "
            "need to send it again."
        ),
        "consult.unanswered_unstaffed": (
            "No officer is on duty right now and your question {ref} has not been answered yet. It "
            "will be taken up first when an officer is on duty; the answer will come here, no need "
            "to send it again."
        ),
        "consult.escalated": "Your question {ref} has waited long; it was passed to the department's supervisors.",
        "consult.offer_email": (
            "Sorry for the wait. Reply “email” and we will send consultation {ref} to the {dept} "
            "mailbox; the answer will still come here. Or keep waiting for an officer."
        ),
        "consult.emailed": "Consultation {ref} was sent to the {dept} mailbox; its answer will come here.",
        "consult.email_unavailable": "Sorry, e-mail is not available right now; {ref} is still waiting for an officer.",
        "consult.email_already": "{ref} has already gone to the mailbox of {dept}; the answer will come here.",
        "consult.department_gone": (
            "Sorry, this department no longer takes questions in the online duty room, so this "
            "message was not passed on. To ask, start a chat with another department in the "
            "浙江政务通 space; what was said here stays in this chat."
        ),
        "consult.email_failed": (
            "Sorry, the mail to the department's mailbox did not arrive. Your question {ref} is still "
            "waiting here for an officer; no need to send it again. The administrators were told."
        ),
        "officer.email_failed": "{ref}: the mail to the department's mailbox did not arrive ({error}); answer the citizen in this thread.",
        "consult.email_reply": "{dept} answered {ref} by e-mail:\n{text}",
        "officer.backlog": "Duty starts: {count} leave-message(s) waiting, the oldest since {since}. Listed oldest first.",
        "officer.all_retracted": "The citizen retracted everything they left in consultation {ref}; there is nothing to pass on. If nothing follows, send !close to close it.",
        "officer.remind": "{ref} unanswered for {minutes} minutes; officers on duty please answer: {mentions}",
        "officer.escalate": "{ref} unanswered for {minutes} minutes; supervisors please follow up: {mentions}",
        "officer.followup_remind": "Leave-message {ref} not followed up after {hours} working hours: {mentions}",
        "officer.followup_escalate": "Leave-message {ref} not followed up after {hours} working hours; supervisors: {mentions}",
        "officer.emailed": "{ref}: the citizen chose e-mail; sent to the department mailbox {email}.",
        "officer.email_reply": "{ref}: the department mailbox answered; passed to the citizen.",
        "officer.email_reply_before": "{ref}: {dept}, whose mailbox the case was sent to before the transfer, answered by e-mail; the answer was passed to the citizen. The case is still this department's.",
        "consult.greeting": (
            "Hello, this is the online duty room of {name}. {description}\nHours: {hours}.\n{now}\n"
            "Type your question here; the officer on duty answers in the department's name. "
            "Your details are used only for this consultation. Each consultation gets a "
            "reference number you can quote."
        ),
        "consult.slow_down": (
            "You are sending messages quickly. We received them all and will pass them on to the "
            "officers together; none is lost, so please do not send them again."
        ),
        "consult.many_cases": (
            "You opened many consultations within an hour. Each one is recorded and will be "
            "handled; to help the officers follow up, please continue in an existing one."
        ),
        "consult.blocked": (
            "Because of {reason}, your messages to {dept} are suspended until {until}, when they "
            "resume automatically. Meanwhile your messages are recorded but not passed to the "
            "officers. To appeal, write to {appeal} (complaints)."
        ),
        "consult.unblocked": "Your messages to {dept} are no longer suspended; you are welcome to write again.",
        "officer.digest": "(The following {count} messages were sent by this citizen in a short time, passed on together)",
        "officer.block_not_supervisor": "Only the department's supervisors can block or unblock a citizen.",
        "officer.block_usage": (
            "Usage: !block DURATION REASON, e.g. !block 7d repeated abuse (at most {days} days; "
            "30m, 12h, 7d); !unblock lifts it early."
        ),
        "officer.blocked": "{who} blocked this citizen until {until}. Reason: {reason}. The citizen was told how to appeal.",
        "officer.unblocked": "The block on this citizen was lifted; the citizen was told.",
        "officer.not_blocked": "This citizen is not blocked.",
        "consult.opened": "We received your question, reference {ref}. An officer will answer shortly.",
        "consult.now_open": "An officer is on duty now (until {until}) and will answer you shortly.",
        "consult.now_always": "Officers are on duty around the clock and will answer you shortly.",
        "consult.now_unstaffed": "It is working time but no officer is on duty right now; leave a message and an officer will answer.",
        "consult.now_closed": "We are closed now and open again {next}. Leave a message and an officer will answer then.",
        "consult.now_no_opening": "No duty is scheduled at the moment; leave a message and an officer will answer when duty resumes.",
        "consult.encrypted": (
            "Sorry: this chat is end-to-end encrypted and the duty room cannot read encrypted "
            "messages yet, so your message was not delivered. Please start a new direct chat "
            "with {name} with encryption turned off and ask again."
        ),
        "consult.undecryptable": (
            "Sorry: {name} could not decrypt this encrypted message (it was probably sent before "
            "we had joined the chat and received its keys), so it was not delivered. Please send "
            "it again; if that fails too, sign out of your client and back in, then retry."
        ),
        "consult.group_refused": "To protect your privacy the department only answers one-to-one chats. Please start a direct chat with {name}.",
        "consult.media_too_large": "The attachment is too large ({size}) and was not passed on. The limit is {limit}.",
        "consult.transferred_citizen": (
            "Your consultation {ref} was transferred to {to}; its answers will arrive in this chat."
        ),
        "consult.transferred_welcome": (
            "Hello, this is {name}. Your consultation {ref} came to us from {source}; we can see "
            "what was said, no need to repeat it. Our hours: {hours}. {now}"
        ),
        "consult.hint_elsewhere": (
            "Note: from your description, these departments may be the right ones: {names}. The "
            "officer on duty here will transfer your question if so; you may also write to them."
        ),
        "consult.closed_citizen": (
            "Consultation {ref} is closed. Please rate our service by replying 1–5: 5 very "
            "satisfied, 4 satisfied, 3 acceptable, 2 unsatisfied, 1 very unsatisfied."
        ),
        "consult.rated_citizen": "Thank you for your rating ({rating}). Write any time if you have a new question.",
        "consult.reopened": (
            "Your consultation {ref} is open again. Your new message was passed to the officers "
            "on duty; please wait for their answer."
        ),
        "consult.reopened_off_hours": (
            "Your consultation {ref} is open again. We are closed now: your message is recorded "
            "and an officer will answer here when duty starts, no need to resend."
        ),
        "consult.rated_bad_citizen": (
            "Thank you for your rating ({rating}). It was passed to the department's supervisors, "
            "who will contact you again soon."
        ),
        "officer.root": "New consultation {ref} · {who} · {time} · status: {status}",
        "officer.root_mentions": "Officers on duty: {mentions}",
        "officer.unclaimed": "{ref}: whoever claimed it is no longer on this department's roster; it is open again, for the officers on duty to claim: {mentions}",
        "officer.status_open": "unclaimed",
        "officer.status_claimed": "claimed by {alias}",
        "officer.status_closed": "closed",
        "officer.status_transferred": "transferred to {to}",
        "officer.status_reopened": "the citizen wrote again, to be handled",
        "officer.reopened": "{ref}: the citizen wrote again after the close; the consultation is open again.",
        "officer.claimed": "{alias} claimed {ref}.",
        "officer.not_officer": "You are not on the duty roster of {dept}; this message was not passed to the citizen.",
        "officer.moved_on": "{ref} was transferred to {dept}: messages and commands in this thread are not handled any more; this one was not passed to the citizen.",
        "officer.undecryptable": "The duty room could not decrypt this encrypted message, so it was not passed to the citizen. Please send it again.",
        "officer.note_saved": "Internal note recorded (never sent to the citizen).",
        "officer.history": (
            "The record of consultation {ref} ({count} entries, the latest {shown} below; a copy "
            "reposted here so that newly signed-in devices can read it; never sent to the "
            "citizen):\n{lines}"
        ),
        "officer.history_transfer": "{when} —— transferred to {to}, note: {note}",
        "officer.history_empty": "Consultation {ref} has no messages to show yet.",
        "officer.erased_citizen": "Citizen (data erased)",
        "officer.unsupported": "{kind} are not passed on to the citizen: answer with words, pictures or files.",
        "officer.command_edit": "Editing a command does not run it again, and nothing was sent to the citizen, who still sees what was sent before. To correct it, remove (redact) the message and send the command again.",
        "officer.edited_elsewhere": "The citizen edited an earlier message (its copy is in the thread from before a transfer, or in a digest); it now reads:\n{text}",
        "officer.case_erased": (
            "This citizen had their data in the duty room erased at their request: consultation "
            "{ref} can no longer be answered, transferred or closed, and your message was not "
            "sent. !history still shows the record and !note records an internal note."
        ),
        "officer.transfer_usage": "Usage: !transfer DEPT-ID note, e.g. !transfer gat household registration",
        "officer.transfer_unknown": "There is no department with id {dept}. \"!transfer ?\" lists the best matches.",
        "officer.transfer_hint": (
            "Departments whose duties best match this consultation:\n{lines}\n"
            "To transfer: !transfer DEPT-ID note, e.g. !transfer {first} within your remit"
        ),
        "officer.transfer_hint_line": "· {id}: {name} ({jurisdiction})",
        "officer.transferred_out": "{ref} was transferred by {alias} to {to}: {note}",
        "officer.transferred_in": "Transferred consultation {ref} (from {source}) · {who} · note: {note}\nHistory:\n{history}",
        "officer.closed": "{ref} closed by {alias}; the citizen was asked for a rating.",
        "officer.rated": "{ref} rated {rating} by the citizen.",
        "officer.rated_bad": "{ref} rated {rating} (bad): reopened for the supervisors: {mentions}",
        "officer.case_closed": "{ref} is closed; it reopens when the citizen writes again.",
        "officer.close_held": (
            "{ref} is not closed: {count} of the citizen's messages, held because they came too "
            "fast, are now passed on in this thread. Read them, then send !close again."
        ),
        "officer.close_waiting": (
            "{ref} is not closed: what the citizen wrote out of hours comes into this thread at {next}. "
            "Read it, then send !close again."
        ),
        "officer.next_shift": "the start of the next shift",
        "consult.dead_letter": (
            "Sorry: this message could not be passed to the officers yet. It has been kept and "
            "the administrators were alerted; once they have fixed the problem it will be passed "
            "on. There is no need to send it again."
        ),
        "consult.unsupported": (
            "Sorry, {kind} cannot be passed on to the officers. Please describe your question "
            "in words; you can also send pictures or files."
        ),
        "consult.retracted_copy": "(retracted)",
        "officer.edited_mark": " (edited)",
        "officer.media_image": "[image]",
        "officer.media_file": "[file]",
        "officer.media_video": "[video]",
        "officer.media_audio": "[audio]",
        "consult.kind_poll": "polls",
        "consult.kind_sticker": "stickers",
        "consult.parts_dropped": (
            "Note: part of this message (a quote, reply or edit marker) could not be read and "
            "was not passed on; the rest of the message was handled as usual."
        ),
        "consult.media_unavailable": (
            "Sorry: the attachment \"{name}\" could not be fetched (the file may be missing or "
            "its link broken), so it was not passed to the officers. Please send it again, or "
            "describe it in words."
        ),
        "officer.media_unavailable": "[The attachment \"{name}\" could not be fetched; the citizen was asked to send it again.]",
        "officer.media_not_sent": "The attachment \"{name}\" could not be fetched and was not sent to the citizen; please upload it again.",
    },
}
