"""The demo's knowledge-base step (issue #21): a citizen asks 省人力社保厅 a question and the
demo prints the department's reply. Out of working hours (and when nobody is on duty) that
reply lists up to three matching entries of the example knowledge base; in working hours the
case goes to the officers, whose thread root lists the same suggestions, and the demo prints
what the out-of-hours reply would add (the same search, `python -m bridge kb search`)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from devstack.synapse import Synapse

DEPARTMENT = "rlsbt"
QUESTION = "被公司辞退了，失业金怎么领？"
ROOT = Path(__file__).resolve().parent.parent


def _messages(synapse: Synapse, token: str, room: str) -> list[dict[str, Any]]:
    path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?dir=b&limit=30"
    return list(synapse.request("GET", path, access_token=token).get("chunk", []))


def _wait_for(synapse: Synapse, token: str, room: str, sender: str, text: str,
              timeout: float = 60) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _messages(synapse, token, room):
            body = str(event.get("content", {}).get("body", ""))
            if event.get("sender") == sender and text in body:
                return body
        time.sleep(0.5)
    return None


def _say(synapse: Synapse, token: str, room: str, text: str) -> None:
    synapse.request("PUT", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/"
                           f"m.room.message/demo-kb-{time.time_ns()}",
                    {"msgtype": "m.text", "body": text}, access_token=token)


def show_knowledge(synapse: Synapse, prefix: str, citizen: tuple[str, str], domain: str) -> bool:
    ghost = f"@{prefix}{DEPARTMENT}:{domain}"
    _, token = synapse.login(*citizen)
    try:
        room = synapse.request("POST", "/_matrix/client/v3/createRoom", {
            "invite": [ghost], "is_direct": True, "preset": "trusted_private_chat"},
            access_token=token)["room_id"]
        if _wait_for(synapse, token, room, ghost, "网上值班室") is None:
            print("知识库演示 / Knowledge demo: no greeting from the department", flush=True)
            return False
        _say(synapse, token, room, QUESTION)
        # The reply names the new case's reference, e.g. RLSBT-20261201-0001 (the greeting
        # mentions 编号 too, so that word would not do).
        reply = _wait_for(synapse, token, room, ghost, f"{DEPARTMENT.upper()}-")
        opened = None
        if reply is not None and "您的问题也许可以在这里找到答案" in reply:
            _say(synapse, token, room, "1")  # the citizen opens the first suggestion
            opened = _wait_for(synapse, token, room, ghost, "知识库内容")
    finally:
        synapse.request("POST", "/_matrix/client/v3/logout", {}, access_token=token)
    if reply is None:
        print("知识库演示 / Knowledge demo: no reply to the question", flush=True)
        return False
    print(f"\n知识库演示 / Knowledge demo — 市民问 {DEPARTMENT}: {QUESTION}\n部门答复 / reply:\n{reply}",
          flush=True)
    if opened is not None:
        print(f"市民回复 “1” / the citizen replies \"1\":\n{opened}", flush=True)
    if "您的问题也许可以在这里找到答案" not in reply:
        search = subprocess.run(
            [sys.executable, "-m", "bridge", "kb", "search", QUESTION, "--dept", DEPARTMENT, "-n", "3"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
        print("（现在是工作时间：值班人员在话题首条看到下列建议；非工作时间的自动回复会列出同样的条目 / "
              "in working hours the officers' thread root lists these; out of hours the "
              f"auto-reply lists them)\n{search.stdout}", flush=True)
    return True
