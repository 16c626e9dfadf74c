MESSAGES = {
    "zh": {
        "admin.room_name": "网上值班室 · 管理员",
        "admin.room_topic": "值班名单（YAML）的校验错误、节假日数据提醒等运行通知。",
        "admin.roster_refused": (
            "值班名单的修改未生效：发现 {count} 处错误，系统继续使用原来的名单。"
            "请按以下位置（文件:行:列: 字段: 说明）修改后保存，系统会自动重新加载："
        ),
        "admin.roster_applied": "新的值班名单已生效：{departments} 个部门，{officers} 名值班人员。",
        "admin.calendar_warning": "节假日数据提醒：{warning}",
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
        "admin.calendar_warning": "Holiday data warning: {warning}",
    },
}
