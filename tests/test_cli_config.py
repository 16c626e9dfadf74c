"""The operator's side: `-g` writes a registration, placeholders are refused, updates keep text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from bridge.config import EXAMPLE_CONFIG, Config
from bridge.config_update import update_config_file

ROOT = Path(__file__).resolve().parent.parent


def run_bridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={**os.environ, **(env or {})},
    )


def test_generate_registration_writes_tokens_and_namespaces(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE_CONFIG, config)
    registration = tmp_path / "registration.yaml"
    result = run_bridge("-g", "-c", str(config), "-r", str(registration))
    assert result.returncode == 0, result.stderr
    reg = YAML().load(registration.read_text())
    saved = YAML().load(config.read_text())
    assert reg["as_token"] == saved["appservice"]["as_token"] and len(reg["as_token"]) >= 40
    assert reg["hs_token"] == saved["appservice"]["hs_token"] != reg["as_token"]
    assert reg["namespaces"]["users"] == [{"regex": r"@dutyroom_.*:example\.org", "exclusive": True}]
    assert reg["namespaces"]["aliases"][0]["exclusive"] is True
    # The bot is a user of the namespace (it may read its device's to-device inbox with /sync).
    assert reg["sender_localpart"] == "dutyroom_bot_as"
    assert oct(registration.stat().st_mode & 0o777) == "0o600"
    # The operator's comments survive the token write-back.
    assert "# The homeserver the bridge serves." in config.read_text()
    # A second -g makes fresh tokens.
    run_bridge("-g", "-c", str(config), "-r", str(registration))
    assert YAML().load(registration.read_text())["as_token"] != reg["as_token"]


def test_refuses_to_start_on_placeholders(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE_CONFIG, config)
    result = run_bridge("-c", str(config), "-n")
    assert result.returncode == 11
    assert "homeserver.domain" in result.stderr + result.stdout
    text = config.read_text().replace("domain: example.org", "domain: gov.example")
    config.write_text(text)
    result = run_bridge("-c", str(config), "-n")
    assert result.returncode == 11
    assert "as_token" in result.stderr + result.stdout and "-g" in result.stderr + result.stdout


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE_CONFIG, config)
    monkeypatch.setenv("DUTYROOM_APPSERVICE_AS_TOKEN", "from-env")
    monkeypatch.setenv("DUTYROOM_ADMINS", 'json::["@a:gov.example"]')
    loaded = Config(config)
    loaded.load()
    assert loaded["appservice.as_token"] == "from-env"
    assert loaded["admins"] == ["@a:gov.example"]


def test_update_keeps_operator_values_and_comments(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    old = (
        "# Our production bridge — ask Li Wei before changing\n"
        "homeserver:\n"
        "    address: https://matrix.gov.example  # internal LB\n"
        "    domain: gov.example\n"
        "appservice:\n"
        "    port: 40000\n"
    )
    config.write_text(old, encoding="utf-8")
    added = update_config_file(config, EXAMPLE_CONFIG)
    text = config.read_text(encoding="utf-8")
    assert "# Our production bridge — ask Li Wei before changing" in text
    assert "# internal LB" in text
    assert "homeserver.verify_ssl" in added and "messages" in added and "homeserver.domain" not in added
    data = YAML().load(text)
    assert data["appservice"]["port"] == 40000
    assert data["homeserver"]["domain"] == "gov.example"
    assert data["messages"]["language"] == "zh"
    assert update_config_file(config, EXAMPLE_CONFIG) == []
    assert config.read_text(encoding="utf-8") == text


def test_own_users_are_told_from_people_and_follow_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    shutil.copy(EXAMPLE_CONFIG, path)
    config = Config(path)
    config.load()
    bot, domain = config.bot_mxid, config.domain
    assert config.is_own_user(bot) and config.ghost_dept_id(bot) is None
    assert config.is_own_user(f"@dutyroom_fgw:{domain}") and config.ghost_dept_id(f"@dutyroom_fgw:{domain}") == "fgw"
    assert config.is_own_user(f"@dutyroom_mailbox:{domain}")
    assert config.ghost_dept_id(f"@dutyroom_mailbox:{domain}") is None
    for person in (f"@citizen:{domain}", "@dutyroom_fgw:other.example", f"@xdutyroom_fgw:{domain}",
                   f"@dutyroom_FGW:{domain}"):
        assert not config.is_own_user(person), person
    path.write_text(path.read_text(encoding="utf-8").replace("namespace_prefix: dutyroom_",
                                                            "namespace_prefix: duty_"), encoding="utf-8")
    config.load()
    assert config.ghost_dept_id(f"@duty_fgw:{domain}") == "fgw"
    assert not config.is_own_user(f"@dutyroom_fgw:{domain}")
    assert config.prefix == "duty_" and config.ghost_mxid("fgw") == f"@duty_fgw:{domain}"
    # A value set in place (as `-g` does with new tokens) is followed as well.
    config["homeserver.domain"] = "gov.example"
    assert config.domain == "gov.example" and config.bot_mxid.endswith(":gov.example")
    assert config.ghost_dept_id("@duty_fgw:gov.example") == "fgw"
    assert not config.is_own_user(f"@duty_fgw:{domain}")


def test_mail_retry_waits_come_from_the_config(tmp_path: Path) -> None:
    """The first retry of a failed mail waits what the operator configured, not a fixed 30 s."""
    yaml = YAML()
    data = yaml.load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["mail"].update(token_secret="0123456789abcdef0123", retry_min_seconds=5,
                        retry_max_seconds=120)
    path = tmp_path / "config.yaml"
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(data, stream)
    config = Config(path)
    config.load()
    settings = config.mail_settings()
    assert (settings.retry_min_seconds, settings.retry_max_seconds) == (5.0, 120.0)
    default = Config(EXAMPLE_CONFIG)
    default.load()
    default["mail.token_secret"] = "0123456789abcdef0123"
    assert default.mail_settings().retry_min_seconds == 30.0
