"""`python -m devstack.demo --once` brings up the whole stack and a citizen can see the directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devstack.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_demo_once_starts_everything_and_verifies(tmp_path: Path) -> None:
    port, bridge_port, smtp_port, web_port = free_port(), free_port(), free_port(), free_port()
    command = [
        sys.executable, "-m", "devstack.demo", "--once", "--dir", str(tmp_path / "demo"),
        "--port", str(port), "--bridge-port", str(bridge_port), "--smtp-port", str(smtp_port),
        "--web-port", str(web_port),
    ]
    # The demo prints Chinese; decode it the same way whatever the locale of the test run.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, timeout=600, check=False
    )
    output = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, output[-6000:]
    assert f"http://127.0.0.1:{port}" in output
    assert "citizen" in output
    # The public web site: its address is printed, and it lists every department (verify_web).
    assert f"http://127.0.0.1:{web_port}/" in output
    assert "the web site lists" in output
    assert "知识库演示" in output and "失业保险金申领" in output  # issue #21's suggestions
    assert "departments have a cross-signed encryption device" in output  # bridge/crypto/ghosts.py
