"""A local stack of real parts: Synapse, PostgreSQL and an SMTP sink, all on 127.0.0.1.

Used by the test fixtures, the demo script and the benchmark so that they talk to the real
homeserver, database and mail protocol rather than to mocks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.mailsink import MailSink, ReceivedMail
    from devstack.ports import free_port
    from devstack.postgres import Postgres
    from devstack.synapse import Synapse, SynapseError, precompile

__all__ = [
    "MailSink",
    "Postgres",
    "ReceivedMail",
    "Synapse",
    "SynapseError",
    "free_port",
    "precompile",
]

_HOMES = {
    "MailSink": "mailsink",
    "ReceivedMail": "mailsink",
    "free_port": "ports",
    "Postgres": "postgres",
    "Synapse": "synapse",
    "SynapseError": "synapse",
    "precompile": "synapse",
}


def __getattr__(name: str) -> Any:
    # Imported on first use: `python -m devstack.mailsink` must not find itself already imported
    # (runpy warns), and a test needing only Postgres should not pay for aiosmtpd or PyYAML.
    if name in _HOMES:
        return getattr(importlib.import_module(f"devstack.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'devstack' has no attribute {name!r}")
