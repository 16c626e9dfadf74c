"""One checker for every sanitiser's output: what is left outside Matrix's allowlist."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from bridge.matrix_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL


class _Checker(HTMLParser):
    def __init__(self, link_schemes: frozenset[str], image_schemes: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.link_schemes, self.image_schemes = link_schemes, image_schemes
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset()) | ({"rel"} if tag == "a" else set())
        for name, value in attrs:
            value = value or ""
            if name not in allowed:
                self.problems.append(f"{tag}[{name}]")
            elif name == "href" and urlsplit(value).scheme not in self.link_schemes:
                self.problems.append(f"href {value}")
            elif name == "src" and urlsplit(value).scheme not in self.image_schemes:
                self.problems.append(f"src {value}")
            elif name == "rel" and value != LINK_REL:
                self.problems.append(f"rel {value}")
            elif name == "class" and not all(c.startswith("language-") for c in value.split()):
                self.problems.append(f"class {value}")

    handle_startendtag = handle_starttag


def allowlist_problems(html: str, link_schemes: frozenset[str],
                       image_schemes: frozenset[str]) -> list[str]:
    """Tags, attributes and URLs in `html` that the allowlist (with these schemes) does not allow."""
    checker = _Checker(link_schemes, image_schemes)
    checker.feed(html)
    checker.close()
    return checker.problems
