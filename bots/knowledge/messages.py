MESSAGES = {
    "zh": {
        "kb.citizen_intro": "您的问题也许可以在这里找到答案（自动检索，仅供参考，值班人员仍会处理您的留言）：",
        "kb.citizen_howto": "回复编号（如“1”）即可查看全文。",
        "kb.citizen_entry": "{text}\n\n——以上为{dept}知识库内容，仅供参考；您的留言已记录，值班人员会继续处理。",
        "kb.citizen_opened_note": "〔市民回复编号 {number}，已自动发送知识库条目《{title}》〕",
        "kb.officer_suggest": "知识库中可能相关的条目（发送“!答 编号”把条目作为本部门答复发给市民）：",
        "kb.officer_results": "知识库检索“{query}”的结果（发送“!答 编号”发给市民）：",
        "kb.officer_none": "知识库中没有找到与“{query}”相关的条目。",
        "kb.officer_usage": "用法：“!答 关键词”检索知识库，“!答 编号”把检索结果中的条目发给市民。",
        "kb.officer_bad_number": "编号 {number} 不在最近一次检索结果中，请先用“!答 关键词”检索。",
        "kb.officer_sent": "已把知识库条目《{title}》作为本部门答复发给市民（{alias}）。",
        "kb.officer_gone": "条目已从知识库中删除或修改，请重新检索。",
        "kb.officer_failed": "知识库暂时不可用（已记录错误），请直接回复市民或稍后再试。",
        "kb.refused": "知识库的修改未生效：发现 {count} 处错误，系统继续使用原来的条目。请按以下位置（文件:行:列: 字段: 说明）修改后保存：",
        "kb.refused_start": "知识库启动时发现 {count} 处错误：出错的文件暂未启用，其余条目已生效。请按以下位置（文件:行:列: 字段: 说明）修改后保存：",
        "kb.applied": "知识库已更新：{count} 个条目。",
        "kb.review_due": "知识库复核提醒：本部门有 {count} 个条目已超过复核日期，请核对内容后更新 review_by：\n{lines}",
    },
    "en": {
        "kb.citizen_intro": "Your question may be answered here (found automatically, for reference only; "
                            "the officers will still handle your message):",
        "kb.citizen_howto": "Reply with a number (e.g. \"1\") to read it in full.",
        "kb.citizen_entry": "{text}\n\n— From the knowledge base of {dept}, for reference only; your message "
                            "is recorded and the officers will follow up when they are on duty.",
        "kb.citizen_opened_note": "[the citizen replied {number}; knowledge entry \"{title}\" was sent automatically]",
        "kb.officer_suggest": "Possibly relevant knowledge entries (\"!kb <number>\" sends one to the citizen "
                              "as the department's answer):",
        "kb.officer_results": "Knowledge entries for \"{query}\" (\"!kb <number>\" sends one to the citizen):",
        "kb.officer_none": "No knowledge entry matches \"{query}\".",
        "kb.officer_usage": "Usage: \"!kb <words>\" searches the knowledge base, \"!kb <number>\" sends a result "
                            "to the citizen.",
        "kb.officer_bad_number": "Number {number} is not in the last search; search with \"!kb <words>\" first.",
        "kb.officer_sent": "Knowledge entry \"{title}\" was sent to the citizen as the department's answer ({alias}).",
        "kb.officer_gone": "That entry was removed or changed; please search again.",
        "kb.officer_failed": "The knowledge base is unavailable just now (the error is logged); answer the "
                             "citizen directly or try again later.",
        "kb.refused": "The knowledge-base edit was NOT applied: {count} problem(s); the previous entries stay in "
                      "force. Fix these (file:line:column: field: message) and save:",
        "kb.refused_start": "The knowledge base started with {count} problem(s): the files with problems are left "
                            "out, the other entries are live. Fix these (file:line:column: field: message) and save:",
        "kb.applied": "Knowledge base updated: {count} entries.",
        "kb.review_due": "Knowledge review: {count} of this department's entries are past their review date; "
                         "please check them and update review_by:\n{lines}",
    },
}
