"""A mail's HTML cut down to Matrix's allowlist (bridge/matrix_html.py) for a `formatted_body`.

Stricter than the spec where mail needs it: links only http/https/mailto, images only mxc:// (a
mail's http images would be fetched by every reader's client: tracking pixels), no style, no
class except `language-*` on code.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

from ..matrix_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL

LINK_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES: frozenset[str] = frozenset({"mxc"})
# Removed with their content: their text is never meant to be read (scripts, styles, mail
# headers' <title>, Outlook's <xml> blocks).
DROP_CONTENT_TAGS: frozenset[str] = frozenset({
    "script", "style", "title", "head", "noscript", "template", "xml", "iframe", "object",
    "embed", "svg", "math", "textarea", "select",
})

_COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")
_NUMBER = re.compile(r"[0-9]{1,5}\Z")
_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#-]{1,40}\Z")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def _url_ok(value: str, schemes: frozenset[str]) -> bool:
    # Browsers ignore tabs and newlines inside a scheme ("java\tscript:"): refuse any of them,
    # and refuse relative and protocol-relative URLs, whose target depends on the page.
    if _BAD_URL_CHARS.search(value) or ":" not in value:
        return False
    return value.split(":", 1)[0].lower() in schemes


def _filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "rel":
        return LINK_REL if tag == "a" else None
    if tag == "a" and attr == "href":
        return value.strip() if _url_ok(value.strip(), LINK_SCHEMES) else None
    if tag == "a" and attr == "target":
        return "_blank"
    if tag == "img" and attr == "src":
        return value if _url_ok(value, IMAGE_SCHEMES) else None
    if attr in ("color", "data-mx-color", "data-mx-bg-color"):
        return value if _COLOR.match(value) else None
    if attr in ("width", "height", "start"):
        return value if _NUMBER.match(value) else None
    if tag == "code" and attr == "class":
        return value if _LANGUAGE.match(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROP_CONTENT_TAGS),
    # "*" given (empty) so nh3 drops its default generic attributes (lang, title).
    attributes={"*": set(), **{tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}},
    attribute_filter=_filter,
    url_schemes=set(LINK_SCHEMES | IMAGE_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)


def sanitise_html(html: str) -> str:
    """HTML safe to put in a Matrix formatted_body: only the allowlist survives."""
    return _cleaner.clean(html.replace("\x00", ""))


_BLOCK = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                    "blockquote", "pre", "table", "hr", "ul", "ol"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._links: list[tuple[str, int]] = []  # open links: (target, where their text starts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_CONTENT_TAGS:
            self._skip += 1
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_CONTENT_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK and tag != "li":
            self.parts.append("\n")
        elif tag == "a" and self._links:
            # The target stays readable, as a plain-text mail program shows it: "官网 (https://…)".
            href, start = self._links.pop()
            shown = "".join(self.parts[start:]).strip()
            if href and not href.startswith("mailto:") and href not in shown:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body, for mails that carry no text/plain part and for messages
    reposted as text (a case's history): what a reader sees, not the Markdown typed."""
    parser = _Text()
    parser.feed(sanitise_html(html))
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()
