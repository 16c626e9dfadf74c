"""The public site's words, in simplified Chinese (default) and English.

Kept apart from the bots' message tables (bridge/messages.py): those speak one language per
bridge, chosen in the config, while each visitor of the site chooses their own.
"""

from __future__ import annotations

LANGS = ("zh", "en")
HTML_LANG = {"zh": "zh-Hans", "en": "en"}

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "site": "浙江政务通 · 网上值班室",
        "nav.directory": "部门名录",
        "nav.figures": "公开数据",
        "nav.start": "如何开始",
        "nav.switch": "English",
        "nav.skip": "跳到正文",
        "dir.title": "部门名录",
        "dir.lead": "在线咨询各级政府部门：值班时间内值班人员实时答复，其他时间可以留言。",
        "dir.jurisdictions": "行政区划",
        "dir.on_duty_count": "{n}/{total} 个部门在线值班",
        "dept.chat": "立即咨询",
        "dept.room": "部门房间",
        "dept.mailbox": "部门信箱",
        "dept.details": "详情",
        "dept.hours": "值班时间",
        "dept.week": "本周值班安排",
        "dept.figures": "公开数据（{month}）",
        "dept.account": "部门账号",
        "dept.back": "返回部门名录",
        "status.open": "在线值班 · 至 {until}",
        "status.always": "在线值班 · 全天",
        "status.unstaffed": "工作时间 · 暂无值班人员，可留言",
        "status.closed": "下班 · {next} 上班",
        "status.no_opening": "下班 · 暂无值班安排",
        "week.day": "日期",
        "week.hours": "开放时间",
        "week.closed": "休息",
        "week.holiday": "节假日",
        "week.adjusted": "调休上班",
        "week.today": "今天",
        "fig.title": "公开数据",
        "fig.lead": "{month}各部门网上值班室的办理情况。统计口径见页面底部说明。",
        "fig.by_jurisdiction": "按行政区划",
        "fig.by_department": "按部门",
        "fig.all": "全部部门",
        "fig.chart": "各行政区划咨询量（{month}）",
        "fig.csv": "下载 CSV",
        "fig.name": "名称",
        "fig.jurisdiction": "行政区划",
        "fig.cases": "咨询量",
        "fig.claim_on_time_rate": "按时签收率",
        "fig.first_response_median_minutes": "首次响应中位数（分钟）",
        "fig.followup_rate": "留言跟进率",
        "fig.satisfaction_rate": "满意率",
        "fig.none": "暂无数据",
        "fig.sort": "按此列排序",
        "fig.notes": (
            "咨询量：当月新建的咨询。按时签收率：在规定时间内被认领的咨询所占比例。"
            "首次响应中位数：从咨询到首次答复的时间中位数。留言跟进率：非工作时间的留言在规定"
            "工作时间内得到跟进的比例。满意率：评价为 4–5 分的占全部评价的比例。"
            "数据不含任何市民或工作人员的个人信息。"
        ),
        "start.title": "如何开始",
        "start.lead": "网上值班室建在开放的 Matrix 通信网络上。第一次使用？按下面三步即可。",
        "start.step1": "获取账号",
        "start.step1.body": (
            "下载一个 Matrix 客户端，例如 Element（手机应用商店或电脑均可），"
            "选择「创建账号」，按提示注册。已有 Matrix 账号可直接使用。"
        ),
        "start.step2": "找到部门",
        "start.step2.body": (
            "在本页的部门名录中找到要咨询的部门，点击「立即咨询」。链接会在您的客户端中打开"
            "与该部门账号的私聊；也可以在客户端中搜索部门账号（名录中的 @ 开头的地址）。"
        ),
        "start.step3": "发送问题",
        "start.step3.body": (
            "直接输入您的问题。值班时间内值班人员以部门名义实时答复；其他时间可以留言，"
            "上班后值班人员会主动答复。每次咨询都有编号，答复后可以为服务打分。"
        ),
        "start.privacy": (
            "您的账号和对话只有您和该部门值班人员可见；工作人员以值班代号答复，"
            "您的账号名不会显示给其他市民。"
        ),
        "start.room": "「部门房间」是只读的公告房间，展示部门介绍和值班状态，不能发言。",
        "footer.example": "示例数据：部门名称为真实名称，联系方式均为虚构。",
        "footer.api": "数据接口",
        "error.not_found": "找不到这个页面。",
        "error.rate_limited": "请求过于频繁，请稍后再试。",
    },
    "en": {
        "site": "Zhejiang Online Duty Room",
        "nav.directory": "Directory",
        "nav.figures": "Public figures",
        "nav.start": "How to start",
        "nav.switch": "中文",
        "nav.skip": "Skip to content",
        "dir.title": "Directory",
        "dir.lead": ("Ask government departments online: during their hours the officer on duty "
                     "answers at once; at other times you can leave a message."),
        "dir.jurisdictions": "Jurisdictions",
        "dir.on_duty_count": "{n} of {total} departments on duty",
        "dept.chat": "Chat now",
        "dept.room": "Department room",
        "dept.mailbox": "Mailbox",
        "dept.details": "Details",
        "dept.hours": "Hours",
        "dept.week": "This week",
        "dept.figures": "Public figures ({month})",
        "dept.account": "Department account",
        "dept.back": "Back to the directory",
        "status.open": "On duty · until {until}",
        "status.always": "On duty · around the clock",
        "status.unstaffed": "Working hours · nobody on duty, leave a message",
        "status.closed": "Closed · opens {next}",
        "status.no_opening": "Closed · no duty scheduled",
        "week.day": "Day",
        "week.hours": "Open",
        "week.closed": "Closed",
        "week.holiday": "Public holiday",
        "week.adjusted": "Make-up working day (调休)",
        "week.today": "today",
        "fig.title": "Public figures",
        "fig.lead": "How each department's duty room did in {month}. Definitions below.",
        "fig.by_jurisdiction": "By jurisdiction",
        "fig.by_department": "By department",
        "fig.all": "All departments",
        "fig.chart": "Consultations per jurisdiction ({month})",
        "fig.csv": "Download CSV",
        "fig.name": "Name",
        "fig.jurisdiction": "Jurisdiction",
        "fig.cases": "Cases",
        "fig.claim_on_time_rate": "Claimed on time",
        "fig.first_response_median_minutes": "First response, median (min)",
        "fig.followup_rate": "Messages followed up",
        "fig.satisfaction_rate": "Satisfied",
        "fig.none": "no data",
        "fig.sort": "sort by this column",
        "fig.notes": (
            "Cases: consultations opened in the month. Claimed on time: share claimed by an "
            "officer within the set time. First response: median time from the question to the "
            "first answer. Messages followed up: share of out-of-hours messages followed up "
            "within the set working hours. Satisfied: ratings of 4–5 among all ratings. "
            "Nothing about any citizen or officer is included."
        ),
        "start.title": "How to start",
        "start.lead": ("The duty room runs on Matrix, an open messaging network. Never used it? "
                       "Three steps."),
        "start.step1": "Get an account",
        "start.step1.body": (
            "Install a Matrix app such as Element (app stores or desktop), choose “Create "
            "account” and follow the steps. An existing Matrix account works too."
        ),
        "start.step2": "Find the department",
        "start.step2.body": (
            "Find the department in the directory and choose “Chat now”: the link opens a direct "
            "chat with the department's account in your app. You can also search for the "
            "account's address (starting with @) in your app."
        ),
        "start.step3": "Ask your question",
        "start.step3.body": (
            "Type your question. During its hours the officer on duty answers in the "
            "department's name; at other times leave a message and an officer answers when work "
            "starts. Each consultation gets a reference number, and you can rate the answer."
        ),
        "start.privacy": (
            "Only you and the department's officers see your chat; officers answer under a duty "
            "alias, and your account is not shown to other citizens."
        ),
        "start.room": ("The “department room” is a read-only notice room with the department's "
                       "description and status; nobody writes there."),
        "footer.example": "Example data: real department names, invented contacts.",
        "footer.api": "Data API",
        "error.not_found": "This page does not exist.",
        "error.rate_limited": "Too many requests; please try again shortly.",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    table = TEXTS.get(lang, TEXTS["zh"])
    template = table.get(key) or TEXTS["zh"][key]
    return template.format(**values) if values else template
