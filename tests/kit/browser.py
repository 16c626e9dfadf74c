"""A real headless browser for the public web site's tests: Debian's chromium, driven by
Playwright with `executable_path` (Playwright's own browser download is not used).

`watched(page)` records what a visitor would call broken: console errors, uncaught script
errors, failed requests and answers of 400 or more; the tests assert that stays empty.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def launch_args() -> list[str]:
    # Chromium's sandbox refuses to run as root (the CI machine runs the suite as root).
    return ["--no-sandbox"] if os.geteuid() == 0 else []


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)  # statuses a test expects (404 pages)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.items.append(
            f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.items.append(f"script error: {e}"))
        # ERR_ABORTED: the page was left before the request ended (the next goto), not broken.
        page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and self.items.append(
            f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and r.status not in self.allowed
                and self.items.append(f"HTTP {r.status}: {r.url}"))
