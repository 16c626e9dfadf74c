"""The public web site (issue #19) in a real headless Chromium, against the real bridge and
homeserver with the example roster: every department listed, the duty status at a time the
roster says (on duty; off on a holiday with the right next opening), the language switch, the
links, screenshots at phone and desktop width, a roster edit after one reload, the headers, no
personal data, the rate limit. One bridge per database serves the whole module (the example
roster takes a while to provision); each test leaves the clock where it found it.

Counts come from the loaded roster, never from this file: the example roster grows.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from bots.web.site import SITE
from bridge.clock import FixedClock
from bridge.roster import Roster
from bridge.roster.status import duty_status
from bridge.runtime import Runtime
from tests.conftest import BACKENDS
from tests.kit.bridge import InProcessBridge, write_config
from tests.kit.browser import Problems, chromium_path, launch_args
from tests.kit.duty import SHANGHAI
from tests.kit.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
# 2026's Spring Festival holiday runs from 15 to 23 February; work starts again on Tuesday 24th.
SPRING_FESTIVAL = datetime(2026, 2, 17, 10, 0, tzinfo=SHANGHAI)
SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Site:
    url: str
    runtime: Runtime
    clock: FixedClock
    prefix: str
    roster_dir: Path
    stack: Stack

    @property
    def roster(self) -> Roster:
        return self.runtime.rosters.current

    def dept_room(self, dept_id: str) -> str:
        return next(b for b in self.runtime.bots if b.name == "directory").dept_rooms[dept_id]


@pytest.fixture(scope="module", params=BACKENDS)
async def site(request: pytest.FixtureRequest, stack: Stack,
               tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        database = f"sqlite:{tmp}/bridge.db"
    else:
        database = request.getfixturevalue("postgres").create_database(
            f"web_{secrets.token_hex(4)}")
    roster_dir = tmp / "roster"
    shutil.copytree(ROOT / "rosters" / "example", roster_dir)
    prefix = f"dutyroom_w{secrets.token_hex(2)}x_"
    settings = stack.bridge_settings(database, prefix, [str(roster_dir / "*.yaml")])
    settings.extra.update({
        "web.poll_seconds": 1,
        # The limit is per address: the browser (127.0.0.1) stays far under it, and the rate
        # test speaks for other addresses through X-Forwarded-For.
        "web.rate_limit.per_minute": 600, "web.rate_limit.burst": 300,
        "web.trust_forwarded_for": True,
        # What the site does not read is left out to keep the module quick: officers' rooms,
        # presence, avatars (the directory's rooms and accounts are what its links name).
        "bots.disabled": ["officers", "presence"],
        "presence.enabled": False, "avatars.enabled": False,
    })
    clock = FixedClock(FRIDAY_10)
    bridge = InProcessBridge(write_config(tmp / "config.yaml", settings), clock)
    runtime = await bridge.start()
    web = next(b for b in runtime.bots if b.name == "web")
    try:
        yield Site(web.url, runtime, clock, prefix, roster_dir, stack)
    finally:
        await bridge.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.fail("chromium not found: ./scripts/test installs Debian's chromium")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=path, args=launch_args())
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh visitor (no cookies) whose page fails the test on any console error or failed
    request."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    problems = Problems()
    problems.attach(opened)
    yield opened
    await context.close()
    assert problems.items == []


def department_ids_shown(html_ids: list[str]) -> set[str]:
    return {i.removeprefix("d-") for i in html_ids}


def a_department(roster: Roster, hours: str) -> str:
    """A department on the named hours set and without shifts of its own, from the roster."""
    return next(d.id for d in sorted(roster.departments.values(), key=lambda d: d.order)
                if d.hours == hours and not roster.shifts_of(d.id))


async def test_the_directory_lists_every_department_with_its_status_and_links(
    site: Site, page: Any
) -> None:
    roster = site.roster
    shown: set[str] = set()
    for jur in roster.jurisdictions:
        await page.goto(f"{site.url}/j/{jur}")
        ids = await page.eval_on_selector_all("li.dept", "els => els.map(e => e.id)")
        shown |= department_ids_shown(ids)
    assert shown == set(roster.departments)
    # On duty at a time the roster says so: an ordinary Friday morning on the default hours.
    office = a_department(roster, "default")
    await page.goto(f"{site.url}/j/{roster.departments[office].jurisdiction}")
    assert await page.get_attribute("html", "lang") == "zh-Hans"
    status = page.locator(f'[data-status="{office}"]')
    assert await status.inner_text() == "在线值班 · 至 12:00"
    assert "on" in (await status.get_attribute("class") or "")

    # "Chat now" opens a DM with the department's account; the room link is its read-only
    # room, whose alias the homeserver resolves to the room the directory made.
    account = f"@{site.prefix}{office}:localhost"
    chat = page.locator(f"#d-{office} a.chat")
    assert await chat.get_attribute("href") == f"https://matrix.to/#/{account}"
    room_link = await page.locator(f"#d-{office} a.room").get_attribute("href")
    alias = f"#{site.prefix}{office}:localhost"
    assert room_link == f"https://matrix.to/#/{quote(alias, safe='@:')}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.stack.url}/_matrix/client/v3/directory/room/"
                            f"{quote(alias)}") as resp:
            assert (await resp.json())["room_id"] == site.dept_room(office)
        async with http.get(f"{site.url}/api/v1/departments/{office}") as resp:
            data = await resp.json()
    assert data["account"] == account and data["room_id"] == site.dept_room(office)
    mail = page.locator(f"#d-{office} a.mail")
    assert await mail.get_attribute("href") == f"mailto:{roster.departments[office].email}"


async def test_off_duty_on_a_holiday_with_the_next_opening_and_live_updates(
    site: Site, page: Any
) -> None:
    roster = site.roster
    office = a_department(roster, "default")
    site.clock.set(SPRING_FESTIVAL)
    try:
        await page.goto(f"{site.url}/departments/{office}")
        status = page.locator(f'[data-status="{office}"]')
        assert await status.inner_text() == "下班 · 2月24日（周二）08:30 上班"
        # This week's timetable marks the holiday and its name, and today.
        today = page.locator('tr[data-date="2026-02-17"]')
        assert "holiday" in (await today.get_attribute("class") or "")
        assert "春节" in await today.inner_text() and "今天" in await today.inner_text()
        assert "休息" in await today.locator("td").inner_text()

        # The page's script follows the clock without a reload (it polls every second here):
        # the departments' statuses and the jurisdiction's count.
        jur = roster.departments[office].jurisdiction
        await page.goto(f"{site.url}/j/{jur}")
        here = [d for d in roster.departments.values() if d.jurisdiction == jur]
        total = len(here)
        # The count's definition is the roster's (checked department by department above).
        on_duty = sum(duty_status(roster, d.id, FRIDAY_10).on_duty for d in here)
        summary = page.locator(f'[data-summary="{jur}"]')
        on_duty_on_holiday = await summary.inner_text()
        site.clock.set(FRIDAY_10)
        await expect(status).to_have_text("在线值班 · 至 12:00", timeout=10_000)
        await expect(summary).to_have_text(f"{on_duty}/{total} 个部门在线值班", timeout=10_000)
        assert on_duty_on_holiday != await summary.inner_text()
    finally:
        site.clock.set(FRIDAY_10)

    # 调休: the Saturday before the holiday is a working day, marked so.
    site.clock.set(datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI))
    try:
        await page.goto(f"{site.url}/departments/{office}")
        saturday = page.locator('tr[data-date="2026-02-14"]')
        assert "adjusted" in (await saturday.get_attribute("class") or "")
        assert "调休上班" in await saturday.inner_text()
        assert await page.locator(f'[data-status="{office}"]').inner_text() == "在线值班 · 至 12:00"
    finally:
        site.clock.set(FRIDAY_10)


async def test_the_language_switch_is_remembered(site: Site, page: Any) -> None:
    office = a_department(site.roster, "default")
    await page.goto(f"{site.url}/j/{site.roster.departments[office].jurisdiction}")
    await page.click("a.lang")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator(f'[data-status="{office}"]').inner_text() == "On duty · until 12:00"
    # Department names stay Chinese, marked as such for screen readers.
    assert await page.locator(f"#d-{office} a.name span").get_attribute("lang") == "zh-Hans"
    # Remembered: a page opened without ?lang= is English too, and so after a reload.
    await page.goto(site.url + "/figures")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator("h1").inner_text() == "Public figures"
    await page.reload()
    assert await page.get_attribute("html", "lang") == "en"
    await page.click("a.lang")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "zh-Hans"
    await page.goto(site.url + "/start")
    assert await page.locator("h1").inner_text() == "如何开始"


async def test_phone_and_desktop_layouts_with_screenshots(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    """360 px wide: nothing wider than the screen; keyboard: the first Tab reaches the skip
    link, and every link is reachable. Screenshots under the test's tmp dir (and, with
    DUTYROOM_UPDATE_SCREENSHOTS=1, into docs/screenshots for the README)."""
    import os

    for name, size in (("phone", {"width": 360, "height": 780}),
                       ("desktop", {"width": 1280, "height": 900})):
        context = await browser.new_context(viewport=size)
        page = await context.new_page()
        problems = Problems()
        problems.attach(page)
        for path in ("/", f"/departments/{a_department(site.roster, 'default')}", "/figures",
                     "/start"):
            await page.goto(site.url + path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            if path != "/figures":  # the figures table scrolls inside its own box
                assert width <= size["width"], (name, path, width)
        await page.goto(site.url + "/")
        shot = tmp_path / f"web-{name}.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("DUTYROOM_UPDATE_SCREENSHOTS"):
            shutil.copy(shot, SCREENSHOTS / shot.name)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip"
        await page.keyboard.press("Enter")  # the skip link moves on to the content
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.closest('main') !== null")
        await context.close()
        assert problems.items == []


# Every element with text of its own: its colour against the first opaque background behind
# it, as WCAG 2 computes contrast; 4.5:1 for text, 3:1 for large text (24 px, or 18.7 px bold).
CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg") || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(el.tagName + "." + el.className + ": " + ratio.toFixed(2));
  }
  return bad;
}"""


async def test_text_contrast_meets_wcag_aa(site: Site, page: Any) -> None:
    office = a_department(site.roster, "default")
    for path in ("/", "/?lang=en", f"/departments/{office}", "/figures", "/start"):
        await page.goto(site.url + path)
        assert await page.evaluate(CONTRAST) == [], path
    # The skip link, once focused, is readable too.
    await page.keyboard.press("Tab")
    assert await page.evaluate(CONTRAST) == []


async def test_department_and_figures_pages(site: Site, page: Any) -> None:
    roster = site.roster
    office = a_department(roster, "default")
    # A consultation opened last month counts in the figures (the row is what the consultation
    # bot writes; no citizen or officer detail of it is shown).
    opened = int(datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI).timestamp() * 1000)
    await site.runtime.db.execute(
        "INSERT INTO consult_case (ref, dept_id, citizen, dm_room, officers_room,"
        " opened_by_event, status, opened_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
        f"WEB-{secrets.token_hex(3)}", office, "@citizen_secret:localhost", "!dm:localhost",
        "!officers:localhost", f"$web{secrets.token_hex(4)}", opened)
    web = next(b for b in site.runtime.bots if b.name == "web")
    web.runner.app[SITE]._figures = (0.0, None, None)  # forget the cached figures

    jur = roster.departments[office].jurisdiction
    await page.goto(f"{site.url}/figures?j={jur}&sort=cases&order=desc")
    assert await page.locator("h1").inner_text() == "公开数据"
    assert "2026年10月" in await page.locator("p.lead").inner_text()
    first = page.locator('table[data-level="department"] tbody tr').first
    assert roster.departments[office].name in await first.inner_text()
    assert "暂无数据" == await first.locator("abbr").first.get_attribute("title")
    assert await page.locator("figure.chart svg rect").count() == len(roster.jurisdictions)
    # Sorting without a reload (the script) and by the server (the links) agree.
    await page.goto(f"{site.url}/figures?j={jur}")
    await page.click('table[data-level="department"] th[data-key="cases"] a')
    assert roster.departments[office].name in await page.locator(
        'table[data-level="department"] tbody tr').first.inner_text()

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.url}/figures.csv") as resp:
            assert resp.content_type == "text/csv"
            csv = (await resp.read()).decode("utf-8-sig")
        async with http.get(f"{site.url}/api/v1/figures") as resp:
            figures = await resp.json()
    assert f"department,{office},{roster.departments[office].name}" in csv
    row = next(r for r in figures["departments"] if r["dept_id"] == office)
    assert row["cases"] == 1 and row["satisfaction_rate"] is None
    assert row["claim_on_time_rate"] == 0.0  # the assessment's figure: never claimed in time
    assert figures["month"] == "2026-10"


async def test_a_roster_edit_shows_after_one_reload(site: Site, page: Any) -> None:
    # A department whose description stands on one line of its file, to edit it as a person would.
    files = {p: p.read_text(encoding="utf-8") for p in sorted(site.roster_dir.glob("*.yaml"))}
    office, departments = next(
        (d.id, path) for d in site.roster.departments.values() for path, content in files.items()
        if d.description and f"description: {d.description}\n" in content)
    old = site.roster.departments[office].description
    await page.goto(f"{site.url}/departments/{office}")
    assert await page.locator("p.desc").inner_text() == old
    text = files[departments]
    new = "网上值班室测试：本部门的说明已经改过。"
    departments.write_text(text.replace(f"description: {old}", f"description: {new}"),
                           encoding="utf-8")
    try:
        assert await site.runtime.rosters.check_now()
        await page.reload()
        assert await page.locator("p.desc").inner_text() == new
    finally:
        departments.write_text(text, encoding="utf-8")
        await site.runtime.rosters.check_now()


async def test_headers_and_no_personal_data(site: Site) -> None:
    roster = site.roster
    secrets_ = {o.mxid for o in roster.officers.values()} | {
        o.alias for o in roster.officers.values()} | {
        s for d in roster.departments.values() for s in d.supervisors}
    localparts = {m.split(":")[0] for m in secrets_ if m.startswith("@")}
    paths = ["/", "/figures", "/figures.csv", "/start", "/api/v1/departments",
             "/api/v1/figures", "/api/v1/status", "/?lang=en"]
    paths += [f"/j/{j}" for j in roster.jurisdictions]
    paths += [f"/departments/{d}" for d in roster.departments]
    paths += [f"/api/v1/departments/{d}" for d in list(roster.departments)[:20]]
    async with aiohttp.ClientSession() as http:
        for path in paths:
            async with http.get(site.url + path) as resp:
                assert resp.status == 200, path
                body = await resp.text()
                h = resp.headers
            csp = h["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert h["X-Content-Type-Options"] == "nosniff"
            assert h["Referrer-Policy"] == "no-referrer"
            assert "Cache-Control" in h
            if "lang=" in path:
                assert h["Cache-Control"] == "no-store"  # it sets the cookie
            else:
                assert "s-maxage=" in h["Cache-Control"] and h["Vary"] == "Cookie"
            found = [s for s in secrets_ | localparts if s in body]
            assert found == [], (path, found)
            assert "citizen_secret" not in body and "!dm:localhost" not in body
            if path.startswith(("/j/", "/departments/")) or path in ("/", "/figures"):
                assert len(body.encode()) < 100_000, path
            # No asset from another host: every src/href to a file is our own.
            assert not re.search(r'(src|href)="(https?:)?//(?!matrix\.to/)', body), path
        async with http.get(site.url + "/static/style.css") as resp:
            assert "max-age" in resp.headers["Cache-Control"]
        async with http.get(site.url + "/departments/nope") as resp:
            assert resp.status == 404 and resp.headers["Cache-Control"] == "no-store"


async def test_the_rate_limit_is_per_address(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        async def get(address: str) -> aiohttp.ClientResponse:
            async with http.get(site.url + "/api/v1/status",
                                headers={"X-Forwarded-For": address}) as resp:
                await resp.read()
                return resp

        answers = await asyncio.gather(*(get("203.0.113.7") for _ in range(400)))
        statuses = [r.status for r in answers]
        refused = [r for r in answers if r.status == 429]
        assert 290 <= statuses.count(200) <= 340 and refused  # the burst, then refusals
        assert int(refused[0].headers["Retry-After"]) >= 1
        assert refused[0].headers["Cache-Control"] == "no-store"
        assert (await get("203.0.113.8")).status == 200  # another address is unaffected
