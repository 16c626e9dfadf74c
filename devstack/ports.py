"""Pick a TCP port nobody is listening on."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Below the kernel's ephemeral range: a port from inside it can be taken, between the tests that
# reuse it, as the source port of any outgoing connection on the machine (measured: "address
# already in use" for a bridge's listener while several test runs shared the machine).
FALLBACK_EPHEMERAL_START = 32768
LOWEST = 20000
# Not the `random` module's shared generator: test plugins seed it alike in every pytest worker,
# and two workers then picked the same port (measured: both bound 26053).
_PICK = random.SystemRandom()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return FALLBACK_EPHEMERAL_START


def free_port() -> int:
    """Return a port on 127.0.0.1 that was free a moment ago, outside the ephemeral range.

    The socket is closed before the caller binds, so another process could grab the port in
    between; picked at random from thousands of ports, that race is rare enough to accept.
    """
    high = _ephemeral_start() - 1
    for _ in range(200):
        port = _PICK.randint(LOWEST, high) if high > LOWEST else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")
