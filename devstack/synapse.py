"""A real Synapse homeserver (the installed matrix-synapse package) running in a work directory."""

from __future__ import annotations

import atexit
import compileall
import hashlib
import hmac
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml  # PyYAML is a dependency of matrix-synapse, so it is always here when Synapse is

from devstack.ports import free_port
from devstack.service import Service
from devstack.synapse_config import homeserver_config, log_config

_MARKER_NAME = ".dutyroom-synapse-compiled"
_STOP_GRACE_SECONDS = 15
# Talk to 127.0.0.1 directly even if the environment names an HTTP proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Homeservers still running when the interpreter exits (a test run aborted with ^C, a demo
# that raised) are stopped, so no orphan keeps holding its port and sqlite file.
_RUNNING: weakref.WeakSet[Synapse] = weakref.WeakSet()


def _synapse_package_dir() -> Path:
    # find_spec does not import synapse, which would cost a second of our own time.
    spec = importlib.util.find_spec("synapse")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matrix-synapse is not installed in this interpreter")
    return Path(next(iter(spec.submodule_search_locations)))


def _compiled_marker() -> Path:
    return _synapse_package_dir().parent / _MARKER_NAME


def precompile(*, force: bool = False) -> bool:
    """Compile Synapse's bytecode once, so that its startup takes ~2-3 s rather than ~5-6 s.

    This machine sets PYTHONDONTWRITEBYTECODE=1, so without this every start would compile
    Synapse again in memory. Returns True if it compiled, False if the marker said it was done
    (or site-packages is read-only, in which case Synapse simply starts more slowly).
    """
    marker = _compiled_marker()
    if marker.exists() and not force:
        return False
    # py_compile writes .pyc files regardless of sys.dont_write_bytecode; workers=0 uses all CPUs.
    compileall.compile_dir(str(_synapse_package_dir()), quiet=2, workers=0)
    try:
        marker.write_text("compileall has been run over the synapse package\n")
    except OSError:
        return False
    return True


class SynapseError(RuntimeError):
    """A Matrix API call to the homeserver answered with an error."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.errcode = str(body.get("errcode", ""))
        self.body = body
        super().__init__(f"HTTP {status}: {body}")


class Synapse(Service):
    """One Synapse process on 127.0.0.1, with its sqlite database and keys in `workdir`.

    homeserver.yaml is written on the first start only; later starts (and new instances over
    the same work directory) reuse it, so the port, secrets and users survive restarts.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        server_name: str = "localhost",
        port: int | None = None,
        app_service_config_files: Sequence[Path] = (),
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.server_name = server_name
        self._app_service_config_files = tuple(Path(p) for p in app_service_config_files)
        self._extra_config = dict(extra_config or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._config: dict[str, Any] | None = None
        if self.config_path.exists():
            self._config = yaml.safe_load(self.config_path.read_text(encoding="utf8"))
            self.server_name = str(self._config["server_name"])
            port = int(self._config["listeners"][0]["port"])
        self.port = port if port is not None else free_port()

    # -- paths and state ---------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.workdir / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "homeserver.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.is_running and self._process else None

    @property
    def config(self) -> dict[str, Any]:
        """The homeserver.yaml content (written now if this is the first use of `workdir`)."""
        return self._ensure_config()

    @property
    def registration_shared_secret(self) -> str:
        return str(self.config["registration_shared_secret"])

    def _ensure_config(self) -> dict[str, Any]:
        if self._config is not None:
            return self._config
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = homeserver_config(
            self.workdir,
            server_name=self.server_name,
            port=self.port,
            app_service_config_files=self._app_service_config_files,
            extra_config=self._extra_config,
        )
        log_config_path = Path(config["log_config"])
        log_config_path.write_text(yaml.safe_dump(log_config(self.log_path)), encoding="utf8")
        self.config_path.write_text(
            yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf8"
        )
        self._config = config
        return config

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf8", errors="replace")
        except FileNotFoundError:
            return "(no homeserver.log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Launch Synapse and block until its client API answers."""
        if self.is_running:
            return
        if not _compiled_marker().exists():
            precompile()
        self._ensure_config()
        env = dict(os.environ)
        # Let the child read (and write, for dependencies) bytecode: that is what makes it fast.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        _RUNNING.add(self)
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = process.returncode if process else None
                self._process = None
                raise RuntimeError(
                    f"Synapse exited with code {code} during startup; "
                    f"tail of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with _OPENER.open(f"{self.base_url}/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"Synapse did not answer within {timeout} s; "
                    f"tail of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM (Synapse ignores SIGINT when backgrounded), then SIGKILL after 15 s."""
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, timeout: float = 60) -> None:
        self.stop()
        self.start(timeout)

    # -- HTTP --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        access_token: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """A synchronous JSON call (urllib) to the homeserver; raises SynapseError on 4xx/5xx."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if access_token:
            req.add_header("Authorization", f"Bearer {access_token}")
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                return dict(json.loads(resp.read() or b"{}"))
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"error": raw.decode("utf8", "replace")}
            raise SynapseError(err.code, payload) from None

    def default_password(self, localpart: str) -> str:
        """A password derived from the shared secret, so `register(name)` can log in again later."""
        key = self.registration_shared_secret.encode()
        return hmac.new(key, localpart.encode(), hashlib.sha256).hexdigest()

    def register(
        self,
        localpart: str,
        password: str | None = None,
        *,
        admin: bool = False,
        displayname: str | None = None,
    ) -> tuple[str, str]:
        """Create a user with the shared-secret admin API; log in instead if it already exists.

        Returns (user_id, access_token). For an existing user, `admin` and `displayname` are
        left as they were and a fresh access token is returned.
        """
        password = password if password is not None else self.default_password(localpart)
        nonce = str(self.request("GET", "/_synapse/admin/v1/register")["nonce"])
        mac = hmac.new(self.registration_shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(
                [
                    nonce.encode(),
                    localpart.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                ]
            )
        )
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        try:
            answer = self.request("POST", "/_synapse/admin/v1/register", body)
        except SynapseError as err:
            if err.errcode != "M_USER_IN_USE":
                raise
            return self.login(localpart, password)
        return str(answer["user_id"]), str(answer["access_token"])

    def login(self, localpart: str, password: str | None = None) -> tuple[str, str]:
        """m.login.password; returns (user_id, access_token) for a new device."""
        password = password if password is not None else self.default_password(localpart)
        answer = self.request(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": password,
            },
        )
        return str(answer["user_id"]), str(answer["access_token"])

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()
