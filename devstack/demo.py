"""`python -m devstack.demo`: the whole 网上值班室 on one machine, ready to try from Element.

Starts a real Synapse (server_name `localhost`), an SMTP sink writing a Maildir, and the bridge
as an operator runs it (`python -m bridge -c config.yaml`), all on 127.0.0.1, with demo accounts
whose passwords are printed. Everything lives in one directory (default ./demo-data), so a
second run reuses the homeserver, the bridge database and the registration and is ready fast.
"""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ruamel.yaml import YAML

from devstack.demo_check import verify, verify_devices, verify_web
from devstack.mailsink import MailSink
from devstack.synapse import Synapse, SynapseError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.yaml"
ROSTER_GLOB = str(ROOT / "rosters" / "example" / "*.yaml")
DOMAIN = "localhost"
# The province's departments; the top space (issue #18) is the one the README and this script
# point citizens to, with the province's and each city's space below it.
PROVINCE = "zj"
CITIZEN = ("citizen", "citizen-demo")
ADMIN = ("admin", "admin-demo")
# 杭州's own administrator (rosters/example/cities.yaml `admins`), in 杭州's administrators' room.
CITY_ADMIN = ("admin_hz", "admin-demo")
OFFICER_PASSWORD = "officer-demo"
READY_TIMEOUT = 600.0
# Written into the demo directory so that --reset never wipes a folder this script did not make.
MARKER = ".dutyroom-demo"
# Talk to 127.0.0.1 directly even if the environment names an HTTP proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Stop(Exception):
    """Raised from the SIGINT/SIGTERM handler so every `finally` runs and the stack shuts down."""


class DemoError(RuntimeError):
    """A problem to report in one paragraph (no traceback) before exiting non-zero."""


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    jurisdiction: str


@dataclass(frozen=True)
class Account:
    localpart: str
    password: str
    role: str
    admin: bool = False


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def registration(self) -> Path:
        return self.root / "registration.yaml"

    @property
    def synapse(self) -> Path:
        return self.root / "synapse"

    @property
    def maildir(self) -> Path:
        return self.root / "maildir"

    @property
    def bridge_log(self) -> Path:
        return self.root / "bridge.log"

    @property
    def database(self) -> Path:
        return self.root / "dutyroom.db"


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.demo",
        description="Run Synapse, an SMTP sink and the 网上值班室 bridge on 127.0.0.1 for a demo.",
    )
    parser.add_argument("--dir", type=Path, default=Path("demo-data"),
                        help="where everything is kept (default: ./demo-data)")
    parser.add_argument("--port", type=int, default=8008, help="Synapse port (default: 8008)")
    parser.add_argument("--bridge-port", type=int, default=29350,
                        help="bridge (appservice) port (default: 29350)")
    parser.add_argument("--smtp-port", type=int, default=2525,
                        help="SMTP sink port (default: 2525)")
    parser.add_argument("--web-port", type=int, default=8090,
                        help="the public web site's port (default: 8090)")
    parser.add_argument("--reset", action="store_true", help="wipe --dir first")
    parser.add_argument("--once", action="store_true",
                        help="start, print, verify the directory, stop and exit (for tests)")
    return parser.parse_args(argv)


# -- the demo directory -----------------------------------------------------------------------


def prepare_dir(root: Path, reset: bool) -> None:
    if reset and root.exists():
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(f"--reset refused: {root} is not empty and was not made by the demo")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by python -m devstack.demo; --reset may delete it\n")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_ports(args: argparse.Namespace) -> None:
    # A clear message now beats a Synapse or aiohttp traceback in a log file later.
    for option, port in (("--port", args.port), ("--bridge-port", args.bridge_port),
                         ("--smtp-port", args.smtp_port),
                         ("--smtp-port (+1, the reply listener)", args.smtp_port + 1),
                         ("--web-port", args.web_port)):
        if not port_free(port):
            raise DemoError(f"port {port} on 127.0.0.1 is in use; choose another with {option}")


# -- the example roster -----------------------------------------------------------------------


def roster_documents() -> list[Any]:
    yaml = YAML(typ="safe")
    documents = []
    for name in sorted(glob.glob(ROSTER_GLOB)):
        with open(name, encoding="utf-8") as stream:
            documents.append(yaml.load(stream))
    return documents


def walk_mxids(node: Any) -> Iterator[str]:
    """Every value of an `mxid` key, at any depth (officers, supervisors, whatever comes next)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "mxid" and isinstance(value, str):
                yield value
            else:
                yield from walk_mxids(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_mxids(item)


def officer_localparts(documents: list[Any], domain: str) -> list[str]:
    found: dict[str, None] = {}  # a dict keeps the roster's order and drops repeats
    for mxid in walk_mxids(documents):
        localpart, _, server = mxid.removeprefix("@").partition(":")
        if server == domain and localpart:
            found[localpart] = None
    return list(found)


def departments(documents: list[Any]) -> list[Department]:
    result = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        for item in document.get("departments") or []:
            if isinstance(item, dict) and "id" in item:
                result.append(Department(str(item["id"]), str(item.get("name", item["id"])),
                                         str(item.get("jurisdiction", ""))))
    return result


# -- bridge config and registration -----------------------------------------------------------


def config_yaml() -> YAML:
    # The same layout as config.example.yaml, so the written file reads like the example.
    yaml = YAML()
    yaml.indent(mapping=4, sequence=4, offset=0)
    yaml.width = 200
    return yaml


def write_bridge_config(paths: Paths, args: argparse.Namespace) -> None:
    """Start from the existing config (keeps tokens and hand edits) or from the example."""
    yaml = config_yaml()
    source = paths.config if paths.config.exists() else EXAMPLE_CONFIG
    with open(source, encoding="utf-8") as stream:
        data = yaml.load(stream)
    data["homeserver"]["address"] = f"http://127.0.0.1:{args.port}"
    data["homeserver"]["domain"] = DOMAIN
    # Plain HTTP on loopback: nothing to verify, and no certificate exists.
    data["homeserver"]["verify_ssl"] = False
    data["appservice"]["address"] = f"http://127.0.0.1:{args.bridge_port}"
    data["appservice"]["hostname"] = "127.0.0.1"
    data["appservice"]["port"] = args.bridge_port
    data["appservice"]["database"] = f"sqlite:{paths.database}"
    data["rosters"]["paths"] = [ROSTER_GLOB]
    data["admins"] = [f"@{ADMIN[0]}:{DOMAIN}"]
    # Notices (政府版): the administrator sends; so do the 办公厅's officers (bots/notices).
    data["notices"]["sender_departments"] = ["bgt"]
    data["mail"]["smtp_host"] = "127.0.0.1"
    data["mail"]["smtp_port"] = args.smtp_port
    data["mail"]["smtp_security"] = "none"
    data["mail"]["from_address"] = f"dutyroom@{DOMAIN}"
    # Letters, complaints and the consultation fallback really go out (to the sink), and the
    # office's replies come back to the bridge's listener on the port after the sink's.
    data["mail"]["enabled"] = True
    data["mail"]["reply_domain"] = f"reply.{DOMAIN}"
    data["mail"]["listen_port"] = args.smtp_port + 1
    # The public web site (bots/web): directory, status, figures, how to start.
    web = data.setdefault("web", {})  # a config from before the site has no section
    web["enabled"] = True
    web["listen"] = f"127.0.0.1:{args.web_port}"
    if not data["mail"].get("token_secret"):
        data["mail"]["token_secret"] = secrets.token_urlsafe(32)
    with open(paths.config, "w", encoding="utf-8") as stream:
        yaml.dump(data, stream)
    os.chmod(paths.config, 0o600)  # it holds the appservice tokens


def generate_registration(paths: Paths) -> None:
    """Through the real CLI, as an operator would: fresh tokens into config and registration."""
    command = [sys.executable, "-m", "bridge", "-g", "-c", str(paths.config),
               "-r", str(paths.registration)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not paths.registration.exists():
        raise DemoError(f"{' '.join(command)} failed ({done.returncode}):\n"
                        f"{done.stdout}{done.stderr}")


def sync_registration(paths: Paths, bridge_url: str) -> None:
    """Keep the existing registration, the homeserver's copy: its tokens win over the config's.

    Only its URL follows --bridge-port, so a later run on another port still gets events, and
    the end-to-end encryption flags are added to an older one.
    """
    yaml = config_yaml()
    with open(paths.registration, encoding="utf-8") as stream:
        registration = yaml.load(stream)
    # A demo folder from before end-to-end encryption lacks the registration's flags for it.
    e2ee = {"receive_ephemeral": True, "org.matrix.msc3202": True, "io.element.msc4190": True}
    if registration.get("url") != bridge_url or any(registration.get(k) != v for k, v in e2ee.items()):
        registration["url"] = bridge_url
        registration.update(e2ee)
        with open(paths.registration, "w", encoding="utf-8") as stream:
            yaml.dump(registration, stream)
        os.chmod(paths.registration, 0o600)
    with open(paths.config, encoding="utf-8") as stream:
        data = yaml.load(stream)
    for key in ("as_token", "hs_token"):
        data["appservice"][key] = registration[key]
    with open(paths.config, "w", encoding="utf-8") as stream:
        yaml.dump(data, stream)


def namespace_prefix(paths: Paths) -> str:
    with open(paths.config, encoding="utf-8") as stream:
        return str(YAML(typ="safe").load(stream)["appservice"]["namespace_prefix"])


# -- Synapse and accounts ---------------------------------------------------------------------


def pin_synapse_port(workdir: Path, port: int) -> None:
    """devstack.Synapse reuses an existing homeserver.yaml's port; --port must win."""
    config_path = workdir / "homeserver.yaml"
    if not config_path.exists():
        return
    yaml = YAML()
    with open(config_path, encoding="utf-8") as stream:
        config = yaml.load(stream)
    if int(config["listeners"][0]["port"]) == port:
        return
    config["listeners"][0]["port"] = port
    config["public_baseurl"] = f"http://127.0.0.1:{port}/"
    with open(config_path, "w", encoding="utf-8") as stream:
        yaml.dump(config, stream)


def start_synapse(paths: Paths, port: int) -> Synapse:
    pin_synapse_port(paths.synapse, port)
    # Presence on, so the departments show online while someone is on duty (off in the tests'
    # homeserver, where only the presence test needs it). Room version 10 by default, which the
    # bridge follows: every client can read it (nheko 0.11 cannot read a version-12 space).
    # Unauthenticated media downloads too: nheko 0.11 fetches avatars and images only that way
    # (measured: with Synapse's default it shows placeholders where the avatars are).
    synapse = Synapse(paths.synapse, server_name=DOMAIN, port=port,
                      app_service_config_files=[paths.registration],
                      extra_config={"presence": {"enabled": True}, "default_room_version": "10",
                                    "enable_authenticated_media": False})
    synapse.start(timeout=120)
    return synapse


def demo_accounts(officers: list[str]) -> list[Account]:
    accounts = [Account(CITIZEN[0], CITIZEN[1], "citizen"),
                Account(ADMIN[0], ADMIN[1], "admin", admin=True),
                Account(CITY_ADMIN[0], CITY_ADMIN[1], "admin")]
    accounts += [Account(name, OFFICER_PASSWORD, "officer") for name in officers]
    return accounts


def register_accounts(synapse: Synapse, accounts: list[Account]) -> None:
    for account in accounts:
        try:
            _, token = synapse.register(account.localpart, account.password, admin=account.admin)
        except SynapseError as err:
            # e.g. the password was changed from Element on an earlier run: keep going.
            print(f"  ! {account.localpart}: {err}", flush=True)
            continue
        # register() leaves a logged-in device behind; drop it so Element's device list stays
        # clean however often the demo restarts.
        synapse.request("POST", "/_matrix/client/v3/logout", {}, access_token=token)


# -- the bridge -------------------------------------------------------------------------------


def start_bridge(paths: Paths) -> subprocess.Popen[bytes]:
    with open(paths.bridge_log, "ab") as log:
        # Its own session: a Ctrl+C in the terminal reaches only us, and we stop the bridge
        # before Synapse, so it never logs errors about a homeserver that vanished first.
        return subprocess.Popen(
            [sys.executable, "-m", "bridge", "-c", str(paths.config)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def bridge_ready(port: int) -> bool:
    try:
        with _OPENER.open(f"http://127.0.0.1:{port}/_matrix/mau/ready", timeout=2) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not found)"


def wait_bridge_ready(process: subprocess.Popen[bytes], paths: Paths, port: int) -> None:
    """The first start creates every department room, which takes a while: show dots."""
    deadline = time.monotonic() + READY_TIMEOUT
    next_dot = time.monotonic() + 2
    while not bridge_ready(port):
        if process.poll() is not None:
            raise DemoError(f"\nthe bridge exited with code {process.returncode}; "
                            f"last lines of {paths.bridge_log}:\n{tail(paths.bridge_log)}")
        if time.monotonic() > deadline:
            raise DemoError(f"\nthe bridge was not ready within {READY_TIMEOUT:.0f} s; "
                            f"last lines of {paths.bridge_log}:\n{tail(paths.bridge_log)}")
        if time.monotonic() >= next_dot:
            print(".", end="", flush=True)
            next_dot += 2
        time.sleep(0.2)
    print(flush=True)


def stop_bridge(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # mautrix's Program turns it into a clean shutdown
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- what the person sees ---------------------------------------------------------------------


def space_alias(prefix: str) -> str:
    """The top space 浙江政务通 · 网上值班室 (bots/directory/layout.py TOP)."""
    return f"#{prefix}space:{DOMAIN}"


def print_info(args: argparse.Namespace, paths: Paths, prefix: str, officers: list[str],
               province: list[Department]) -> None:
    url = f"http://127.0.0.1:{args.port}"
    officer_list = ", ".join(officers) if officers else "(none in the roster)"
    ghosts = "\n".join(f"    @{prefix}{d.id}:{DOMAIN}  {d.name}" for d in province[:6])
    print(f"""
================ 浙江政务通 · 网上值班室 — demo ================
主服务器 / Homeserver:   {url}
网页 / Web page:         http://127.0.0.1:{args.web_port}/  (部门名录、值班状态、公开数据 / directory, status, figures)

用 Element 登录 / Sign in with Element (Web or Desktop):
  登录 → 编辑主服务器 → {url}
  Sign in → Edit homeserver → {url}
  其他客户端（nheko、FluffyChat 等）：在登录界面填写主服务器地址 {url}
  Other clients (nheko, FluffyChat, …): type the homeserver URL {url} on the login screen
  (the server name "{DOMAIN}" cannot be discovered from a user name).
  从另一台机器访问 / From another machine, tunnel first:
    ssh -L {args.port}:127.0.0.1:{args.port} <this-host>

账号 / Accounts (username / password):
  市民 citizen:      {CITIZEN[0]} / {CITIZEN[1]}
  管理员 admin:      {ADMIN[0]} / {ADMIN[1]}   (全省 / the province)
  杭州市管理员:      {CITY_ADMIN[0]} / {CITY_ADMIN[1]}   (杭州 only)
  值班人员 officers: {officer_list} / {OFFICER_PASSWORD}

空间 / Space:  {space_alias(prefix)}
  在 Element 中“加入房间/空间”并输入该地址 / In Element, join it by this address:
  省级部门和十一个设区市的空间都在其下 / the province's and the 11 cities' spaces are below it.
私信部门 / DM a department (start a chat with its ghost), e.g.:
{ghosts}
邮件 / Mail sent by the bridge lands in:  {paths.maildir}
  The mail office answers by replying to the Reply-To address (reply+…@reply.{DOMAIN})
  through SMTP on 127.0.0.1:{args.smtp_port + 1}, e.g. with swaks or aiosmtplib.
知识库 / Knowledge base: ask 省人力社保厅 (@{prefix}rlsbt:{DOMAIN}) "失业金怎么领" out of
  working hours: the reply lists matching entries; reply "1" to read one. Officers: "!答 词".
值班室命令 / Officers' thread commands: !认领 !转办 <部门> !备注 !办结, and !历史 (the case's record
  reposted: sign in on a second device and it reads what came before) — README "Officers".
省长信箱 / Letters: DM @{prefix}mailbox:{DOMAIN} · 监督投诉 / Complaints: DM @{prefix}complaints:{DOMAIN}
考核 / Assessment: as admin, in the administrators' room (#{prefix}admins:{DOMAIN}) send
  `!考核 {time.strftime('%Y-%m')}` (this month: what you did in the demo), `!考核` (last month) or
  `!考核 2026-W47 hz`: figures, a chart, .xlsx and .csv (docs/assessment.md)
我的数据 / Your data: in any of these DMs send !我的数据 (a copy) or !删除我的数据 (erase);
  the admin reads the audit trail with !审计 in the administrators' room.
政府版通知 / Notices: as admin, DM @{prefix}notices:{DOMAIN} and write 新通知 (receipts: !回执 in an
  officers' room); staff space #{prefix}staff_zj:{DOMAIN} (docs/notices.md)
日志 / Logs:  bridge {paths.bridge_log}
              Synapse {paths.synapse / 'homeserver.log'}
按 Ctrl+C 停止 / Ctrl+C to stop.
===============================================================
""", flush=True)


# -- main -------------------------------------------------------------------------------------


def on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    paths = Paths(args.dir.resolve())
    prepare_dir(paths.root, args.reset)
    check_ports(args)
    documents = roster_documents()
    officers = officer_localparts(documents, DOMAIN)
    all_departments = departments(documents)
    province = [d for d in all_departments if d.jurisdiction == PROVINCE]

    started = time.monotonic()
    write_bridge_config(paths, args)
    bridge_url = f"http://127.0.0.1:{args.bridge_port}"
    if paths.registration.exists():
        sync_registration(paths, bridge_url)
    else:
        print("生成注册文件 / Generating the registration …", flush=True)
        generate_registration(paths)
    prefix = namespace_prefix(paths)

    synapse: Synapse | None = None
    sink: MailSink | None = None
    bridge: subprocess.Popen[bytes] | None = None
    try:
        print(f"启动 Synapse / Starting Synapse on 127.0.0.1:{args.port} …", flush=True)
        synapse = start_synapse(paths, args.port)
        sink = MailSink(port=args.smtp_port, maildir=paths.maildir)
        sink.start()
        print(f"邮件接收 / SMTP sink on 127.0.0.1:{args.smtp_port} → {paths.maildir}", flush=True)
        register_accounts(synapse, demo_accounts(officers))
        first = "" if paths.database.exists() else (
            f"; 首次启动创建 {len(all_departments)} 个部门房间，约需一两分钟 / the first start "
            f"creates {len(all_departments)} department rooms, allow a minute or two")
        print(f"启动桥接 / Starting the bridge (log: {paths.bridge_log}){first}",
              end="", flush=True)
        bridge = start_bridge(paths)
        wait_bridge_ready(bridge, paths, args.bridge_port)
        print(f"就绪 / Ready in {time.monotonic() - started:.1f} s", flush=True)
        print_info(args, paths, prefix, officers,
                   province[:4] + [d for d in all_departments if d.id in ("hzgaj", "hzrx")])
        if args.once:
            ok = verify(synapse, CITIZEN, space_alias(prefix), len(all_departments))
            from devstack.demo_knowledge import show_knowledge  # the knowledge base (issue #21)

            ok = show_knowledge(synapse, prefix, CITIZEN, DOMAIN) and ok
            ok = verify_devices(synapse, CITIZEN, [f"@{prefix}{d.id}:{DOMAIN}"
                                                   for d in all_departments]) and ok
            return 0 if verify_web(args.web_port, len(all_departments)) and ok else 1
        return watch(bridge, synapse, paths)
    except Stop as why:
        print(f"\n{why}: 正在停止 / stopping …", flush=True)
        return 0
    finally:
        # A second Ctrl+C must not cut the shutdown short; every stop below has a time limit.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        print("停止 / Stopping …", flush=True)
        stop_bridge(bridge)
        if sink is not None:
            sink.stop()
        if synapse is not None:
            synapse.stop()


def watch(bridge: subprocess.Popen[bytes], synapse: Synapse, paths: Paths) -> int:
    """Run until a signal; a child dying on its own is reported instead of ignored."""
    while True:
        time.sleep(1)
        if bridge.poll() is not None:
            print(f"the bridge exited with code {bridge.returncode}; last lines of "
                  f"{paths.bridge_log}:\n{tail(paths.bridge_log)}", flush=True)
            return 1
        if not synapse.is_running:
            print(f"Synapse exited; last lines of its log:\n{synapse.log_tail()}", flush=True)
            return 1


def main(argv: list[str] | None = None) -> int:
    # Chinese text on a terminal that cannot show it should degrade, not crash the demo.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace", line_buffering=True)
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        return run(args)
    except DemoError as err:
        print(f"错误 / Error: {err}", file=sys.stderr, flush=True)
        return 1
    except Stop:
        return 0


if __name__ == "__main__":
    sys.exit(main())
