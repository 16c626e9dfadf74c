MESSAGES = {
    "zh": {
        "presence.on_duty": "值班中 · 至 {until}",
        "presence.on_duty_always": "值班中 · 全天",
        "presence.unstaffed": "工作时间 · 暂无值班人员，可留言",
        "presence.closed": "下班 · {next} 上班",
        "presence.no_opening": "下班 · 暂无值班安排",
        "presence.dm_topic": "{name}网上值班室 · {status}",
        "presence.dm_topic_hours": "{name}网上值班室 · {hours}",
    },
    "en": {
        "presence.on_duty": "On duty · until {until}",
        "presence.on_duty_always": "On duty · around the clock",
        "presence.unstaffed": "Working hours · nobody on duty, leave a message",
        "presence.closed": "Closed · opens {next}",
        "presence.no_opening": "Closed · no duty scheduled",
        "presence.dm_topic": "Online duty room of {name} · {status}",
        "presence.dm_topic_hours": "Online duty room of {name} · {hours}",
    },
}
