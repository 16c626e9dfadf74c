"""The public web site (issue #19): who is on duty now, how to reach each department, and the
public figures, served on its own listener (`web.listen`).

Its own aiohttp site, never the appservice's: the appservice port takes the homeserver's
transactions and must stay private, while this one may face the internet (behind a reverse
proxy that may cache it). The site reads the roster in force, the clock and the directory's
room table; it writes nothing.
"""

from __future__ import annotations

from aiohttp import web

from bridge.bot import Bot
from bridge.context import BotContext

from .site import make_app


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (all addresses)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"web.listen must be host:port, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class WebBot(Bot):
    name = "web"

    def __init__(self, ctx: BotContext) -> None:
        super().__init__(ctx)
        self.runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None  # where it listens, once started

    @property
    def url(self) -> str | None:
        if self.address is None:
            return None
        host, port = self.address
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    async def start(self) -> None:
        cfg = self.ctx.config
        if not cfg.get("web.enabled", False):
            return
        host, port = parse_listen(str(cfg["web.listen"]))
        self.runner = web.AppRunner(make_app(self.ctx), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        try:
            await site.start()
        except OSError as e:
            await self.runner.cleanup()
            self.runner = None
            # The bridge does not start half-configured: the operator asked for the site.
            raise RuntimeError(f"The public web site cannot listen on {host}:{port} "
                               f"(web.listen): {e.strerror or e}. Choose another address in "
                               "web.listen, or set web.enabled: false.") from e
        # Port 0 picks a free one (tests): read back the real address.
        bound = self.runner.addresses[0] if self.runner.addresses else (host, port)
        self.address = (str(bound[0]), int(bound[1]))
        self.ctx.log.info("Public web site on %s", self.url)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
