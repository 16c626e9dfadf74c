"""A running duty room for consultation tests: bridge, officers in their rooms, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bridge.clock import FixedClock
from bridge.runtime import Runtime
from tests.kit.bridge import BridgeSettings, InProcessBridge, write_config
from tests.kit.clients import MatrixUser, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


@dataclass
class DutyRoom:
    bridge: InProcessBridge
    runtime: Runtime
    clock: FixedClock
    prefix: str
    officers: dict[str, MatrixUser]          # name → officer client
    officers_rooms: dict[str, str] = field(default_factory=dict)

    def ghost(self, dept: str) -> str:
        return f"@{self.prefix}{dept}:localhost"

    def bot(self, name: str) -> Any:
        return next(b for b in self.runtime.bots if b.name == name)


def roster_officers(officers: dict[str, tuple[str, str, str]]) -> str:
    """officers.yaml text: name → (mxid, alias, dept)."""
    lines = ["officers:"]
    for mxid, alias, dept in officers.values():
        lines += [f'  - mxid: "{mxid}"', f'    alias: "{alias}"', f"    departments: [{dept}]"]
    return "\n".join(lines) + "\n"


ALWAYS_OPEN = """working_hours:
  always:
    every_day: ["00:00-24:00"]
    departments: [fgw, gat, czt, hzfgw]
"""


async def prepare_roster(
    settings: BridgeSettings, roster_dir: Path, users: UserFactory, *, always_open: bool = False
) -> dict[str, MatrixUser]:
    """Registers officers (two for fgw, one for gat) and a fgw supervisor, writes the roster.

    `always_open` is for tests on the real clock, which may run at night.
    """
    if always_open:
        (roster_dir / "hours.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    officers = {"fgw1": await users("officer"), "fgw2": await users("officer"),
                "gat1": await users("officer"), "chief": await users("chief")}
    spec = {
        "fgw1": (officers["fgw1"].user_id, "值班员 01", "fgw"),
        "fgw2": (officers["fgw2"].user_id, "值班员 02", "fgw"),
        "gat1": (officers["gat1"].user_id, "值班员 11", "gat"),
    }
    (roster_dir / "officers.yaml").write_text(roster_officers(spec), encoding="utf-8")
    departments = roster_dir / "departments.yaml"
    text = departments.read_text(encoding="utf-8")
    text = text.replace(
        "    email: fgw@mail.example.gov.cn\n",
        f'    email: fgw@mail.example.gov.cn\n    supervisors: ["{officers["chief"].user_id}"]\n',
    )
    departments.write_text(text, encoding="utf-8")
    settings.rosters = [str(roster_dir / "*.yaml")]
    return officers


async def start_duty_room(
    settings: BridgeSettings, roster_dir: Path, tmp_path: Path, users: UserFactory,
    *, at: datetime = FRIDAY_10, extra_roster: Callable[[dict[str, MatrixUser]], str] | None = None,
) -> DutyRoom:
    """`extra_roster` returns more roster YAML (e.g. shifts) given the registered officers."""
    officers = await prepare_roster(settings, roster_dir, users)
    if extra_roster is not None:
        (roster_dir / "extra.yaml").write_text(extra_roster(officers), encoding="utf-8")
    clock = FixedClock(at)
    bridge = InProcessBridge(write_config(tmp_path / "config.yaml", settings), clock)
    runtime = await bridge.start()
    room = DutyRoom(bridge, runtime, clock, settings.prefix, officers)
    officers_bot = room.bot("officers")
    for name, client in officers.items():
        dept = "gat" if name.startswith("gat") else "fgw"
        room_id = officers_bot.room_of(dept)
        room.officers_rooms[dept] = room_id
        await client.join(room_id)
    return room
