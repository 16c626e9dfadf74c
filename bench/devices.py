"""13. A device per department (bridge/crypto/ghosts.py): making and keeping N encryption
devices, against the homeserver's own cost of the same work.

Cold: a bridge that provisioned N departments with department devices off restarts with them on,
and its start makes N devices. Each is five requests: PUT /devices (MSC4190), GET /devices (stale
ones deleted), keys/upload (device keys and 50 one-time keys), keys/device_signing/upload (the
account's cross-signing keys) and keys/signatures/upload (the device signed). Timed around
Encryption.ensure_department_devices. The floor, right after: a plain appservice client making
the same five requests for N other users of the namespace, with payloads made beforehand by the
same Olm code, eight at a time as the bridge. Warm: a restart with the N devices made, against
the same restart with devices off: its time, and the memory of the bridge run as a process of
its own.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.crypto.account import OlmAccount
from mautrix.crypto.cross_signing_key import CrossSigningSeeds
from mautrix.crypto.signature import sign_olm
from mautrix.types import CrossSigningKeys, CrossSigningUsage, KeyID

from bench.provisioning import vm_rss_mb, write_roster
from bench.stack import PREFIX, Stack
from bridge.crypto.manager import Encryption
from bridge.parallel import DEFAULT_CONCURRENCY
from tests.kit.bridge import BridgeProcess, InProcessBridge, write_config
from tests.kit.requests import count_requests

KINDS = ("PUT /_matrix/client/v3/devices/", "GET /_matrix/client/v3/devices",
         "POST /_matrix/client/v3/keys/upload", "POST /_matrix/client/v3/keys/device_signing",
         "POST /_matrix/client/v3/keys/signatures")


async def _start(config: Path, stack: Stack) -> tuple[InProcessBridge, dict[str, Any]]:
    timing: dict[str, Any] = {}
    original = Encryption.ensure_department_devices

    async def timed(self: Encryption, mxids: list[str]) -> int:
        started = time.perf_counter()
        made = await original(self, mxids)
        timing.update(seconds=time.perf_counter() - started, made=made)
        return made

    bridge = InProcessBridge(config)
    Encryption.ensure_department_devices = timed  # type: ignore[method-assign]
    try:
        with count_requests(stack.url) as (counts, _):
            started = time.perf_counter()
            runtime = await bridge.start()
            await runtime.idle()
            ready = time.perf_counter() - started
    finally:
        Encryption.ensure_department_devices = original  # type: ignore[method-assign]
    device_requests = sum(n for kind, n in counts.items() if kind.startswith(KINDS))
    return bridge, {"ready_s": round(ready, 2), "devices_s": round(timing.get("seconds", 0), 2),
                    "made": timing.get("made", 0), "device_requests": device_requests}


def _payloads(user: str, device: str) -> list[tuple[str, str, Any]]:
    """The five requests for one device, as the bridge makes them (mautrix's Olm code)."""
    account = OlmAccount()
    keys = account.get_device_keys(user, device)
    otks = account.get_one_time_keys(user, device, 0)
    seeds = CrossSigningSeeds.generate()
    private, public = seeds.to_keys(), seeds.to_keys().public_keys
    signed: dict[str, Any] = {}
    for usage, key, signer in ((CrossSigningUsage.MASTER, public.master_key, account),
                               (CrossSigningUsage.SELF, public.self_signing_key, private.master_key),
                               (CrossSigningUsage.USER, public.user_signing_key, private.master_key)):
        body = CrossSigningKeys(user_id=user, usage=[usage], keys={KeyID.ed25519(key): key})
        signer_id = device if signer is account else public.master_key
        body.signatures = {user: {KeyID.ed25519(signer_id): sign_olm(body, signer)}}
        signed[f"{usage.value}_key"] = body.serialize()
    device_signed = account.get_device_keys(user, device)
    ssk = private.self_signing_key
    device_signed.signatures = {user: {KeyID.ed25519(ssk.public_key): sign_olm(device_signed, ssk)}}
    return [
        ("PUT", f"/_matrix/client/v3/devices/{device}", {"display_name": "网上值班室"}),
        ("GET", "/_matrix/client/v3/devices", None),
        ("POST", "/_matrix/client/v3/keys/upload", {"device_keys": keys.serialize(),
                                                     "one_time_keys": otks}),
        ("POST", "/_matrix/client/v3/keys/device_signing/upload", signed),
        ("POST", "/_matrix/client/v3/keys/signatures/upload",
         {user: {device: device_signed.serialize()}}),
    ]


async def floor_devices(stack: Stack, count: int) -> dict[str, Any]:
    """Seconds for `count` devices made by a plain appservice client (users registered and
    payloads made before the clock starts)."""
    tag = uuid.uuid4().hex[:6]
    users = [f"@{PREFIX}devfloor{tag}_{n}:{stack.domain}" for n in range(count)]
    headers = {"Authorization": f"Bearer {stack.as_token}"}
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    requests = 0
    async with aiohttp.ClientSession(headers=headers) as http:
        async def call(method: str, path: str, body: Any, user: str, device: str | None) -> None:
            nonlocal requests
            params = {"user_id": user}
            if device:  # (as mautrix sends it: the unstable name and the stable one)
                params["org.matrix.msc3202.device_id"] = params["device_id"] = device
            async with http.request(method, stack.url + path, json=body, params=params) as resp:
                requests += 1
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {await resp.text()}")

        async def register(user: str) -> None:
            async with semaphore, http.post(f"{stack.url}/_matrix/client/v3/register", json={
                    "type": "m.login.application_service",
                    "username": user[1:].split(":")[0], "inhibit_login": True}) as resp:
                assert resp.status == 200, await resp.text()

        await asyncio.gather(*(register(u) for u in users))
        work = []
        for user in users:
            device = secrets.token_urlsafe(10)
            work.append((user, device, await asyncio.to_thread(_payloads, user, device)))

        async def one(user: str, device: str, steps: list[tuple[str, str, Any]]) -> None:
            async with semaphore:
                for i, (method, path, body) in enumerate(steps):
                    await call(method, path, body, user, None if i == 0 else device)

        started = time.perf_counter()
        await asyncio.gather(*(one(*w) for w in work))
        return {"seconds": round(time.perf_counter() - started, 2), "requests": requests}


async def run_devices(stack: Stack, workdir: Path, departments: int) -> dict[str, Any]:
    write_roster(workdir / "roster", 12, departments)
    roster = [str(workdir / "roster" / "*.yaml")]
    tag = uuid.uuid4().hex[:4]

    def config(devices: bool) -> Path:
        settings = stack.bridge_settings(f"sqlite:{workdir}/bridge.db", f"{PREFIX}dv{tag}_",
                                         roster, extra={"encryption.department_devices": devices})
        return write_config(workdir / f"config-{devices}.yaml", settings)

    bridge, _ = await _start(config(False), stack)  # the rooms and accounts, not measured
    await bridge.stop()
    bridge, without = await _start(config(False), stack)  # warm, no devices: the baseline
    await bridge.stop()
    bridge, cold = await _start(config(True), stack)
    await bridge.stop()
    floor = await floor_devices(stack, cold["made"])
    bridge, warm = await _start(config(True), stack)
    await bridge.stop()
    return {
        "departments": departments, "cold": cold, "floor": floor, "warm": warm,
        "warm_without_devices": without,
        "cold_x": round(cold["devices_s"] / floor["seconds"], 2) if floor["seconds"] else None,
        "rss_mb": await _process_rss(config(True), stack),
        "rss_mb_without_devices": await _process_rss(config(False), stack),
    }


async def _process_rss(config: Path, stack: Stack) -> float:
    """The bridge as a process of its own, warm, a few seconds after it answers: its VmRSS."""
    process = BridgeProcess(config, stack.port)
    await process.astart(180)
    try:
        await asyncio.sleep(5)
        assert process.proc is not None
        return vm_rss_mb(process.proc.pid)
    finally:
        await asyncio.to_thread(process.stop)


def devices_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    d = results.get("devices")
    if not d:
        return []
    cold, floor, warm, base = d["cold"], d["floor"], d["warm"], d["warm_without_devices"]
    return [
        (f"department devices, cold ({cold['made']} made)",
         f"{cold['devices_s']} s, {cold['device_requests']} requests; the same work by a plain "
         f"client {floor['seconds']} s, {floor['requests']} requests = {d['cold_x']}×"),
        (f"  warm restart with {d['departments']} devices / without",
         f"{warm['ready_s']} / {base['ready_s']} s, {warm['made']} made; the bridge process's "
         f"memory {d['rss_mb']} / {d['rss_mb_without_devices']} MB"),
    ]
