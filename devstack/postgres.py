"""A throwaway PostgreSQL server (the Debian packages' binaries) on 127.0.0.1."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from devstack.ports import free_port
from devstack.service import Service

_PREFERRED_MAJOR = "15"
_SERVER_OPTIONS = (
    # Durability is worthless for a database deleted after the run; these make it much faster.
    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
)


def find_bin_dir() -> Path | None:
    """/usr/lib/postgresql/15/bin if present, else the newest other version found."""
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if not candidates:
        return None
    for path in candidates:
        if path.parent.name == _PREFERRED_MAJOR:
            return path

    def major(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return 0.0

    return max(candidates, key=major)


class Postgres(Service):
    """initdb + pg_ctl in a fresh folder under /tmp; `stop()` deletes everything again."""

    def __init__(self, *, port: int | None = None, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin_dir = Path(found)
        self.port = port if port is not None else free_port()
        self.base_dir: Path | None = None
        self._running = False

    @classmethod
    def available(cls) -> bool:
        return find_bin_dir() is not None

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def log_path(self) -> Path:
        return self._base() / "server.log"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("Postgres has not been started")
        return self.base_dir

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    # -- running the binaries ----------------------------------------------------------------

    def _server_command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / program), *args]
        # initdb and pg_ctl refuse to run as root; the Debian package's `postgres` user exists.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, command: Sequence[str]) -> str:
        # Output goes to a file, not a pipe: the postmaster started by pg_ctl could otherwise
        # inherit the pipe and keep subprocess.run waiting for an EOF that never comes.
        with tempfile.TemporaryFile() as out:
            done = subprocess.run(
                list(command),
                cwd=self._base(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
            out.seek(0)
            output = out.read().decode("utf8", "replace")
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")
        return output

    def _client_command(self, program: str, *args: str) -> list[str]:
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        return [str(self.bin_dir / program), *connection, *args]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._running:
            return
        # pytest's tmp_path sits under a 0700 folder the postgres user cannot enter.
        self.base_dir = Path(tempfile.mkdtemp(prefix="devstack-pg-", dir="/tmp"))
        self.base_dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.base_dir, user="postgres", group="postgres")
        try:
            self._run(
                self._server_command(
                    "initdb",
                    *("-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
                    *("--locale=C.UTF-8", "--no-sync"),
                )
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} {_SERVER_OPTIONS}"
            )
            self._run(
                self._server_command(
                    "pg_ctl",
                    *("-D", str(self.data_dir), "-l", str(self.log_path), "-w"),
                    *("-o", options, "start"),
                )
            )
        except BaseException:
            self._cleanup()
            raise
        self._running = True

    def stop(self) -> None:
        if self.base_dir is None:
            return
        try:
            if self._running:
                self._run(
                    self._server_command(
                        "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
                    )
                )
        finally:
            self._running = False
            self._cleanup()

    def _cleanup(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    # -- databases ---------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """CREATE DATABASE over TCP as user postgres; returns its dsn."""
        self._run(self._client_command("createdb", "-E", "UTF8", "-T", "template0", name))
        return self.dsn(name)

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL with the psql binary and return its unaligned, tuples-only output."""
        return self._run(
            self._client_command("psql", "-d", dbname, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
        ).strip()
