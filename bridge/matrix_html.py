"""Matrix's HTML allowlist (client-server API, m.room.message formats): the one list that foreign
HTML is cut down to, whether it comes from a citizen's client (relay_content) or from a mail
(mail.sanitise). Each caller adds its own, stricter rules for URLs and attribute values."""

from __future__ import annotations

ALLOWED_TAGS: frozenset[str] = frozenset({
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup",
    "sub", "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div", "table", "thead",
    "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details", "summary",
    # Replaced by <s> in the spec, still written by older clients and by many mail programs.
    "strike",
})  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "font": frozenset({"data-mx-bg-color", "data-mx-color", "color"}),
    "span": frozenset({"data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"}),
    "div": frozenset({"data-mx-maths"}),
    "a": frozenset({"href", "target"}),
    "img": frozenset({"width", "height", "alt", "title", "src"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
}
# Added to every kept link. nh3's default also adds "noreferrer"; Matrix clients strip rel
# anyway, so one value is enough. Not an input attribute: a checker must allow it on <a>.
LINK_REL = "noopener"
