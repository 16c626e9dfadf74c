MESSAGES = {
    "zh": {
        "directory.top_space_name": "浙江政务通 · 网上值班室",
        "directory.provisioning_start": (
            "正在创建网上值班室的空间和部门房间：共需创建 {total} 个（此前已创建 {existing} 个，"
            "本次从中断处继续）。完成前市民可能还找不到部分部门。"
        ),
        "directory.provisioning_progress": "创建进度：{done}/{total} 个房间，预计还需 {left}。",
        "directory.provisioning_done": "网上值班室创建完成：本次创建 {done} 个房间，用时 {elapsed}。",
        "directory.seconds": "{n} 秒",
        "directory.minutes": "{m} 分 {s} 秒",
        "directory.top_space_topic": (
            "浙江省省级部门和十一个设区市各部门的网上值班室。展开省级部门或所在城市的空间，"
            "找到部门后私信部门账号即可咨询；不确定找哪个部门时，可私信所在城市的12345热线。"
        ),
        "directory.space_topic": (
            "{jurisdiction}各部门的网上值班室。每个部门一个房间：可查看值班时间与咨询方式；"
            "私信部门账号即可向值班人员咨询，非工作时间可以留言。"
        ),
        "directory.status_open": "【值班中】工作人员在线，私信即可咨询（本时段至 {until}）。",
        "directory.status_open_always": "【值班中】全天有人值班，私信即可咨询。",
        "directory.status_unstaffed": "【工作时间，暂无值班人员】可以留言，值班人员到岗后答复。",
        "directory.status_closed": "【休息中】下次开放：{next}。现在可以留言。",
        "directory.status_no_opening": "【休息中】暂无开放安排。现在可以留言。",
        "directory.room_topic": (
            "{status}\n{description}值班时间：{hours}。咨询方式：私信「{name}」（{ghost}），"
            "工作时间由值班人员实时答复，非工作时间可留言，上班后值班人员会主动联系您。"
            "本房间只用于展示信息，不能发言。"
        ),
        "directory.room_topic_always": (
            "{status}\n{description}值班时间：{hours}。咨询方式：私信「{name}」（{ghost}），"
            "值班人员随时实时答复。本房间只用于展示信息，不能发言。"
        ),
        "directory.closed_name": "{name}（已停止服务）",
        "directory.closed_topic": (
            "本部门已不在网上值班室提供咨询。如有需要，请通过政府网站或其他部门的网上值班室联系。"
        ),
        "directory.closed_dm_refused": "该部门已停止网上值班室服务，无法建立对话。",
        "directory.unknown_dm_refused": "该账号不对应任何部门，无法建立对话。",
        "directory.account": "「{name}」（{ghost}）",
        "directory.welcome": (
            "欢迎来到{name}网上值班室。本房间只用于展示信息，不能发言。\n"
            "如何咨询：点击部门账号{account}开始私聊，直接输入您的问题。"
            "值班时间（{hours}）内由值班人员以部门名义实时答复；其他时间可以留言，"
            "上班后值班人员会主动答复您。每次咨询都有编号，方便查询。"
        ),
        "directory.welcome_always": (
            "欢迎来到{name}网上值班室。本房间只用于展示信息，不能发言。\n"
            "如何咨询：点击部门账号{account}开始私聊，直接输入您的问题。"
            "本部门{hours}有人值班，由值班人员以部门名义实时答复。每次咨询都有编号，方便查询。"
        ),
    },
    "en": {
        "directory.top_space_name": "Zhejiang Government Online · Duty Room",
        "directory.provisioning_start": (
            "Creating the duty rooms' spaces and department rooms: {total} to make ({existing} "
            "made before; continuing where it stopped). Until done, citizens may miss some."
        ),
        "directory.provisioning_progress": "Progress: {done}/{total} rooms made, about {left} left.",
        "directory.provisioning_done": "Duty rooms ready: {done} rooms made in {elapsed}.",
        "directory.seconds": "{n} s",
        "directory.minutes": "{m} min {s} s",
        "directory.top_space_topic": (
            "Online duty rooms of the provincial departments and of the 11 cities' departments. "
            "Open the provincial space or your city's, find the department and send its account "
            "a direct message; unsure whom to ask? Write to your city's 12345 hotline."
        ),
        "directory.space_topic": (
            "Online duty rooms of the {jurisdiction} departments. One room per department shows "
            "its hours and how to ask; send the department account a direct message to talk to "
            "the officer on duty, or leave a message outside working hours."
        ),
        "directory.status_open": "[On duty] An officer is online until {until}: send a DM to ask.",
        "directory.status_open_always": "[On duty] Officers are on duty around the clock: send a DM to ask.",
        "directory.status_unstaffed": "[Working hours, nobody on duty] Leave a message; an officer will answer.",
        "directory.status_closed": "[Closed] Opens next: {next}. You can leave a message now.",
        "directory.status_no_opening": "[Closed] No opening scheduled. You can leave a message now.",
        "directory.room_topic": (
            "{status}\n{description}Hours: {hours}. To ask: send a direct message to “{name}” ({ghost}). "
            "During working hours the officer on duty answers; outside them, leave a message and "
            "an officer will contact you when work starts. This room is read-only."
        ),
        "directory.room_topic_always": (
            "{status}\n{description}Hours: {hours}. To ask: send a direct message to “{name}” ({ghost}); "
            "the officer on duty answers at any hour. This room is read-only."
        ),
        "directory.closed_name": "{name} (no longer in service)",
        "directory.closed_topic": (
            "This department no longer answers in the online duty room. Please contact it "
            "through the government website or another department's duty room."
        ),
        "directory.closed_dm_refused": "This department no longer offers online consultation.",
        "directory.unknown_dm_refused": "This account does not belong to any department.",
        "directory.account": "“{name}” ({ghost})",
        "directory.welcome": (
            "Welcome to the online duty room of {name}. This room is read-only.\n"
            "To ask: start a direct chat with the department's account {account} and "
            "type your question. During its hours ({hours}) the officer on duty answers in the "
            "department's name; at other times leave a message and an officer answers when work "
            "starts. Each consultation gets a reference number."
        ),
        "directory.welcome_always": (
            "Welcome to the online duty room of {name}. This room is read-only.\n"
            "To ask: start a direct chat with the department's account {account} and "
            "type your question. An officer is on duty {hours} and answers in the department's "
            "name. Each consultation gets a reference number."
        ),
    },
}
