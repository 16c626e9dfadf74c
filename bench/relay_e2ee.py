"""10. The relay in encrypted rooms, as ratios to the same relay unencrypted (issue 17).

One bridge process with encryption on and two departments side by side: fgw with an encrypted
DM and an encrypted officers' room, gat with a plain DM and a plain officers' room. Both are
driven by the same kind of client, matrix-nio with its own encryption (it simply does not
encrypt in a plain room). The two are measured in alternating blocks, so a change in the
machine's load (other work on shared cores) affects both alike; the ratio isolates what
encryption costs: latency from a send to the far side's sync holding the decrypted message, and
the bridge process's CPU per relayed event (measured per block).
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.stack import NO_RATE_LIMIT, PREFIX, Stack
from bench.stats import cpu_s, summary_ms
from tests.kit.bridge import BridgeProcess, write_config
from tests.kit.duty import ALWAYS_OPEN, roster_officers
from tests.kit.e2ee import EncryptingUser, EncryptingUserFactory

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROSTER = ROOT / "tests" / "data" / "rosters" / "small"
WARMUP = 3
BLOCK = 10
WAYS = ("citizen_to_officers", "officer_to_citizen")


def _body(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


async def _seen(user: EncryptingUser, room: str, marker: str, sender: str, deadline: float) -> None:
    def found() -> bool:
        return any(marker in _body(e) and e.get("sender") == sender
                   for e in user.events.get(room, []))
    while not found():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker} never reached {user.user_id}")
        await user.sync(1000)


@dataclass
class Pair:
    """A citizen's DM with a department and the case's thread in its officers' room."""

    citizen: EncryptingUser
    officer: EncryptingUser
    dm: str
    room: str
    root: str
    bot: str
    ghost: str
    times: dict[str, list[float]] = field(default_factory=lambda: {w: [] for w in WAYS})
    cpu: dict[str, float] = field(default_factory=lambda: {w: 0.0 for w in WAYS})

    async def step(self, way: str, marker: str, deadline: float) -> None:
        if way == "citizen_to_officers":
            await self.citizen.send_text(self.dm, marker)
            await _seen(self.officer, self.room, marker, self.bot, deadline)
            return
        resp = await self.officer.client.room_send(self.room, "m.room.message", {
            "msgtype": "m.text", "body": marker,
            "m.relates_to": {"rel_type": "m.thread", "event_id": self.root,
                             "is_falling_back": True, "m.in_reply_to": {"event_id": self.root}}})
        assert hasattr(resp, "event_id"), resp
        await _seen(self.citizen, self.dm, marker, self.ghost, deadline)


async def _encrypt_room(stack: Stack, room: str, bot: str) -> None:
    """Turns encryption on in an officers' room, as its creator (the bridge bot) may."""
    url = (f"{stack.url}/_matrix/client/v3/rooms/{quote(room)}/state/m.room.encryption/"
           f"?user_id={quote(bot)}")
    async with aiohttp.ClientSession() as session, session.put(
        url, json={"algorithm": "m.megolm.v1.aes-sha2"},
        headers={"Authorization": f"Bearer {stack.as_token}"},
    ) as resp:
        assert resp.status == 200, await resp.text()


async def _open(stack: Stack, users: EncryptingUserFactory, officer: EncryptingUser,
                prefix: str, dept: str, encrypted: bool, tag: str, deadline: float) -> Pair:
    bot, ghost = f"@dutyroom_bot:{stack.domain}", f"@{prefix}{dept}:{stack.domain}"
    room = ""
    while not room:
        try:
            room = await officer.join(f"#{prefix}officers_{dept}:{stack.domain}")
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    if encrypted:
        await _encrypt_room(stack, room, bot)
    await officer.sync(0)
    citizen = await users(f"bmcitizen{dept}")
    dm = await (citizen.create_encrypted_dm(ghost) if encrypted else citizen.create_dm(ghost))
    await _seen(citizen, dm, "网上值班室", ghost, deadline)
    await citizen.send_text(dm, f"bm-{tag}-{dept}-open")
    await _seen(officer, room, f"bm-{tag}-{dept}-open", bot, deadline)
    root = next(e["event_id"] for e in officer.events[room] if _body(e).startswith("新咨询"))
    return Pair(citizen, officer, dm, room, root, bot, ghost)


async def run_relay_e2ee(stack: Stack, workdir: Path, *, messages: int, spacing_s: float,
                         timeout: float = 600) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    prefix = f"{PREFIX}be{tag}_"
    roster = workdir / "roster"
    await asyncio.to_thread(shutil.copytree, SMALL_ROSTER, roster, dirs_exist_ok=True)
    (roster / "hours.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    users = EncryptingUserFactory(stack, workdir / "stores")
    try:
        enc_officer, plain_officer = await users("bmofficer"), await users("bmofficer")
        (roster / "officers.yaml").write_text(roster_officers({
            "e": (enc_officer.user_id, "值班员 01", "fgw"),
            "p": (plain_officer.user_id, "值班员 02", "gat")}), encoding="utf-8")
        settings = stack.bridge_settings(
            f"sqlite:{workdir}/bridge.db", prefix, [str(roster / "*.yaml")],
            extra={"encryption.enabled": True, "consultation.encrypt_officers_rooms": False,
                   **NO_RATE_LIMIT},
        )
        bridge = BridgeProcess(write_config(workdir / "config.yaml", settings), stack.port)
        await bridge.astart(180)
        try:
            assert bridge.proc is not None
            pid = bridge.proc.pid
            deadline = time.monotonic() + timeout
            pairs = {
                "encrypted": await _open(stack, users, enc_officer, prefix, "fgw", True, tag,
                                         deadline),
                "plain": await _open(stack, users, plain_officer, prefix, "gat", False, tag,
                                     deadline),
            }
            for way in WAYS:
                for mode, pair in pairs.items():
                    for i in range(WARMUP):
                        await pair.step(way, f"bm-{tag}-{mode[0]}{way[0]}w{i}", deadline)
                sent = 0
                while sent < messages:
                    block = min(BLOCK, messages - sent)
                    for mode, pair in pairs.items():  # alternating blocks: the same load
                        cpu0 = cpu_s(pid)
                        for i in range(sent, sent + block):
                            start = time.perf_counter()
                            await pair.step(way, f"bm-{tag}-{mode[0]}{way[0]}{i}", deadline)
                            pair.times[way].append(time.perf_counter() - start)
                            await asyncio.sleep(spacing_s)
                        pair.cpu[way] += cpu_s(pid) - cpu0
                    sent += block
        finally:
            await asyncio.to_thread(bridge.stop)
    finally:
        await users.close()
    out: dict[str, Any] = {"messages": messages, "spacing_ms": spacing_s * 1000,
                           "warmup": WARMUP, "block": BLOCK}
    for mode, pair in pairs.items():
        out[mode] = {way: {**summary_ms(pair.times[way]),
                           "bridge_cpu_ms_per_event": round(pair.cpu[way] * 1000 / messages, 2)}
                     for way in WAYS}
    ratios: dict[str, float] = {}
    for way in WAYS:
        plain, enc = out["plain"][way], out["encrypted"][way]
        ratios[f"{way}_p50"] = round(enc["p50_ms"] / plain["p50_ms"], 2)
        ratios[f"{way}_cpu"] = round(enc["bridge_cpu_ms_per_event"]
                                     / max(plain["bridge_cpu_ms_per_event"], 0.01), 2)
    out["ratios"] = ratios
    return out
