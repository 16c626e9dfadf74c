"""The bridge's configuration: one YAML file, updated from config.example.yaml on start-up."""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from mautrix.util.config import (
    BaseFileConfig,
    BaseValidatableConfig,
    ConfigUpdateHelper,
    ForbiddenDefault,
    ForbiddenKey,
)
from ruamel.yaml import YAML

from .mail import MailSettings

# Inside the package (an installed wheel carries a copy; a checkout links it to the top level).
EXAMPLE_CONFIG = Path(__file__).resolve().parent / "config.example.yaml"
ENV_PREFIX = "DUTYROOM_"
# Ghost-like accounts of the bridge that are not departments (the roster reserves these ids).
SERVICE_ACCOUNTS = ("mailbox", "complaints", "notices")
PLACEHOLDER_TOKEN = "This value is generated when generating the registration"


class Identities(NamedTuple):
    domain: str
    prefix: str
    bot: str
    ghost: re.Pattern[str]  # a department ghost's ID; group 1 is the department
    services: dict[str, str]  # service account name → ID


class Config(BaseFileConfig, BaseValidatableConfig):
    """Config values come from the file, overridden by DUTYROOM_* environment variables."""

    def __init__(self, path: str | Path, base_path: str | Path = EXAMPLE_CONFIG) -> None:
        self._identity_cache: tuple[Any, Identities] | None = None
        super().__init__(str(path), str(base_path))
        self.env: dict[str, Any] = {}
        for key, value in os.environ.items():
            if key.startswith(ENV_PREFIX):
                if value.startswith("json::"):
                    value = json.loads(value.removeprefix("json::"))
                self.env[key.removeprefix(ENV_PREFIX)] = value

    def _env_value(self, key: str) -> tuple[bool, Any]:
        name = key.replace(".", "_").upper()
        return (name in self.env, self.env.get(name))

    def __getitem__(self, key: str) -> Any:
        found, value = self._env_value(key)
        return value if found else super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._identity_cache = None

    def get(self, key: str, default_value: Any = None, allow_recursion: bool = True) -> Any:
        found, value = self._env_value(key)
        return value if found else super().get(key, default_value, allow_recursion)

    @property
    def forbidden_defaults(self) -> list[ForbiddenDefault]:
        regenerate = "Run `python -m bridge -g -c CONFIG -r registration.yaml` to generate it."
        return [
            ForbiddenDefault("homeserver.domain", "example.org", "Set your homeserver's domain."),
            ForbiddenDefault("appservice.as_token", PLACEHOLDER_TOKEN, regenerate),
            ForbiddenDefault("appservice.hs_token", PLACEHOLDER_TOKEN, regenerate),
            ForbiddenDefault(
                "mail.token_secret", "", "Set DUTYROOM_MAIL_TOKEN_SECRET (16+ characters).",
                condition="mail.enabled",
            ),
            ForbiddenDefault(
                "homeserver.address",
                ForbiddenKey("example.org"),
                "Set the address of your homeserver.",
            ),
        ]

    def do_update(self, helper: ConfigUpdateHelper) -> None:
        copy, copy_dict, _ = helper
        for key in (
            "homeserver.address",
            "homeserver.domain",
            "homeserver.verify_ssl",
            "appservice.address",
            "appservice.hostname",
            "appservice.port",
            "appservice.id",
            "appservice.database",
            "appservice.bot.username",
            "appservice.bot.displayname",
            "appservice.bot.avatar",
            "appservice.namespace_prefix",
            "appservice.max_body_size",
            "appservice.as_token",
            "appservice.hs_token",
            "appservice.inbox_max_attempts",
            "appservice.inbox_hold_processing",
            "appservice.dead_letter_sweep_interval",
            "appservice.reconcile_interval",
            "appservice.reconcile_sweep_every",
            "appservice.reconcile_after_trouble",
            "appservice.reconcile_on_txn_anomaly",
            "appservice.room_version",
            "bots.extra",
            "bots.disabled",
            "consultation.quiet_period_minutes",
            "consultation.max_media_bytes",
            "consultation.remind_after_minutes",
            "consultation.escalate_after_minutes",
            "consultation.offer_email_after_minutes",
            "consultation.followup_working_hours",
            "consultation.check_interval",
            "consultation.encrypt_officers_rooms",
            "consultation.rate_limit.messages_per_minute",
            "consultation.rate_limit.new_cases_per_hour",
            "consultation.rate_limit.digest_size",
            "consultation.block_max_days",
            "encryption.enabled",
            "encryption.require_verification",
            "encryption.key_wait_seconds",
            "encryption.department_devices",
            "privacy.retention_days",
            "privacy.run_at",
            "privacy.check_interval",
            "privacy.erasure_keeps",
            "presence.enabled",
            "presence.refresh_seconds",
            "presence.departments",
            "presence.dm_topics",
            "presence.dm_topic_days",
            "presence.dm_topic_live",
            "avatars.enabled",
            "avatars.font",
            "avatars.bot_label",
            "rosters.paths",
            "rosters.poll_interval",
            "rosters.provision_concurrency",
            "messages.language",
            "admins",
            "mail.enabled",
            "mail.smtp_host",
            "mail.smtp_port",
            "mail.smtp_security",
            "mail.smtp_username",
            "mail.smtp_password",
            "mail.from_address",
            "mail.from_name",
            "mail.reply_domain",
            "mail.token_secret",
            "mail.token_ttl_days",
            "mail.retry_for_seconds",
            "mail.retry_min_seconds",
            "mail.retry_max_seconds",
            "mail.max_attachment_bytes",
            "mail.bounces_to_reply_domain",
            "mail.listen_host",
            "mail.listen_port",
            "mailbox.leaders",
            "mailbox.require_name",
            "mailbox.require_phone",
            "mailbox.deadline_working_days",
            "mailbox.max_attachment_bytes",
            "mailbox.max_attachments",
            "complaints.office_name",
            "complaints.office_email",
            "complaints.categories",
            "complaints.require_name",
            "complaints.require_phone",
            "complaints.deadline_working_days",
            "complaints.max_attachment_bytes",
            "complaints.max_attachments",
            "web.enabled",
            "web.listen",
            "web.poll_seconds",
            "web.proxy_cache_seconds",
            "web.rate_limit.per_minute",
            "web.rate_limit.burst",
            "web.trust_forwarded_for",
            "metrics.enabled",
            "metrics.hostname",
            "metrics.listen_port",
            "knowledge.path",
            "knowledge.poll_interval",
            "knowledge.suggestions",
            "knowledge.min_score",
            "knowledge.number_reply_hours",
            "knowledge.review_check_interval",
            # assessment (bots/assessment)
            "assessment.claim_within_minutes",
            "assessment.close_within_working_hours",
            "assessment.satisfied_min_level",
            "assessment.flag.satisfaction_below",
            "assessment.flag.claim_rate_below",
            "assessment.weekly_weekday",
            "assessment.weekly_time",
            "assessment.monthly_day",
            "assessment.monthly_time",
            "assessment.bulletins",
            "assessment.mail_to",
            "assessment.hot_topics",
            "assessment.hot_min_cases",
            "assessment.hot_stop_words",
            # notices (bots/notices)
            "notices.staff_spaces",
            "notices.senders",
            "notices.sender_departments",
            "notices.office_hours",
            "notices.remind_before_hours",
            "notices.check_interval",
        ):
            copy(key)
        copy_dict("appservice.database_opts")
        copy_dict("logging", override_existing_map=True)

    # Derived values -------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        return self._identities().domain

    @property
    def prefix(self) -> str:
        return self._identities().prefix

    @property
    def bot_mxid(self) -> str:
        return self._identities().bot

    def ghost_mxid(self, dept_id: str) -> str:
        return f"@{self.prefix}{dept_id}:{self.domain}"

    def dept_alias(self, dept_id: str) -> str:
        return f"#{self.prefix}{dept_id}:{self.domain}"

    def ghost_dept_id(self, mxid: str) -> str | None:
        """The department a ghost user stands for, or None if the ID is not a ghost's."""
        ids = self._identities()
        match = ids.ghost.fullmatch(mxid)
        if not match or mxid == ids.bot or match.group(1) in SERVICE_ACCOUNTS:
            return None
        return match.group(1)

    def is_own_user(self, mxid: str) -> bool:
        """The bridge bot, a department ghost or a service account: never a person."""
        ids = self._identities()
        return (mxid == ids.bot or mxid in ids.services.values()
                or self.ghost_dept_id(mxid) is not None)

    def _identities(self) -> Identities:
        """Asked several times for every event (a config lookup parses its dotted key each
        time): worked out again only when the settings were (re)loaded or updated, which
        replaces `_data`, or set (which forgets them)."""
        if self._identity_cache is None or self._identity_cache[0] is not self._data:
            domain, prefix = self["homeserver.domain"], self["appservice.namespace_prefix"]
            ghost = rf"@{re.escape(prefix)}([a-z][a-z0-9]*):{re.escape(domain)}"
            services = {name: f"@{prefix}{name}:{domain}" for name in SERVICE_ACCOUNTS}
            bot = f"@{self['appservice.bot.username']}:{domain}"
            self._identity_cache = (
                self._data, Identities(domain, prefix, bot, re.compile(ghost), services)
            )
        return self._identity_cache[1]

    def service_mxid(self, name: str) -> str:
        """A bridge service account that is not a department, e.g. the mailbox."""
        return self._identities().services[name]

    def mail_settings(self) -> MailSettings:
        return MailSettings(
            smtp_host=self["mail.smtp_host"],
            smtp_port=int(self["mail.smtp_port"]),
            smtp_security=self["mail.smtp_security"],
            smtp_username=self["mail.smtp_username"] or "",
            smtp_password=self["mail.smtp_password"] or "",
            from_address=self["mail.from_address"],
            from_name=self["mail.from_name"] or "",
            reply_domain=self["mail.reply_domain"],
            token_secret=str(self["mail.token_secret"] or "").encode(),
            token_ttl_days=int(self["mail.token_ttl_days"]),
            retry_for_seconds=float(self["mail.retry_for_seconds"]),
            retry_min_seconds=float(self["mail.retry_min_seconds"]),
            retry_max_seconds=float(self["mail.retry_max_seconds"]),
            max_attachment_bytes=int(self["mail.max_attachment_bytes"]),
            listen_host=self["mail.listen_host"],
            listen_port=int(self["mail.listen_port"]),
            verp=bool(self["mail.bounces_to_reply_domain"]),
        )

    # Registration ----------------------------------------------------------------------------

    def sender_localpart(self) -> str:
        """The appservice's own user: not the bot, which is a user of its namespace instead.
        Synapse refuses /sync to an appservice's own user, and the bot's encryption device must
        read its to-device inbox (bridge/crypto/to_device.py: room keys the homeserver did not
        push). The bridge never acts as this user; every request names the bot or a ghost.
        A bot outside the namespace stays the appservice's user (and cannot read its inbox).
        The runtime asks the homeserver which it is (a registration from before still works)."""
        bot = str(self["appservice.bot.username"])
        return f"{bot}_as" if bot.startswith(str(self.prefix)) else bot

    def generate_registration(self) -> dict[str, Any]:
        """Fresh tokens, stored back into this config; returns the registration document."""
        self["appservice.as_token"] = secrets.token_urlsafe(48)
        self["appservice.hs_token"] = secrets.token_urlsafe(48)
        prefix, domain = re.escape(self.prefix), re.escape(self.domain)
        return {
            "id": self["appservice.id"],
            "url": self["appservice.address"],
            "as_token": self["appservice.as_token"],
            "hs_token": self["appservice.hs_token"],
            "sender_localpart": self.sender_localpart(),
            "rate_limited": False,
            "namespaces": {
                "users": [{"regex": f"@{prefix}.*:{domain}", "exclusive": True}],
                "aliases": [{"regex": f"#{prefix}.*:{domain}", "exclusive": True}],
                "rooms": [],
            },
            # End-to-end encryption needs to-device messages (MSC2409, sent with ephemeral
            # events), device lists and one-time-key counts (MSC3202), and devices (MSC4190).
            "receive_ephemeral": bool(self["encryption.enabled"]),
            **({"org.matrix.msc3202": True, "io.element.msc4190": True}
               if self["encryption.enabled"] else {}),
        }


def write_registration(registration: dict[str, Any], path: str | Path) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(registration, stream)
    os.chmod(path, 0o600)
