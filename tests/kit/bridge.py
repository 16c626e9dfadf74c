"""Run the bridge for a test: in-process (fast, inspectable) or as a process (killable)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bots import ALL_BOTS
from bridge.clock import Clock
from bridge.config import EXAMPLE_CONFIG, Config
from bridge.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BridgeSettings:
    """Everything that differs between test bridges sharing one homeserver and registration."""

    homeserver_url: str
    domain: str
    as_token: str
    hs_token: str
    port: int
    database: str
    prefix: str
    rosters: Sequence[str]
    language: str = "zh"
    hold_processing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def write_config(path: Path, s: BridgeSettings) -> Path:
    yaml = YAML()
    with open(EXAMPLE_CONFIG, encoding="utf-8") as stream:
        data = yaml.load(stream)
    data["homeserver"]["address"] = s.homeserver_url
    data["homeserver"]["domain"] = s.domain
    data["appservice"].update(
        address=f"http://127.0.0.1:{s.port}",
        port=s.port,
        database=s.database,
        namespace_prefix=s.prefix,
        as_token=s.as_token,
        hs_token=s.hs_token,
        inbox_hold_processing=s.hold_processing,
    )
    data["rosters"]["paths"] = [str(p) for p in s.rosters]
    # Tests apply edits with check_now(); the ones about polling set a short interval.
    data["rosters"]["poll_interval"] = 3600
    data["messages"]["language"] = s.language
    # The example knowledge base fits the example roster, not the test rosters: tests of the
    # knowledge base name their own folder (knowledge.path in `extra`).
    data["knowledge"]["path"] = ""
    data["knowledge"]["poll_interval"] = 3600
    # The kit's nio users do no encryption; the tests that use encrypting users turn this on.
    data["consultation"]["encrypt_officers_rooms"] = False
    # Many bridges run at once: the public site takes any free port (WebBot.address says which).
    data["web"]["listen"] = "127.0.0.1:0"
    # Staff spaces invite every officer once more; the notices tests turn them on.
    data["notices"]["staff_spaces"] = False
    data["logging"]["root"]["level"] = "DEBUG" if os.environ.get("DUTYROOM_TEST_DEBUG") else "INFO"
    for dotted, value in s.extra.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(data, stream)
    return path


def load_config(path: Path) -> Config:
    config = Config(path)
    config.load()
    return config


class InProcessBridge:
    def __init__(self, config_path: Path, clock: Clock | None = None) -> None:
        self.config_path = config_path
        self.clock = clock
        self.runtime: Runtime | None = None

    async def start(self) -> Runtime:
        self.runtime = Runtime(load_config(self.config_path), ALL_BOTS, clock=self.clock, base_dir=ROOT)
        try:
            await self.runtime.start()
        except BaseException:
            # A failed start still holds the registration's port: release it, or every later
            # test of the session fails to bind ("address already in use").
            with contextlib.suppress(Exception):
                await self.runtime.stop()
            self.runtime = None
            raise
        return self.runtime

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None


@asynccontextmanager
async def running_bridge(config_path: Path, clock: Clock | None = None) -> AsyncIterator[InProcessBridge]:
    """An in-process bridge on this config, stopped again however the block ends."""
    running = InProcessBridge(config_path, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


class BridgeProcess:
    """`python -m bridge` as the operator runs it, so a test can SIGKILL it."""

    def __init__(self, config_path: Path, port: int) -> None:
        self.config_path = config_path
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = config_path.with_suffix(".log")

    def start(self, timeout: float = 60) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "-c", str(self.config_path), "-n"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bridge exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                url = f"http://127.0.0.1:{self.port}/_matrix/mau/ready"
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"bridge not ready in {timeout}s:\n{self.log_tail()}")

    async def astart(self, timeout: float = 60) -> None:
        await asyncio.to_thread(self.start, timeout)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
