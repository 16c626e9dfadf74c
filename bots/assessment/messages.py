MESSAGES = {
    "zh": {
        "assess.title": "考核 {period}（{scope}）",
        "assess.weekly_title": "周通报 {period}（{scope}）",
        "assess.monthly_title": "月度考核报告 {period}（{scope}）",
        "assess.totals": ("合计：咨询 {cases} 件（留言 {leave}），按时签收率 {claim}，首次响应中位 {median} "
                          "工作分钟，留言跟进率 {followup}，办结率 {close}，满意率 {satisfaction}；"
                          "来信 {letters} 件，逾期 {overdue} 件。"),
        "assess.change": "较上期：咨询 {cases}，按时签收率 {claim}，满意率 {satisfaction}。",
        "assess.top": "前列：",
        "assess.bottom": "末位：",
        "assess.flagged": "预警：",
        "assess.by_jurisdiction": "分地区：",
        "assess.hot": "热点：{topics}",
        "assess.no_hot": "热点：本期无足够咨询。",
        "assess.bad_period": "{error}。用法：!考核 [时段] [地区或部门编号]，时段如 {forms}。",
        "assess.bad_scope": "没有编号为 {scope} 的地区或部门。用法：!考核 [时段] [地区或部门编号]。",
        "assess.not_yours": "{scope} 不属于{own}，本管理室只能查看{own}的考核数据。",
        "assess.failed": "考核报告生成失败：{error}。请稍后再试，或联系运维查看日志。",
        "assess.attachments": "完整表格见附件（xlsx、csv）。",
    },
    "en": {
        "assess.title": "Assessment {period} ({scope})",
        "assess.weekly_title": "Weekly bulletin {period} ({scope})",
        "assess.monthly_title": "Monthly report {period} ({scope})",
        "assess.totals": ("Totals: {cases} consultations ({leave} leave-messages), claimed on time {claim}, "
                          "first response median {median} working minutes, follow-up {followup}, "
                          "closed {close}, satisfaction {satisfaction}; {letters} letters, {overdue} overdue."),
        "assess.change": "Change: consultations {cases}, claimed on time {claim}, satisfaction {satisfaction}.",
        "assess.top": "Best: ",
        "assess.bottom": "Last: ",
        "assess.flagged": "Flagged: ",
        "assess.by_jurisdiction": "By jurisdiction: ",
        "assess.hot": "Hot topics: {topics}",
        "assess.no_hot": "Hot topics: not enough consultations this period.",
        "assess.bad_period": "{error}. Usage: !考核 [period] [jurisdiction or department id], periods like {forms}.",
        "assess.bad_scope": "No jurisdiction or department {scope}. Usage: !考核 [period] [id].",
        "assess.not_yours": "{scope} is not part of {own}; this administrators' room sees {own}'s figures only.",
        "assess.failed": "The assessment report failed: {error}. Please try again later or ask operations.",
        "assess.attachments": "The full table is attached (xlsx, csv).",
    },
}
