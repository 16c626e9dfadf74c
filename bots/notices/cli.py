"""`python -m bridge notice send FILE` (and `dutyroom notice …`): a notice from a Markdown file
with a YAML header, handed to the running bridge through its database.

    ---
    kind: 会议通知            # or 工作通知
    title: 关于召开全省安全生产工作会议的通知
    sender: "@admin:example.org"   # who sends it (their rights apply; the tally goes to them)
    recipients: all          # all / a jurisdiction / a category (组成部门@zj) / [fgw, gat]
    deadline: 2 个工作日      # or 4h, or "2026-12-03 17:00"
    meeting: {time: "12月3日 14:30", place: "省政府第一会议室", attendance: "分管负责同志 1 名"}
    attachments: [agenda.pdf]   # paths relative to the file
    email: false
    ---
    正文（Markdown）

The CLI checks the file and stores it as a request (table notice_request); the running bridge
takes it within `notices.check_interval` seconds, checks the sender's rights and the recipients
against the roster in force, and delivers it like a notice from the dialogue. `--wait` waits for
that and prints the notice's number or why it was refused; `notice status ID` asks later.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import mimetypes
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mautrix.util.async_db import Database
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bridge.tool_cli import run_tool

from .db import MEETING, WORK, NoticeTables
from .scope import RecipientError, resolve, sender_scope
from .upgrade import upgrade_table
from .worktime import parse_deadline

if TYPE_CHECKING:
    from .bot import NoticesBot

KINDS = {"会议通知": MEETING, "meeting": MEETING, "工作通知": WORK, "work": WORK}
MAX_ATTACHMENT = 20 * 1024 * 1024


def parse_file(path: Path) -> dict[str, Any]:
    """The request payload, or ValueError saying what is wrong (file:line where known)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ValueError(f"{path}: must begin with a YAML header between two '---' lines")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ValueError(f"{path}: the YAML header is not closed by a '---' line")
    try:
        header = YAML(typ="safe").load(parts[0].removeprefix("---")) or {}
    except YAMLError as e:
        raise ValueError(f"{path}: the YAML header does not parse: {e}") from e
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the YAML header must be a mapping")
    body = parts[1].split("\n", 1)[1].strip() if "\n" in parts[1] else ""
    problems = []
    for key in ("kind", "title", "sender", "recipients", "deadline"):
        if not header.get(key):
            problems.append(f"'{key}' is missing")
    if header.get("kind") and str(header["kind"]) not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if not body:
        problems.append("the body (Markdown after the header) is empty")
    unknown = set(header) - {"kind", "title", "sender", "recipients", "deadline", "meeting",
                             "attachments", "email"}
    if unknown:
        problems.append("unknown keys: " + ", ".join(sorted(unknown)))
    attachments = []
    for name in header.get("attachments") or []:
        file = (path.parent / str(name)).resolve()
        if not file.is_file():
            problems.append(f"attachment {name} not found")
            continue
        data = file.read_bytes()
        if len(data) > MAX_ATTACHMENT:
            problems.append(f"attachment {name} is larger than {MAX_ATTACHMENT} bytes")
            continue
        attachments.append({"name": file.name, "data": base64.b64encode(data).decode(),
                            "mimetype": mimetypes.guess_type(file.name)[0] or "application/octet-stream"})
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    recipients = header["recipients"]
    if isinstance(recipients, list):
        recipients = " ".join(str(r) for r in recipients)
    return {"kind": KINDS[str(header["kind"])], "title": str(header["title"]),
            "sender": str(header["sender"]), "recipients": str(recipients),
            "deadline": str(header["deadline"]), "meeting": dict(header.get("meeting") or {}),
            "email": bool(header.get("email")), "body": body, "attachments": attachments,
            "file": str(path)}


def notice_from_request(bot: NoticesBot, payload: dict[str, Any]) -> dict[str, Any]:
    """What the bridge makes of a stored request (in the running bridge, with the roster in
    force); ValueError with the reason it is refused."""
    ctx, sender = bot.ctx, str(payload.get("sender", ""))
    scope = sender_scope(ctx.config, ctx.roster, sender)
    if not scope:
        raise ValueError(f"{sender} may not send notices (admins, notices.senders, "
                         "notices.sender_departments)")
    try:
        recipients = resolve(ctx.roster, str(payload["recipients"]), scope)
    except RecipientError as e:
        raise ValueError(bot.composer.recipient_error(e)) from e
    try:
        deadline = parse_deadline(ctx.roster, str(payload["deadline"]), bot.now(), bot.office, recipients)
    except ValueError as e:
        raise ValueError(ctx.messages("notices.bad_deadline")) from e
    return {**payload, "recipients": recipients, "deadline": int(deadline.timestamp() * 1000)}


async def upload_attachments(bot: NoticesBot, payload: dict[str, Any]) -> None:
    """Files from the request uploaded as the notices account (before the notice is made)."""
    uploaded = []
    intent = bot.ctx.intent(bot.mxid)
    for att in payload.get("attachments") or []:
        data = base64.b64decode(att["data"])
        url = await intent.upload_media(data, mime_type=att["mimetype"], filename=att["name"])
        uploaded.append({"name": att["name"], "url": str(url), "mimetype": att["mimetype"],
                         "size": len(data)})
    payload["uploaded"] = uploaded


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dutyroom notice", description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", default="config.yaml", help="the bridge's config")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="hand a notice file to the running bridge")
    send.add_argument("file", type=Path)
    send.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                      help="wait this long for the bridge to take it and print the outcome")
    status = sub.add_parser("status", help="what became of a request")
    status.add_argument("id", type=int)
    return parser


async def _run(args: argparse.Namespace) -> int:
    from bridge.config import Config

    config = Config(Path(args.config))
    config.load()
    payload: dict[str, Any] = {}
    if args.command == "send":  # checked before the database is opened
        try:
            payload = parse_file(args.file)
        except (OSError, ValueError) as e:
            print(e, file=sys.stderr)
            return 2
    db = Database.create(config["appservice.database"], upgrade_table=upgrade_table)
    await db.start()
    try:
        tables = NoticeTables(db)
        if args.command == "send":
            request_id = await tables.add_request(payload)
            print(f"Request {request_id} stored; the running bridge delivers it within "
                  f"notices.check_interval seconds.")
            deadline = time.monotonic() + args.wait
            while args.wait and time.monotonic() < deadline:
                found = await tables.request(request_id)
                if found and found[0] != "pending":
                    print(f"{found[0]}: {found[1]}")
                    return 0 if found[0] == "sent" else 1
                await asyncio.sleep(0.5)
            return 0
        found = await tables.request(args.id)
        if found is None:
            print(f"No request {args.id}.", file=sys.stderr)
            return 1
        print(f"{found[0]}: {found[1] or ''}")
        return 0 if found[0] != "refused" else 1
    finally:
        await db.stop()


def main(argv: Sequence[str]) -> int:
    return run_tool(_parser(), _run, argv)
