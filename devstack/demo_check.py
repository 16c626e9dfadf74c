"""The demo's `--once` checks (devstack/demo.py): what a citizen and a visitor of the public web
site would find, asked the way they would ask (the space hierarchy, the web API)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from devstack.synapse import Synapse


def space_children(synapse: Synapse, token: str, space_id: str) -> list[dict[str, Any]]:
    rooms: list[dict[str, Any]] = []
    base = f"/_matrix/client/v1/rooms/{urllib.parse.quote(space_id)}/hierarchy?limit=100"
    path = base
    while True:
        page = synapse.request("GET", path, access_token=token)
        rooms += page.get("rooms", [])
        batch = page.get("next_batch")
        if not batch:
            return [r for r in rooms if r.get("room_id") != space_id]
        path = f"{base}&from={urllib.parse.quote(str(batch))}"


def verify(synapse: Synapse, citizen: tuple[str, str], alias: str, expected: int) -> bool:
    """What a citizen in Element would see: the top space and, below it, every department room
    of the province and the cities."""
    _, token = synapse.login(*citizen)
    try:
        space_id = synapse.request(
            "GET", f"/_matrix/client/v3/directory/room/{urllib.parse.quote(alias)}",
            access_token=token)["room_id"]
        children = space_children(synapse, token, space_id)
        rooms = [r for r in children if r.get("room_type") != "m.space"]
    finally:
        synapse.request("POST", "/_matrix/client/v3/logout", {}, access_token=token)
    ok = len(rooms) >= expected
    print(f"验证 / Check: {alias} lists {len(rooms)} department rooms "
          f"(roster: {expected}) — {'OK' if ok else 'TOO FEW'}", flush=True)
    return ok


def verify_web(port: int, expected: int) -> bool:
    """The public web site answers and lists every department of the roster."""
    url = f"http://127.0.0.1:{port}/api/v1/departments"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            listed = len(json.load(resp)["departments"])
    except OSError as err:
        print(f"验证 / Check: {url} did not answer: {err}", flush=True)
        return False
    ok = listed == expected
    print(f"验证 / Check: the web site lists {listed} departments (roster: {expected}) — "
          f"{'OK' if ok else 'WRONG'}", flush=True)
    return ok


def verify_devices(synapse: Synapse, citizen: tuple[str, str], ghosts: list[str]) -> bool:
    """What Element asks before it opens a chat with a department encrypted: the department's
    devices, each signed by the department's own cross-signing identity (bridge/crypto/ghosts.py)."""
    _, token = synapse.login(*citizen)
    try:
        keys = synapse.request("POST", "/_matrix/client/v3/keys/query",
                               {"device_keys": {g: [] for g in ghosts}}, access_token=token)
    finally:
        synapse.request("POST", "/_matrix/client/v3/logout", {}, access_token=token)
    signed = 0
    for ghost in ghosts:
        ssk = list(keys.get("self_signing_keys", {}).get(ghost, {}).get("keys", {}).values())
        devices = keys.get("device_keys", {}).get(ghost) or {}
        if ssk and devices and all(f"ed25519:{ssk[0]}" in d.get("signatures", {}).get(ghost, {})
                                   for d in devices.values()):
            signed += 1
    ok = signed == len(ghosts)
    print(f"验证 / Check: {signed} of {len(ghosts)} departments have a cross-signed encryption "
          f"device (Element opens their chats encrypted) — {'OK' if ok else 'MISSING'}", flush=True)
    return ok
