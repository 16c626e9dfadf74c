"""Headers every response of the public site carries, and the per-address request limit.

The site is meant to sit behind a reverse proxy that may cache it: pages and JSON change at
most once a minute (the duty status is worded to the minute), so proxies may keep them
`s-maxage` seconds while browsers always ask again (a reload shows a roster edit at once).
A response that sets the language cookie is never cached.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# No inline script or style anywhere: the pages' only script and stylesheet are files of ours.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers(proxy_seconds: int) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as e:
            response = e
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        if "Cache-Control" not in h:
            if response.cookies or "Set-Cookie" in h or response.status >= 400:
                h["Cache-Control"] = "no-store"
            elif request.path.startswith("/static/"):
                h["Cache-Control"] = "public, max-age=3600"
            else:
                h["Cache-Control"] = f"public, max-age=0, s-maxage={proxy_seconds}"
                # The language comes from ?lang= or the cookie: a proxy keys on both.
                h["Vary"] = "Cookie"
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware


class RateLimiter:
    """A token bucket per client address: `per_minute` requests a minute on average, bursts of
    `burst`. Buckets idle for a while are forgotten, so memory follows the active clients."""

    def __init__(self, per_minute: float, burst: int, now: Callable[[], float] = time.monotonic
                 ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}
        self._swept = now()

    def allow(self, address: str) -> tuple[bool, float]:
        """(allowed, seconds until the next request would be)."""
        now = self.now()
        if now - self._swept > 60:
            idle = self.burst / self.rate if self.rate else 0
            self._buckets = {a: b for a, b in self._buckets.items() if now - b[1] < idle}
            self._swept = now
        tokens, last = self._buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False, (1 - tokens) / self.rate
        self._buckets[address] = (tokens - 1, now)
        return True, 0.0


def rate_limit(limiter: RateLimiter | None, forwarded_for: bool,
               refuse: Callable[[web.Request, float], web.Response]
               ) -> Callable[..., Awaitable[web.StreamResponse]]:
    """`forwarded_for`: take the client address from the last X-Forwarded-For hop (set it only
    behind a proxy of one's own, which appends the real address); else the peer's address."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if limiter is None:
            return await handler(request)
        address = request.remote or "?"
        if forwarded_for and "X-Forwarded-For" in request.headers:
            address = request.headers["X-Forwarded-For"].split(",")[-1].strip() or address
        allowed, wait = limiter.allow(address)
        if not allowed:
            return refuse(request, wait)
        return await handler(request)

    return middleware
