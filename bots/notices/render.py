"""A notice's body: Markdown rendered to Matrix HTML, cut down to Matrix's allowlist with nh3
(a sender's Markdown may carry raw HTML; officers' clients must only get what Matrix allows)."""

from __future__ import annotations

import html

import markdown
import nh3

from bridge.matrix_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL

URL_SCHEMES = {"https", "http", "mailto", "mxc"}


def to_html(text: str) -> str:
    rendered = markdown.markdown(text, extensions=["tables", "sane_lists", "fenced_code"])
    return nh3.clean(rendered, tags=set(ALLOWED_TAGS),
                     attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=URL_SCHEMES, link_rel=LINK_REL)


def escape(text: str) -> str:
    return html.escape(text, quote=False)
