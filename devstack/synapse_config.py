"""The homeserver.yaml and log config that `devstack.synapse.Synapse` writes."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Synapse's defaults give 429 after the 6th login or the 11th room creation, which breaks any
# test that does real work. Zeros would *deny* everything, so lift them with big numbers.
_UNLIMITED: dict[str, int] = {"per_second": 10000, "burst_count": 10000}
_FLAT_LIMITERS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_joins_per_room",
    "rc_third_party_invite",
    "rc_3pid_validation",
    "rc_admin_redaction",
    "rc_key_requests",
    "rc_media_create",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
_NESTED_LIMITERS: dict[str, tuple[str, ...]] = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}


def rate_limits() -> dict[str, Any]:
    """Every limiter listed in HOMESERVER-NOTES.md, lifted."""
    limits: dict[str, Any] = {name: dict(_UNLIMITED) for name in _FLAT_LIMITERS}
    for name, parts in _NESTED_LIMITERS.items():
        limits[name] = {part: dict(_UNLIMITED) for part in parts}
    return limits


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `extra` into a copy of `base`; nested dicts merge, anything else replaces.

    Merging (rather than replacing) lets a caller tweak one limiter or one listener option
    without restating the whole section.
    """
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def homeserver_config(
    workdir: Path,
    *,
    server_name: str,
    port: int,
    app_service_config_files: Sequence[Path],
    extra_config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The full homeserver.yaml content for a throwaway, single-process test homeserver."""
    config: dict[str, Any] = {
        "server_name": server_name,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "report_stats": False,
        "listeners": [
            {
                "port": port,
                "type": "http",
                "tls": False,
                "bind_addresses": ["127.0.0.1"],
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "log_config": str(workdir / "log.config"),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "signing.key"),
        # Random per work directory; stored in the file so restarts and re-opens keep it.
        "registration_shared_secret": secrets.token_urlsafe(32),
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "app_service_config_files": [str(Path(p).resolve()) for p in app_service_config_files],
        # Without this rule Synapse 1.163 refuses every room directory publication.
        "room_list_publication_rules": [{"action": "allow"}],
        "enable_registration": False,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "max_upload_size": "50M",
        # bcrypt's default 12 rounds cost ~0.3 s per register/login; these passwords guard nothing.
        "bcrypt_rounds": 4,
        # The bridge's end-to-end encryption (bridge/crypto): to-device messages (MSC2409) and
        # device lists and one-time-key counts (MSC3202) in appservice transactions. MSC4190
        # (devices made by the appservice) needs only the registration's flag.
        "experimental_features": {
            "msc2409_to_device_messages_enabled": True,
            "msc3202_transaction_extensions": True,
        },
        **rate_limits(),
    }
    return deep_merge(config, extra_config or {})


def log_config(log_file: Path) -> dict[str, Any]:
    """Python logging dictConfig: WARNING and up only, so startup is not slowed by INFO chatter."""
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
            }
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(log_file),
                "encoding": "utf8",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }
