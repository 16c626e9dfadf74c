"""The local stack really runs: a Synapse, a PostgreSQL and an SMTP sink, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import mailbox
import socket
import subprocess
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib
import pytest

from devstack import MailSink, Postgres, Synapse, free_port


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_synapse_register_whoami_and_restart(tmp_path: Path) -> None:
    with Synapse(tmp_path / "hs") as hs:
        assert hs.is_running
        assert hs.base_url == f"http://127.0.0.1:{hs.port}"
        user_id, token = hs.register("alice", displayname="值班员")
        assert user_id == "@alice:localhost"
        whoami = hs.request("GET", "/_matrix/client/v3/account/whoami", access_token=token)
        assert whoami["user_id"] == user_id
        profile = hs.request("GET", f"/_matrix/client/v3/profile/{user_id}/displayname")
        assert profile["displayname"] == "值班员"

        hs.restart()
        assert hs.is_running
        # Same workdir, same sqlite file: the user survives, and registering again logs in.
        again_id, again_token = hs.register("alice")
        assert again_id == user_id and again_token != token
        for access_token in (token, again_token):
            answer = hs.request(
                "GET", "/_matrix/client/v3/account/whoami", access_token=access_token
            )
            assert answer["user_id"] == user_id
    assert not hs.is_running
    assert (tmp_path / "hs" / "homeserver.log").exists()


@pytest.mark.skipif(
    not Postgres.available(), reason="PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
)
def test_postgres_create_database_and_query() -> None:
    with Postgres() as pg:
        base_dir = pg.base_dir
        dsn = pg.create_database("dutyroom_test")
        assert dsn == f"postgres://postgres@127.0.0.1:{pg.port}/dutyroom_test"
        assert pg.psql("select 1", "dutyroom_test") == "1"
        out = subprocess.run(
            [str(pg.bin_dir / "psql"), dsn, "-At", "-c", "select 1"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "1"
    assert base_dir is not None and not base_dir.exists()


def test_mailsink_receives_chinese_subject(tmp_path: Path) -> None:
    subject = "【网上值班室】新的来信：道路积水"
    message = EmailMessage()
    message["From"] = "noreply@dutyroom.example"
    message["To"] = "duty@gov.example"
    message["Subject"] = subject
    message.set_content("您好，这是一封测试邮件。")

    with MailSink(maildir=tmp_path / "Maildir") as sink:
        asyncio.run(aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port))
        (mail,) = sink.wait_for(1, timeout=5)
        assert mail.mail_from == "noreply@dutyroom.example"
        assert mail.rcpt_tos == ["duty@gov.example"]
        assert mail.subject == subject
        assert mail.message.get_content().strip() == "您好，这是一封测试邮件。"
        sink.clear()
        assert sink.messages == []
        with pytest.raises(TimeoutError):
            sink.wait_for(1, timeout=0.1)
    stored = list(mailbox.Maildir(tmp_path / "Maildir", create=False))
    assert len(stored) == 1
    reparsed = BytesParser(policy=policy.default).parsebytes(stored[0].as_bytes())
    assert reparsed["Subject"] == subject
