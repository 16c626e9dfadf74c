"""A homeserver with the bridge's registration installed: shared by the tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.config import write_registration
from devstack import Synapse
from devstack.ports import free_port
from tests.kit.bridge import BridgeSettings, load_config, write_config

PREFIX = "dutyroom_"


@dataclass
class Stack:
    synapse: Synapse
    domain: str
    port: int          # where bridges under test listen (the registration's URL)
    as_token: str
    hs_token: str
    workdir: Path

    @property
    def url(self) -> str:
        return self.synapse.base_url

    def bridge_settings(self, database: str, prefix: str, rosters: list[str],
                        **more: Any) -> BridgeSettings:
        """A bridge on this homeserver, under its registration (`more`: other settings)."""
        return BridgeSettings(
            homeserver_url=self.url, domain=self.domain, as_token=self.as_token,
            hs_token=self.hs_token, port=self.port, database=database, prefix=prefix,
            rosters=rosters, **more,
        )


def start_stack(workdir: Path, synapse_config: dict[str, Any] | None = None,
                sender_localpart: str | None = None) -> Stack:
    """The registration comes first (from the bridge's own generator), then Synapse loads it.
    `synapse_config`: homeserver.yaml keys to set beside the defaults; `sender_localpart`: the
    appservice's own user, to test a registration from an older version."""
    port = free_port()
    settings = BridgeSettings(
        homeserver_url="http://127.0.0.1:1", domain="localhost", as_token="-", hs_token="-",
        port=port, database="sqlite::memory:", prefix=PREFIX, rosters=[],
    )
    config = load_config(write_config(workdir / "registration-config.yaml", settings))
    registration = config.generate_registration()
    if sender_localpart is not None:
        registration["sender_localpart"] = sender_localpart
    write_registration(registration, workdir / "registration.yaml")
    synapse = Synapse(
        workdir / "synapse", server_name="localhost",
        app_service_config_files=[workdir / "registration.yaml"],
        extra_config=synapse_config,
    )
    synapse.start()
    return Stack(synapse, "localhost", port, registration["as_token"],
                 registration["hs_token"], workdir)
