"""The floor: the relay latency sections again, through bench/null_relay.py in the bridge's place.

Same homeserver, rooms, clients, pacing and method as section 4, in the same run, so the ratios
compare like with like. What the null relay reaches is what any appservice on this homeserver
can reach; its CPU per relayed event is what receiving and sending through aiohttp costs alone.
"""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from ruamel.yaml import YAML

from bench.stack import Stack, one_way
from bench.stats import summary_ms

if TYPE_CHECKING:
    from bench.relay import Watcher


class NullRelayProcess:
    def __init__(self, stack: Stack, routes: dict[str, dict[str, Any]], log_path: Path) -> None:
        self.stack = stack
        self.routes = routes
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        # "--name=value": a token may begin with "-", which argparse would take for an option.
        command = [sys.executable, "-m", "bench.null_relay", f"--port={self.stack.port}",
                   f"--homeserver={self.stack.url}", f"--hs-token={self.stack.hs_token}",
                   f"--as-token={self.stack.as_token}", f"--routes={json.dumps(self.routes)}"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                         cwd=Path(__file__).resolve().parent.parent)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        # select() first, so that a process that hangs without a word still times out.
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self.proc.stdout], [], [], left)[0]:
                continue
            line = self.proc.stdout.readline()
            if line.strip() == b"ready":
                return
            if not line:  # end of output: the process exited
                break
        self.stop()
        raise RuntimeError(f"the null relay did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def ping_appservice(stack: Stack, session: aiohttp.ClientSession) -> None:
    """Makes the homeserver forget that the appservice was away (the bridge just stopped)."""
    registration = YAML(typ="safe").load((stack.workdir / "registration.yaml").read_text())
    url = f"{stack.url}/_matrix/client/v1/appservice/{quote(registration['id'])}/ping"
    async with session.post(url, json={},
                            headers={"Authorization": f"Bearer {stack.as_token}"}) as resp:
        await resp.read()


async def run_floor(stack: Stack, session: aiohttp.ClientSession, workdir: Path, *,
                    citizen: Watcher, officer: Watcher, dm: str, room: str, root: str,
                    bot: str, ghost: str, messages: int, spacing_s: float, timeout: float,
                    tag: str) -> dict[str, Any]:
    # Here, not at the top: bench.relay calls this at the end of its own sections.
    from bench.relay import WARMUP, Sampler, tally, thread_reply

    routes = {
        dm: {"sender": citizen.user_id, "to_room": room, "as_user": bot, "thread_root": root},
        room: {"sender": officer.user_id, "to_room": dm, "as_user": ghost, "thread_root": None},
    }
    relay = NullRelayProcess(stack, routes, workdir / "null-relay.log")
    await asyncio.to_thread(relay.start)
    out: dict[str, Any] = {}
    try:
        assert relay.proc is not None
        await ping_appservice(stack, session)

        async def to_officers(marker: str) -> None:
            await citizen.send_text(dm, marker)

        async def to_citizen(marker: str) -> None:
            await officer.send(room, thread_reply(root, marker))

        for name, send, receiver, key in (("citizen_to_officers", to_officers, officer, "bmn"),
                                          ("officer_to_citizen", to_citizen, citizen, "bmm")):
            await receiver.sync_once(0)
            await one_way(send, receiver, [f"{key}w-{tag}-{i}" for i in range(WARMUP)], 60,
                          spacing_s)
            markers = [f"{key}-{tag}-{i}" for i in range(messages)]
            sampler = Sampler(relay.proc.pid, stack.synapse.pid)
            delays = await one_way(send, receiver, markers, timeout, spacing_s)
            sampler.phase_over()
            await asyncio.sleep(1.5)
            result: dict[str, Any] = summary_ms(delays)
            result.update(sent=messages, received=len(delays), sync=tally(markers, receiver.counts),
                          cpu=sampler.result(messages))
            out[name] = result
    finally:
        await asyncio.to_thread(relay.stop)
    return out
