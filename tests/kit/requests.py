"""Counting the requests the bridge makes to the homeserver, by kind (tests and the benchmark)."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from yarl import URL

# Room ids, user ids, aliases (raw or %-encoded) and transaction ids become placeholders.
_ID = re.compile(r"/(?:[!@#]|%21|%40|%23)[^/?]+")
_TXN = re.compile(r"/(send/[^/]+|state/[^/]+)/[^/?]+$")


def request_kind(method: str, url: str) -> str:
    path = URL(url).path if "://" in url else url
    path = _ID.sub("/{id}", path)
    path = _TXN.sub(lambda m: "/" + m.group(1) + "/{key}", path)
    return f"{method.upper()} {path}"


@contextmanager
def count_requests(prefix: str) -> Iterator[tuple[Counter[str], Counter[str]]]:
    """Count every aiohttp request whose URL starts with `prefix` (the homeserver), and sum the
    seconds until its response headers arrived (body reading is not included)."""
    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    original = aiohttp.ClientSession._request

    async def counting(self: aiohttp.ClientSession, method: str, str_or_url: Any,
                       *args: Any, **kwargs: Any) -> Any:
        url = str(str_or_url)
        if not url.startswith(prefix):
            return await original(self, method, str_or_url, *args, **kwargs)
        kind = request_kind(method, url)
        counts[kind] += 1
        start = time.perf_counter()
        try:
            return await original(self, method, str_or_url, *args, **kwargs)
        finally:
            seconds[kind] += time.perf_counter() - start

    aiohttp.ClientSession._request = counting  # type: ignore[method-assign]
    try:
        yield counts, seconds
    finally:
        aiohttp.ClientSession._request = original  # type: ignore[method-assign]
