"""Pick a TCP port nobody is listening on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a port on 127.0.0.1 that was free a moment ago.

    The socket is closed before the caller binds, so another process could grab the port in
    between; on loopback in tests that race is rare enough to accept.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
