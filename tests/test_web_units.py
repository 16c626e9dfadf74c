"""The web site's pure parts, without a homeserver: the rate limiter's bucket, the month the
figures cover, the listen address, sorting with missing figures, the CSV and cell formats."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.web.bot import parse_listen
from bots.web.figures import FiguresRow, FiguresTable, last_full_month
from bots.web.security import RateLimiter
from bots.web.tables import cell, csv_text, month_label, sorted_rows, table_view
from bridge.roster import load_roster
from bridge.roster.files import roster_files

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def roster():
    return load_roster(roster_files([str(ROOT / "rosters" / "example")], ROOT))


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, now=lambda: now[0])
    assert [limiter.allow("a")[0] for _ in range(4)] == [True, True, True, False]
    allowed, wait = limiter.allow("a")
    assert not allowed and 0.9 <= wait <= 1.0  # one a second
    assert limiter.allow("b")[0]  # per address
    now[0] = 1.01
    assert limiter.allow("a")[0] and not limiter.allow("a")[0]
    now[0] = 1000.0  # idle buckets are forgotten, and a returning client has its burst again
    assert [limiter.allow("a")[0] for _ in range(3)] == [True, True, True]
    assert "b" not in limiter._buckets


def test_the_last_full_month_in_the_rosters_time_zone(roster) -> None:
    # 1 January 00:30 in Shanghai is still 31 December in UTC: the month is the local one.
    month, start, end = last_full_month(roster, datetime(2026, 12, 31, 16, 30,
                                                         tzinfo=ZoneInfo("UTC")))
    assert month == date(2026, 12, 1)
    assert start == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert end == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    month, _, _ = last_full_month(roster, datetime(2027, 1, 15, tzinfo=SHANGHAI))
    assert month == date(2026, 12, 1)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:8090") == ("127.0.0.1", 8090)
    assert parse_listen("[::]:8090") == ("::", 8090)
    assert parse_listen(":8090") == ("0.0.0.0", 8090)
    with pytest.raises(ValueError, match="host:port"):
        parse_listen("8090x")


def test_rows_without_data_stay_last_and_read_as_a_dash(roster) -> None:
    table = FiguresTable(date(2026, 10, 1), departments=[
        FiguresRow("fgw", "zj", cases=3, satisfaction_rate=0.5),
        FiguresRow("gat", "zj", cases=None),
        FiguresRow("jxt", "zj", cases=7, satisfaction_rate=None),
    ], jurisdictions=[FiguresRow(None, "zj", cases=10)])
    view = table_view(table, roster)
    for descending in (True, False):
        ids = [r["dept_id"] for r in sorted_rows(view["departments"], "cases", descending)]
        assert ids[-1] == "gat"
    assert [r["dept_id"] for r in sorted_rows(view["departments"], "cases", True)] == [
        "jxt", "fgw", "gat"]
    assert cell(None, "cases", "zh") == "—"
    assert cell(0.5, "satisfaction_rate", "zh") == "50.0%"
    assert cell(12.25, "first_response_median_minutes", "en") == "12.2"
    assert month_label("2026-10", "zh") == "2026年10月"
    assert month_label("2026-10", "en") == "October 2026"
    csv = csv_text(view, "zh")
    assert csv.startswith("\ufefflevel,id,名称,jurisdiction,cases,")
    assert "jurisdiction,zj,浙江省,zj,10,,,," in csv
    assert "department,fgw,浙江省发展和改革委员会,zj,3,,,,0.5" in csv
    assert "department,gat,浙江省公安厅,zj,,,,," in csv


class _Config(dict):
    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key, default)


async def test_a_taken_port_stops_the_start_with_a_clear_error() -> None:
    import logging
    import socket
    from types import SimpleNamespace

    from bots.web import WebBot

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        ctx = SimpleNamespace(config=_Config({"web.enabled": True,
                                              "web.listen": f"127.0.0.1:{port}"}),
                              log=logging.getLogger("test"))
        bot = WebBot(ctx)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} \\(web.listen\\)"):
            await bot.start()
        assert bot.runner is None
    finally:
        taken.close()
