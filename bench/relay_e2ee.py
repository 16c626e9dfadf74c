"""9. The relay in encrypted rooms, as ratios to the same relay unencrypted (issue 17).

Two fresh bridges, one after the other, each run as its own process: the first with encryption
off (a plain DM, a plain officers' room), the second with it on (an encrypted DM, an encrypted
officers' room). Both are driven by the same kind of client, matrix-nio with its own encryption
(it simply does not encrypt in a plain room), so the ratio isolates what encryption costs the
bridge and the round trip: latency from a send to the far side's sync holding the decrypted
message, and the bridge process's CPU per relayed event.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from bench.stack import PREFIX, Stack
from bench.stats import cpu_s, summary_ms
from tests.kit.bridge import BridgeProcess, write_config
from tests.kit.duty import ALWAYS_OPEN, roster_officers
from tests.kit.e2ee import EncryptingUser, EncryptingUserFactory

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROSTER = ROOT / "tests" / "data" / "rosters" / "small"
WARMUP = 3


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


async def _one_mode(stack: Stack, workdir: Path, *, encrypted: bool, messages: int,
                    spacing_s: float, timeout: float) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    prefix = f"{PREFIX}b{'e' if encrypted else 'p'}{tag}_"
    roster = workdir / "roster"
    await asyncio.to_thread(shutil.copytree, SMALL_ROSTER, roster, dirs_exist_ok=True)
    (roster / "hours.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    users = EncryptingUserFactory(stack, workdir / "stores")
    try:
        officer, citizen = await users("bmofficer"), await users("bmcitizen")
        (roster / "officers.yaml").write_text(roster_officers(
            {"o": (officer.user_id, "值班员 01", "fgw")}), encoding="utf-8")
        settings = stack.bridge_settings(
            f"sqlite:{workdir}/bridge.db", prefix, [str(roster / "*.yaml")],
            extra={"encryption.enabled": encrypted,
                   "consultation.encrypt_officers_rooms": encrypted},
        )
        bridge = BridgeProcess(write_config(workdir / "config.yaml", settings), stack.port)
        await bridge.astart(180)
        try:
            assert bridge.proc is not None
            pid = bridge.proc.pid
            deadline = time.monotonic() + timeout
            bot, ghost = f"@dutyroom_bot:{stack.domain}", f"@{prefix}fgw:{stack.domain}"
            room = ""
            while not room:
                try:
                    room = await officer.join(f"#{prefix}officers_fgw:{stack.domain}")
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.5)
            await officer.sync(0)
            dm = await (citizen.create_encrypted_dm(ghost) if encrypted
                        else citizen.create_dm(ghost))
            await _seen(citizen, dm, "网上值班室", ghost, deadline)
            await citizen.send_text(dm, f"bm-{tag}-open")
            await _seen(officer, room, f"bm-{tag}-open", bot, deadline)
            root = next(e["event_id"] for e in officer.events[room]
                        if _body(e).startswith("新咨询"))

            async def citizen_to_officers(marker: str) -> None:
                await citizen.send_text(dm, marker)
                await _seen(officer, room, marker, bot, deadline)

            async def officer_to_citizen(marker: str) -> None:
                resp = await officer.client.room_send(room, "m.room.message", {
                    "msgtype": "m.text", "body": marker,
                    "m.relates_to": {"rel_type": "m.thread", "event_id": root,
                                     "is_falling_back": True,
                                     "m.in_reply_to": {"event_id": root}}})
                assert hasattr(resp, "event_id"), resp
                await _seen(citizen, dm, marker, ghost, deadline)

            out: dict[str, Any] = {}
            for name, step in (("citizen_to_officers", citizen_to_officers),
                               ("officer_to_citizen", officer_to_citizen)):
                for i in range(WARMUP):
                    await step(f"bm-{tag}-{name[0]}w{i}")
                times: list[float] = []
                cpu0 = cpu_s(pid)
                for i in range(messages):
                    start = time.perf_counter()
                    await step(f"bm-{tag}-{name[0]}{i}")
                    times.append(time.perf_counter() - start)
                    await asyncio.sleep(spacing_s)
                cpu = cpu_s(pid) - cpu0
                out[name] = {**summary_ms(times),
                             "bridge_cpu_ms_per_event": round(cpu * 1000 / messages, 2)}
            return out
        finally:
            await asyncio.to_thread(bridge.stop)
    finally:
        await users.close()


async def run_relay_e2ee(stack: Stack, workdir: Path, *, messages: int, spacing_s: float,
                         timeout: float = 300) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": messages, "spacing_ms": spacing_s * 1000,
                           "warmup": WARMUP}
    for mode in ("plain", "encrypted"):
        out[mode] = await _one_mode(stack, workdir / mode, encrypted=mode == "encrypted",
                                    messages=messages, spacing_s=spacing_s, timeout=timeout)
    ratios: dict[str, float] = {}
    for way in ("citizen_to_officers", "officer_to_citizen"):
        plain, enc = out["plain"][way], out["encrypted"][way]
        ratios[f"{way}_p50"] = round(enc["p50_ms"] / plain["p50_ms"], 2)
        ratios[f"{way}_cpu"] = round(enc["bridge_cpu_ms_per_event"]
                                     / max(plain["bridge_cpu_ms_per_event"], 0.01), 2)
    out["ratios"] = ratios
    return out
