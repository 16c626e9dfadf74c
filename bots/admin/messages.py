MESSAGES = {
    "zh": {
        "admin.room_name": "网上值班室 · 管理员",
        "admin.room_topic": "值班名单（YAML）的校验错误、节假日数据提醒等运行通知。",
        "admin.roster_refused": (
            "值班名单的修改未生效：发现 {count} 处错误，系统继续使用原来的名单。"
            "请按以下位置（文件:行:列: 字段: 说明）修改后保存，系统会自动重新加载："
        ),
        "admin.roster_applied": "新的值班名单已生效：{departments} 个部门，{officers} 名值班人员。",
        "admin.cases_left_behind": (
            "⚠ 名单中已没有下列部门，它们仍有未办结的咨询，无人办理：\n{lines}\n"
            "市民在这些对话中再发消息时，会被告知消息未能转交、请改向其他部门咨询。"
            "如系误删，恢复名单即可继续办理（等待中的留言会在该部门上班时送达）。"
        ),
        "admin.cases_left_line": "{dept}：{count} 件（{refs}）",
        "admin.jurisdiction_room_name": "{jurisdiction} · 网上值班室管理员",
        "admin.jurisdiction_room_topic": "{jurisdiction}各部门的运行通知：发送失败、死信、名单变更和报告。",
        "admin.jurisdiction_roster_applied": (
            "新的值班名单已生效：{jurisdiction}（含下级）{departments} 个部门，{officers} 名值班人员。"
        ),
        "admin.calendar_warning": "节假日数据提醒：{warning}",
        "admin.dead_malformed": (
            "⚠ 死信 {id}：家庭服务器推送的一条事件格式错误，无法处理，已原样保存。\n"
            "事件：{event}\n房间：{room}\n发送者：{sender}\n原因：{error}"
        ),
        "admin.dead_inbox": (
            "⚠ 死信 {id}：一条事件多次处理失败，已停止重试并保存。\n"
            "事件：{event}\n房间：{room}\n发送者：{sender}\n错误：{error}"
        ),
        "admin.mail_failed": (
            "⚠ 邮件未能送达：{what}\n收件人：{recipient}\n原因：{error}\n"
            "请核实收件地址（部门信箱见名册中的 email，领导信箱见配置 mailbox.leaders）后处理；"
            "涉及市民的，市民已另行收到通知。"
        ),
        "admin.mail_reply_dead": (
            "⚠ 一封回信多次处理失败，已停止处理：编号 {ref}，发件人 {sender}，邮件 {message_id}。\n"
            "错误：{error}\n市民尚未收到这份答复；请排查日志后，请该单位重新回复或另行告知市民。"
        ),
        "admin.dead_send": (
            "⚠ 发送失败 {id}：系统已放弃发送一条消息，对方没有收到。\n"
            "房间：{room}\n收件人：{recipients}\n发送身份：{sender}\n键：{send_key}\n错误：{error}"
        ),
        "admin.dead_again": "（此前已重放过一次，重放后再次失败。）",
        "admin.dead_howto": (
            "排除原因后，在服务器上运行 python -m bridge dead-letters retry {id} 重放一次，"
            "或 python -m bridge dead-letters discard {id} 放弃；show {id} 查看详情。"
        ),
        "admin.dead_unknown": "（未知）",
        "admin.problem_old_registration": (
            "⚠ 注册文件是旧版的：应用服务以机器人本身的身份注册，家庭服务器不允许它读取机器人"
            "加密设备的收件箱。桥接停机、重启或推送失败期间发来的加密密钥会丢失，对应的加密消息"
            "将无法解密，发送者会被请求重发。请运行 dutyroom -g -c config.yaml -r registration.yaml "
            "重新生成注册文件，替换家庭服务器上的注册文件并重启家庭服务器，再重启桥接。"
        ),
        "admin.problem_inbox_unreadable": (
            "⚠ 已连续 {count} 次无法读取机器人加密设备的收件箱（每 {minutes} 分钟一次）。"
            "最近的错误：{error}。恢复之前，桥接停机或推送失败期间发来的加密密钥读不到，"
            "对应的消息会提示发送者无法解密。请检查家庭服务器和桥接的日志；恢复后会在此告知。"
        ),
        "admin.problem_inbox_readable": (
            "机器人加密设备的收件箱已恢复读取（此前连续失败 {count} 次），"
            "读回了 {handled} 条家庭服务器未推送的消息。"
        ),
        "admin.problem_devices_missing": (
            "⚠ {count} 个部门账号没能建立自己的加密设备：{accounts}。错误：{error}。"
            "在此期间由机器人的设备代为加密，机器人会加入这些部门与市民的加密私聊（市民会看到它），"
            "消息仍能送达。请检查家庭服务器和桥接的日志；桥接重启或名册变更时会再试，成功后会在此告知。"
        ),
        "admin.problem_devices_made": "此前缺少加密设备的 {count} 个部门账号现已都有自己的设备。",
        "admin.problem_bot_device_made": (
            "⚠ 机器人的加密设备 {old} 在家庭服务器上被删除，桥接已建立新设备 {new} 并完成交叉签名。"
            "删除前发给旧设备、尚未读取的加密消息无法解密；值班人员的客户端会在下一条消息时向新设备共享密钥。"
            "如非有意删除，请核查家庭服务器上的设备管理操作。"
        ),
        "admin.problem_bot_device_failed": (
            "⚠ 机器人的加密设备 {old} 在家庭服务器上被删除，重新建立失败：{error}。"
            "在此之前，加密的值班室里值班人员的答复无法读取和转达。请检查家庭服务器和桥接的日志，然后重启桥接。"
        ),
    },
    "en": {
        "admin.room_name": "Online duty room · administrators",
        "admin.room_topic": "Duty roster (YAML) validation errors, holiday data warnings and other notices.",
        "admin.roster_refused": (
            "The roster change was NOT applied: {count} problem(s) found; the previous roster "
            "stays in force. Fix these (file:line:column: field: message) and save; the bridge "
            "reloads automatically:"
        ),
        "admin.roster_applied": "The new roster is in force: {departments} departments, {officers} officers.",
        "admin.cases_left_behind": (
            "⚠ These departments are no longer on the roster but have open consultations that "
            "nobody will answer:\n{lines}\nA citizen who writes again in one of those chats is "
            "told the message was not passed on and to ask another department. If they were "
            "removed by mistake, restore the roster and the cases go on (waiting leave-messages "
            "are delivered when the department opens)."
        ),
        "admin.cases_left_line": "{dept}: {count} ({refs})",
        "admin.jurisdiction_room_name": "{jurisdiction} · duty room administrators",
        "admin.jurisdiction_room_topic": (
            "Notices about the departments of {jurisdiction}: failed sends, dead letters, roster "
            "changes and reports."
        ),
        "admin.jurisdiction_roster_applied": (
            "The new roster is in force: {jurisdiction} (with the levels below) has {departments} "
            "departments and {officers} officers."
        ),
        "admin.calendar_warning": "Holiday data warning: {warning}",
        "admin.dead_malformed": (
            "⚠ Dead letter {id}: the homeserver pushed a malformed event; it was kept as it came.\n"
            "Event: {event}\nRoom: {room}\nSender: {sender}\nProblem: {error}"
        ),
        "admin.dead_inbox": (
            "⚠ Dead letter {id}: an event kept failing and is no longer retried; it was kept.\n"
            "Event: {event}\nRoom: {room}\nSender: {sender}\nError: {error}"
        ),
        "admin.mail_failed": (
            "⚠ Mail not delivered: {what}\nTo: {recipient}\nReason: {error}\n"
            "Check the address (a department's email in the roster, a leader's in mailbox.leaders); "
            "where a citizen is concerned, the citizen was told separately."
        ),
        "admin.mail_reply_dead": (
            "⚠ A reply by e-mail kept failing and was given up on: reference {ref}, from {sender}, "
            "mail {message_id}.\nError: {error}\nThe citizen has not received this answer; after "
            "checking the log, ask the office to reply again or tell the citizen another way."
        ),
        "admin.dead_send": (
            "⚠ Send failed {id}: a message was given up on and did not arrive.\n"
            "Room: {room}\nFor: {recipients}\nSent as: {sender}\nKey: {send_key}\nError: {error}"
        ),
        "admin.dead_again": "(It had been retried once before and failed again.)",
        "admin.dead_howto": (
            "Once the cause is fixed, run python -m bridge dead-letters retry {id} on the server "
            "to replay it once, or python -m bridge dead-letters discard {id}; show {id} for details."
        ),
        "admin.dead_unknown": "(unknown)",
        "admin.problem_old_registration": (
            "⚠ The registration is an old one: the appservice is registered as the bot itself, "
            "and the homeserver does not let it read the bot's encryption device's inbox. Keys "
            "sent while the bridge is down, restarting or refusing a push are lost, and the "
            "messages they encrypt cannot be read (their senders are asked to resend). Run "
            "dutyroom -g -c config.yaml -r registration.yaml, replace the homeserver's copy of "
            "the registration, restart the homeserver, then the bridge."
        ),
        "admin.problem_inbox_unreadable": (
            "⚠ Reading the bot's encryption device's inbox failed {count} times in a row (every "
            "{minutes} minutes). Last error: {error}. Until it works again, keys sent while the "
            "bridge was down or a push failed are not read, and their messages' senders are told "
            "they could not be read. Check the homeserver's and the bridge's logs; this room "
            "will be told when it recovers."
        ),
        "admin.problem_inbox_readable": (
            "The bot's encryption device's inbox is read again (after {count} failures in a "
            "row); {handled} message(s) the homeserver had not pushed were read back."
        ),
        "admin.problem_devices_missing": (
            "⚠ {count} department account(s) could not get an encryption device of their own: "
            "{accounts}. Error: {error}. Meanwhile the bot's device encrypts for them, and the bot "
            "joins those departments' encrypted DMs with citizens (citizens see it there); "
            "messages still get through. Check the homeserver's and the bridge's logs; it is "
            "tried again when the bridge restarts or the roster changes, and this room is told "
            "when it works."
        ),
        "admin.problem_devices_made": (
            "The {count} department account(s) that lacked an encryption device now each have one."
        ),
        "admin.problem_bot_device_made": (
            "⚠ The bot's encryption device {old} was deleted on the homeserver; the bridge made a "
            "new device {new} and cross-signed it. Encrypted messages sent to the old device and "
            "not yet read cannot be decrypted; officers' clients share keys with the new device "
            "from their next message. If the deletion was not intended, check who manages "
            "devices on the homeserver."
        ),
        "admin.problem_bot_device_failed": (
            "⚠ The bot's encryption device {old} was deleted on the homeserver and making a new "
            "one failed: {error}. Until then, officers' answers in encrypted officers' rooms "
            "cannot be read or passed on. Check the homeserver's and the bridge's logs, then "
            "restart the bridge."
        ),
    },
}
