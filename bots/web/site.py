"""The public site's routes: HTML pages rendered on the server (Jinja2) and the JSON API.

Pages work with JavaScript off; static/live.js only refreshes the duty status in place.
Rendered directory pages and JSON are kept for the minute they were made in (the duty status
is worded to the minute; the key holds the roster object, so a reload shows an edit at once).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from bridge.roster import Roster

from .figures import FIELDS, FiguresTable, last_month_figures
from .security import RateLimiter, rate_limit, security_headers
from .tables import SORT_KEYS, cell, chart, csv_text, month_label, sorted_rows, table_view
from .texts import HTML_LANG, LANGS, text
from .views import (
    department_view,
    directory_view,
    jurisdiction_order,
    status_view,
    week_view,
)

HERE = Path(__file__).resolve().parent
SITE: web.AppKey[Site] = web.AppKey("site")
LANG_COOKIE = "lang"
ROOMS_TTL = 30.0  # seconds a read of the directory's room ids is reused
# Seconds the last month's figures are reused: they change only by late answers to last month's
# cases, and computing them for the whole province takes seconds at a million cases (on SQLite
# on the event loop's own thread, docs/assessment.md).
FIGURES_TTL = 600.0


class Site:
    """Everything the handlers need; `ctx` is the web bot's BotContext (roster, db, config,
    clock)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        cfg = ctx.config
        self.poll_seconds = int(cfg.get("web.poll_seconds", 60) or 0)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True,
        )
        self.env.globals.update(text=text, cell=cell, FIELDS=FIELDS, HTML_LANG=HTML_LANG,
                                month_label=month_label)
        self._rooms: tuple[float, dict[str, str]] = (0.0, {})
        self._figures: tuple[float, Any, FiguresTable | None] = (0.0, None, None)
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self._cache_roster: Roster | None = None

    # -- shared data ------------------------------------------------------------------------
    @property
    def roster(self) -> Roster:
        return self.ctx.roster

    async def room_ids(self) -> dict[str, str]:
        """The departments' read-only rooms, as the directory bot recorded them."""
        at, rooms = self._rooms
        if time.monotonic() - at < ROOMS_TTL:
            return rooms
        rooms = {}
        if await self.ctx.db.table_exists("directory_room"):
            rows = await self.ctx.db.fetch("SELECT dept_id, room_id FROM directory_room")
            rooms = {r["dept_id"]: r["room_id"] for r in rows}
        self._rooms = (time.monotonic(), rooms)
        return rooms

    async def figures(self) -> FiguresTable:
        at, key, table = self._figures
        now = self.ctx.clock.now()
        this_key = (self.roster, now.year, now.month)
        if table is None or key != this_key or time.monotonic() - at > FIGURES_TTL:
            table = await last_month_figures(self.ctx, now)
            self._figures = (time.monotonic(), this_key, table)
        return table

    def cached(self, *key: Any) -> tuple[tuple[Any, ...], bytes | None]:
        """The key of what is shown now: the roster in force and the minute."""
        roster = self.roster
        if roster is not self._cache_roster:  # an edit applied: nothing kept is current
            self._cache.clear()
            self._cache_roster = roster
        full = (int(self.ctx.clock.now().timestamp() // 60), *key)
        return full, self._cache.get(full)

    def keep(self, key: tuple[Any, ...], body: bytes) -> bytes:
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = body
        return body

    # -- responses --------------------------------------------------------------------------
    def render(self, request: web.Request, name: str, **values: Any) -> bytes:
        lang = lang_of(request)
        values["t"] = lambda key, **kw: text(lang, key, **kw)
        # Names stay Chinese on the English pages: marked so screen readers say them right.
        values["zh"] = (lambda s: Markup('<span lang="zh-Hans">{}</span>').format(s)) if (
            lang == "en") else (lambda s: s)
        values.update(lang=lang, poll=self.poll_seconds,
                      example=self.roster.example_data, other="en" if lang == "zh" else "zh")
        return self.env.get_template(name).render(**values).encode("utf-8")

    def page(self, request: web.Request, body: bytes, status: int = 200) -> web.Response:
        response = web.Response(body=body, status=status, content_type="text/html",
                                charset="utf-8")
        self._remember_lang(request, response)
        response.enable_compression()
        return response

    def json(self, request: web.Request, data: Any | bytes) -> web.Response:
        body = data if isinstance(data, bytes) else json.dumps(
            data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response = web.Response(body=body, content_type="application/json", charset="utf-8")
        response.enable_compression()
        return response

    @staticmethod
    def _remember_lang(request: web.Request, response: web.Response) -> None:
        if request.query.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang_of(request), max_age=365 * 86400, path="/",
                                samesite="Lax", httponly=True)

    def not_found(self, request: web.Request) -> web.Response:
        body = self.render(request, "error.html", message=text(lang_of(request), "error.not_found"))
        return self.page(request, body, status=404)

    # -- pages ------------------------------------------------------------------------------
    async def directory(self, request: web.Request) -> web.Response:
        roster = self.roster
        jurisdictions = jurisdiction_order(roster)
        jur_id = request.match_info.get("jurisdiction") or (
            jurisdictions[0].id if jurisdictions else "")
        if jur_id not in roster.jurisdictions:
            return self.not_found(request)
        key, body = self.cached("directory", jur_id, lang_of(request))
        if body is None:
            now = self.ctx.clock.now()
            view = directory_view(roster, self.ctx.config, now, await self.room_ids())
            current = next(j for j in view if j["id"] == jur_id)
            body = self.keep(key, self.render(request, "directory.html", jurisdictions=view,
                                              current=current))
        return self.page(request, body)

    async def department(self, request: web.Request) -> web.Response:
        roster = self.roster
        dept = roster.departments.get(request.match_info["dept_id"])
        if dept is None:
            return self.not_found(request)
        now = self.ctx.clock.now()
        view = department_view(dept, roster, self.ctx.config, now, await self.room_ids())
        figures = table_view(await self.figures(), roster)
        own = next((r for r in figures["departments"] if r["dept_id"] == dept.id), None)
        body = self.render(request, "department.html", dept=view,
                           week=week_view(roster, dept.id, now), figures=own,
                           month=figures["month"])
        return self.page(request, body)

    async def figures_page(self, request: web.Request) -> web.Response:
        """All jurisdictions, and the departments of one (`?j=`, default the province; `all`
        for every department: a long page, the CSV and JSON are better for that)."""
        roster = self.roster
        view = table_view(await self.figures(), roster)
        order = jurisdiction_order(roster)
        shown = request.query.get("j") or (order[0].id if order else "all")
        if shown != "all" and shown not in roster.jurisdictions:
            return self.not_found(request)
        sort = request.query.get("sort", "")
        sort = sort if sort in SORT_KEYS else ""
        default_order = "desc" if sort and sort != "name" else "asc"
        descending = request.query.get("order", default_order) == "desc"
        departments = [r for r in view["departments"] if shown in ("all", r["jurisdiction"])]
        jurisdictions = view["jurisdictions"]
        if sort:
            departments = sorted_rows(departments, sort, descending)
            jurisdictions = sorted_rows(jurisdictions, sort, descending)
        body = self.render(request, "figures.html", month=view["month"], departments=departments,
                           jurisdictions=jurisdictions, chart=chart(view["jurisdictions"]),
                           sort=sort, descending=descending, shown=shown, order=order)
        return self.page(request, body)

    async def figures_csv(self, request: web.Request) -> web.Response:
        view = table_view(await self.figures(), self.roster)
        response = web.Response(text=csv_text(view, lang_of(request)), content_type="text/csv",
                                charset="utf-8")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="dutyroom-figures-{view["month"]}.csv"')
        return response

    async def start_page(self, request: web.Request) -> web.Response:
        jurisdictions = jurisdiction_order(self.roster)
        space = (f"#{self.ctx.config.prefix}space_{jurisdictions[0].id}:{self.ctx.config.domain}"
                 if jurisdictions else "")
        return self.page(request, self.render(request, "start.html", space=space))

    # -- JSON -------------------------------------------------------------------------------
    async def api_departments(self, request: web.Request) -> web.Response:
        jur = request.query.get("jurisdiction")
        key, body = self.cached("api", jur)
        if body is None:
            view = directory_view(self.roster, self.ctx.config, self.ctx.clock.now(),
                                  await self.room_ids())
            data = {
                "generated_at": self.ctx.clock.now().isoformat(),
                "jurisdictions": [{"id": j["id"], "name": j["name"], "count": j["count"],
                                   "on_duty": j["on_duty"]} for j in view],
                "departments": [d for j in view if jur in (None, j["id"])
                                for c in j["categories"] for d in c["departments"]],
            }
            body = self.keep(key, json.dumps(data, ensure_ascii=False,
                                             separators=(",", ":")).encode("utf-8"))
        return self.json(request, body)

    async def api_department(self, request: web.Request) -> web.Response:
        roster = self.roster
        dept = roster.departments.get(request.match_info["dept_id"])
        if dept is None:
            raise web.HTTPNotFound(text='{"error":"unknown department"}',
                                   content_type="application/json")
        now = self.ctx.clock.now()
        data = department_view(dept, roster, self.ctx.config, now, await self.room_ids())
        data["week"] = week_view(roster, dept.id, now)
        return self.json(request, data)

    async def api_status(self, request: web.Request) -> web.Response:
        """Only the statuses, for the pages' live refresh (small, polled)."""
        key, body = self.cached("status")
        if body is None:
            roster, now = self.roster, self.ctx.clock.now()
            departments = {d: status_view(roster, d, now) for d in roster.departments}
            jurisdictions = {j: {"count": 0, "on_duty": 0} for j in roster.jurisdictions}
            for dept in roster.departments.values():
                counts = jurisdictions.setdefault(dept.jurisdiction, {"count": 0, "on_duty": 0})
                counts["count"] += 1
                counts["on_duty"] += departments[dept.id]["on_duty"]
            for counts in jurisdictions.values():
                counts["text"] = {lang: text(lang, "dir.on_duty_count", n=counts["on_duty"],
                                             total=counts["count"]) for lang in LANGS}
            data = {"departments": departments, "jurisdictions": jurisdictions}
            body = self.keep(key, json.dumps(data, ensure_ascii=False,
                                             separators=(",", ":")).encode("utf-8"))
        return self.json(request, body)

    async def api_figures(self, request: web.Request) -> web.Response:
        return self.json(request, table_view(await self.figures(), self.roster))


def lang_of(request: web.Request) -> str:
    """?lang= (which the response then remembers in a cookie), else the cookie, else Chinese."""
    asked = request.query.get("lang")
    if asked in LANGS:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGS else "zh"


def pages_not_found(site: Site) -> Any:
    """A page that does not exist answers with a page (in the visitor's language)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            if request.path.startswith(("/api/", "/static/")):
                raise
            return site.not_found(request)

    return middleware


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(HERE / "static" / "favicon.svg",
                            headers={"Content-Type": "image/svg+xml"})


def make_app(ctx: Any) -> web.Application:
    cfg = ctx.config
    site = Site(ctx)
    per_minute = float(cfg.get("web.rate_limit.per_minute", 0) or 0)
    limiter = RateLimiter(per_minute, int(cfg.get("web.rate_limit.burst", 60) or 60)) if (
        per_minute > 0) else None

    def refuse(request: web.Request, wait: float) -> web.Response:
        lang = request.cookies.get(LANG_COOKIE, "zh")
        response = web.Response(status=429, text=text(lang if lang in LANGS else "zh",
                                                      "error.rate_limited"))
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    app = web.Application(middlewares=[
        security_headers(int(cfg.get("web.proxy_cache_seconds", 15) or 0)),
        rate_limit(limiter, bool(cfg.get("web.trust_forwarded_for", False)), refuse),
        pages_not_found(site),
    ])
    app[SITE] = site
    app.router.add_get("/", site.directory)
    app.router.add_get("/j/{jurisdiction}", site.directory)
    app.router.add_get("/departments/{dept_id}", site.department)
    app.router.add_get("/figures", site.figures_page)
    app.router.add_get("/figures.csv", site.figures_csv)
    app.router.add_get("/start", site.start_page)
    app.router.add_get("/api/v1/departments", site.api_departments)
    app.router.add_get("/api/v1/departments/{dept_id}", site.api_department)
    app.router.add_get("/api/v1/status", site.api_status)
    app.router.add_get("/api/v1/figures", site.api_figures)
    app.router.add_static("/static/", HERE / "static", append_version=False)
    # Browsers ask for /favicon.ico whatever the page says.
    app.router.add_get("/favicon.ico", favicon)
    return app
