MESSAGES = {
    "zh": {
        "officers.room_name": "{name} · 值班工作室",
        "officers.room_topic": (
            "{name}网上值班室的工作人员房间（仅限值班名单中的人员）。每位市民的咨询在这里是一个话题"
            "（thread），在话题内回复即以部门名义答复市民，市民看不到您的个人账号。"
        ),
        "officers.removed_reason": "已不在本部门的值班名单中",
    },
    "en": {
        "officers.room_name": "{name} · officers",
        "officers.room_topic": (
            "Officers' room of the {name} online duty room (roster members only). Each citizen's "
            "consultation is a thread here; replying in the thread answers the citizen in the "
            "department's name — the citizen never sees your personal account."
        ),
        "officers.removed_reason": "No longer on this department's duty roster",
    },
}
