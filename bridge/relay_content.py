"""Rewrite message content crossing between a citizen's DM and the officers' room.

Pure functions, no I/O. The consultation relay re-sends an officer's thread reply to the citizen
from the department's ghost, and a citizen's message into the officers' thread. On the way to a
citizen nothing may identify an officer or another citizen (PRODUCT.md: "Officers' personal
identities and other citizens' identities never leak to a citizen"), so the content is rebuilt
from an allowlist of keys instead of being copied and patched: anything we do not understand is
dropped rather than forwarded.

What is removed on the way to a citizen:
- Matrix IDs (``@user:server``), room IDs, event IDs, aliases of rooms on our own server;
- user pills and every matrix.to / ``matrix:`` link (they point into the officers' room);
- reply fallbacks (``<mx-reply>`` and the leading ``> <@user:server> ...`` quote lines);
- ``m.mentions`` (emptied) and ``m.relates_to`` (the caller adds relations that point at the
  citizen-room events it maps to);
- every caller-supplied hidden name (officers' display names and aliases, other citizens'
  pseudonyms and IDs), unless it is the signature the department chose to sign with.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import nh3

from .crypto.media import clean_file
from .matrix_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL

# Links may use these schemes (the spec's list); images only mxc:, since a remote image would
# leak the reader's IP address.
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"https", "http", "ftp", "mailto", "magnet"})
IMG_URL_SCHEMES: frozenset[str] = frozenset({"mxc"})

OFFICER_PLACEHOLDER = "[值班人员]"
HIDDEN_PLACEHOLDER = "[已隐去]"
LINK_PLACEHOLDER = "[链接已隐去]"

HTML_FORMAT = "org.matrix.custom.html"
TEXT_MSGTYPES = frozenset({"m.text", "m.notice", "m.emote"})
MEDIA_MSGTYPES = frozenset({"m.image", "m.file", "m.video", "m.audio"})
# Keys of `info` that describe the media and carry no identity. `thumbnail_file` (encrypted)
# is dropped: the caller re-uploads and we do not relay encrypted media yet.
_INFO_KEYS = frozenset(
    {"mimetype", "size", "w", "h", "duration", "thumbnail_url", "thumbnail_info"}
)
_THUMB_INFO_KEYS = frozenset({"mimetype", "size", "w", "h"})

# Tags whose whole content goes, not just the tag: the reply fallback quotes the officers' room,
# and the raw-text elements would otherwise surface their source markup as visible text.
_CLEAN_CONTENT_TAGS = frozenset(
    {"mx-reply", "script", "style", "iframe", "noscript", "noembed", "noframes", "xmp",
     "template", "textarea", "title"}
)  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img"})
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.\-]{1,40}")

# --- identifier patterns -----------------------------------------------------------------------
# Invisible characters an identifier may be split with (copy/paste from clients inserts them).
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_GAP = f"[{_INVISIBLE}]*"
# A server name must contain a letter (or be an IP literal) so "#1:30" or "!ok:2" stay text.
_SERVER = (
    r"(?:\[[0-9A-Fa-f:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z0-9\-]*[A-Za-z][A-Za-z0-9.\-]*)"
    r"(?::\d{1,5})?"
)
# Full-width sigils and colons included: they read the same to a citizen.
_MXID = re.compile(rf"[@＠][^\s:：@＠<>\"'&\[\]]+[:：]{_SERVER}")
# No look-behind on "!" and "#": "xx!room:server" must not slip through; a false positive only
# hides a word, a false negative shows a citizen an internal room.
_ROOM_ID = re.compile(rf"[!！][A-Za-z0-9._~=\-/+]+[:：]{_SERVER}")
_EVENT_ID = re.compile(rf"\$[A-Za-z0-9+/_\-]{{40,}}|\$[A-Za-z0-9._~=\-/+]+[:：]{_SERVER}")
_ALIAS = re.compile(rf"[#＃]([^\s:：#＃<>\"'&]+)[:：]({_SERVER})")
# "@zhang" without a server still names a colleague; "a@b.c" (e-mail) is not matched.
_BARE_MENTION = re.compile(r"(?<![A-Za-z0-9._%+\-@＠])[@＠](?!room\b)[A-Za-z0-9][A-Za-z0-9._=\-/]*")
_URL = re.compile(
    r"(?:https?|ftp)://[^\s<>\"]+|matrix:(?:u|r|roomid|user|room)/[^\s<>\"]+", re.IGNORECASE
)


def _tolerant(name: str) -> str:
    """Regex for `name` that also matches it split by invisible characters."""
    return _GAP.join(re.escape(ch) for ch in name)


def _clean_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str):
            continue
        name = name.strip()
        if name:
            seen.setdefault(name.casefold(), name)
    return list(seen.values())


def contains_identifier(text: str, identifiers: Iterable[str]) -> bool:
    """True if any identifier occurs in `text` - also HTML-unescaped or percent-decoded, in
    any letter case, or split by invisible characters (how a leak would slip past a plain
    substring test)."""
    names = _clean_names(identifiers)
    if not names:
        return False
    pattern = re.compile("|".join(_tolerant(n) for n in names), re.IGNORECASE)
    variants = {text, html.unescape(text), _decode(text)}
    return any(pattern.search(v) for v in variants)


def _decode(text: str) -> str:
    # Repeated because links may be double-encoded (%2540 -> %40 -> @).
    for _ in range(3):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _is_matrix_link(url: str) -> bool:
    """matrix.to permalinks and matrix: URIs: they always point at users, rooms or events."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() == "matrix":
        return True
    host = (parts.hostname or "").lower()
    return host == "matrix.to" or host.endswith(".matrix.to")


def _user_in_link(url: str) -> str | None:
    """The user a matrix.to / matrix:u/ link names, or None if it names no user."""
    decoded = _decode(url.strip())
    parts = urlsplit(decoded)
    if parts.scheme.lower() == "matrix":
        m = re.match(r"(?:u|user)/([^?#]+)", parts.path, re.IGNORECASE)
        return "@" + m.group(1) if m else None
    if _is_matrix_link(decoded):
        m = re.match(r"/?(@[^/?]+)", parts.fragment)
        return m.group(1) if m else None
    return None


# --- text scrubbing ----------------------------------------------------------------------------
class _Scrubber:
    """Replaces identifiers in a piece of plain text. Built once per message."""

    def __init__(
        self,
        hidden_names: Iterable[str],
        domain: str,
        signature: str | None,
        public_aliases: Iterable[str] = (),
    ) -> None:
        keep = signature.strip().casefold() if signature else None
        names = [n for n in _clean_names(hidden_names) if n.casefold() != keep]
        variants: list[str] = []
        for name in names:
            variants.append(name)
            m = re.fullmatch(r"[@＠]([^:：]+)[:：].+", name)
            if m:
                # A hidden MXID also leaks as "@zhang" or "zhang@" (an e-mail on the same
                # localpart); the bare localpart alone is left, it is often an ordinary word.
                variants += ["@" + m.group(1), m.group(1) + "@"]
        self.hidden_ids = {n.casefold() for n in names}
        self.domain = domain.strip().casefold()
        self.public_aliases = {a.strip().casefold() for a in public_aliases if isinstance(a, str)}
        # Longest first so "张三丰" is not left as "[已隐去]丰".
        variants = sorted(set(variants), key=len, reverse=True)
        self.names = (
            re.compile("|".join(_tolerant(v) for v in variants), re.IGNORECASE)
            if variants
            else None
        )
        self.all_names = variants

    def _id_placeholder(self, mxid: str) -> str:
        # Other citizens (in the hidden list) read as "hidden", everyone else is staff.
        normal = mxid.replace("＠", "@").replace("：", ":").casefold()
        return HIDDEN_PLACEHOLDER if normal in self.hidden_ids else OFFICER_PLACEHOLDER

    def url_leaks(self, url: str) -> bool:
        """True if a URL must not reach a citizen: matrix links, or any identifier inside."""
        if _is_matrix_link(url):
            return True
        decoded = _decode(url)
        if _MXID.search(decoded) or _ROOM_ID.search(decoded) or _EVENT_ID.search(decoded):
            return True
        if any(self._alias_internal(m) for m in _ALIAS.finditer(decoded)):
            return True
        return bool(self.names and (self.names.search(decoded) or self.names.search(url)))

    def _alias_internal(self, m: re.Match[str]) -> bool:
        # Aliases on our own server name internal rooms (the officers' rooms among them);
        # public directory rooms the department wants to name are passed in as public_aliases.
        alias = m.group(0).replace("＃", "#").replace("：", ":").casefold()
        if alias in self.public_aliases:
            return False
        server = m.group(2).casefold()
        # startswith, not ==: text glued to the alias ("#x:gov.example0") extends the match.
        return not self.domain or server.startswith(self.domain) or f".{self.domain}" in server

    def __call__(self, text: str) -> str:
        def url(m: re.Match[str]) -> str:
            link = m.group(0)
            user = _user_in_link(link)
            if user is not None:
                return self._id_placeholder(user)
            if _is_matrix_link(link):
                return HIDDEN_PLACEHOLDER
            return LINK_PLACEHOLDER if self.url_leaks(link) else link

        text = _URL.sub(url, text)
        text = _MXID.sub(lambda m: self._id_placeholder(m.group(0)), text)
        text = _ROOM_ID.sub(HIDDEN_PLACEHOLDER, text)
        text = _EVENT_ID.sub(HIDDEN_PLACEHOLDER, text)
        text = _ALIAS.sub(
            lambda m: HIDDEN_PLACEHOLDER if self._alias_internal(m) else m.group(0), text
        )
        if self.names is not None:
            text = self.names.sub(HIDDEN_PLACEHOLDER, text)
        return _BARE_MENTION.sub(OFFICER_PLACEHOLDER, text)

    def leaks(self, text: str) -> bool:
        """Safety net over text that was scrubbed in pieces (an identifier split across HTML
        text nodes, e.g. 张<b>三</b>, escapes per-node scrubbing)."""
        joined = text.translate({ord(c): None for c in _INVISIBLE})
        if _MXID.search(joined) or _ROOM_ID.search(joined) or _EVENT_ID.search(joined):
            return True
        if any(self._alias_internal(m) for m in _ALIAS.finditer(joined)):
            return True
        return contains_identifier(text, self.all_names)


# --- HTML --------------------------------------------------------------------------------------
def _nh3_clean(source: str) -> str:
    attributes = {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()}
    return nh3.clean(
        source,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes=attributes,
        # "matrix" and "mxc" pass nh3 so the rebuild below can tell a user pill (replaced)
        # from any other link (unwrapped); the rebuild enforces the real per-tag schemes.
        url_schemes=set(ALLOWED_URL_SCHEMES | IMG_URL_SCHEMES | {"matrix"}),
        link_rel=None,
        strip_comments=True,
    )


def _scheme(url: str) -> str:
    return urlsplit(url.strip()).scheme.lower()


class _Rebuilder(HTMLParser):
    """Re-emits nh3's (well-formed) output tag by tag, enforcing what nh3 cannot express:
    per-tag URL schemes, language-* code classes, colour syntax, and the removal of links
    into Matrix. Text nodes go through the scrubber when one is given."""

    def __init__(self, scrub: _Scrubber | None) -> None:
        super().__init__(convert_charrefs=True)
        self.scrub = scrub
        self.out: list[str] = []
        self.text: list[str] = []
        self.links: list[bool] = []  # per open <a>: was the tag kept?
        self.suppress = 0  # depth inside a replaced user pill

    def _text(self, value: str) -> str:
        return self.scrub(value) if self.scrub is not None else value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.suppress:
            self.suppress += tag == "a"
            return
        if tag not in ALLOWED_TAGS:
            return
        values = {k: v for k, v in attrs if v is not None and k in ALLOWED_ATTRIBUTES.get(tag, ())}
        if tag == "a":
            self._start_link(values)
            return
        kept: list[tuple[str, str]] = []
        for name, value in values.items():
            if name in ("data-mx-color", "data-mx-bg-color", "color"):
                if _COLOR.fullmatch(value.strip()):
                    kept.append((name, value.strip()))
            elif name == "class":  # only <code> has it
                classes = [c for c in value.split() if _CODE_CLASS.fullmatch(c)]
                if classes:
                    kept.append((name, " ".join(classes)))
            elif name in ("start", "width", "height"):
                if value.strip().isdigit():
                    kept.append((name, value.strip()))
            elif name == "src":
                if _scheme(value) in IMG_URL_SCHEMES:
                    kept.append((name, value.strip()))
            else:  # alt, title, data-mx-maths, data-mx-spoiler: free text a citizen sees
                kept.append((name, self._text(value)))
        if tag == "img" and not any(name == "src" for name, _ in kept):
            return  # an image without an mxc: source is either useless or a tracking pixel
        rendered = "".join(f' {name}="{html.escape(value)}"' for name, value in kept)
        self.out.append(f"<{tag}{rendered}>")

    def _start_link(self, values: dict[str, str]) -> None:
        href = values.get("href", "").strip()
        user = _user_in_link(href) if href else None
        if user is not None and self.scrub is not None:
            # A pill: its text is a display name we may not know, so replace it whole.
            placeholder = self.scrub._id_placeholder(user)
            self.out.append(html.escape(placeholder, quote=False))
            self.text.append(placeholder)
            self.suppress = 1
            return
        keep = bool(href) and _scheme(href) in ALLOWED_URL_SCHEMES and not _is_matrix_link(href)
        if keep and self.scrub is not None and self.scrub.url_leaks(href):
            keep = False
        self.links.append(keep)
        if keep:
            target = ' target="_blank"' if values.get("target") == "_blank" else ""
            self.out.append(f'<a href="{html.escape(href)}"{target} rel="{LINK_REL}">')

    def handle_endtag(self, tag: str) -> None:
        if self.suppress:
            self.suppress -= tag == "a"
            return
        if tag not in ALLOWED_TAGS or tag in _VOID_TAGS:
            return
        if tag == "a":
            if self.links and self.links.pop():
                self.out.append("</a>")
            return
        self.out.append(f"</{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self.suppress:
            return
        data = self._text(data)
        self.text.append(data)
        self.out.append(html.escape(data, quote=False))


def _rebuild(source: str, scrub: _Scrubber | None) -> tuple[str, str]:
    parser = _Rebuilder(scrub)
    parser.feed(_nh3_clean(source))
    parser.close()
    # Close any <a> left open (cannot happen with nh3's output, but costs nothing).
    parser.out.extend("</a>" for kept in parser.links if kept)
    return "".join(parser.out), "".join(parser.text)


def sanitise_html(source: str) -> str:
    """Matrix's allowlist via nh3; links keep rel=noopener; reply fallbacks (<mx-reply>) are
    removed with their content; matrix.to and matrix: links are unwrapped to their text
    (they point at users, rooms or events of the other side and mean nothing there)."""
    if not isinstance(source, str):
        return ""
    return _rebuild(source, None)[0]


# --- plain-text reply fallback -----------------------------------------------------------------
def strip_reply_fallback(body: str) -> str:
    """Remove the leading quote lines of a reply fallback and the blank line after them."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i and i < len(lines) and lines[i].strip() == "":
        i += 1
    return "\n".join(lines[i:])


# A reply fallback starts "> <@user:server> ..." (or "> * <@user:server>" for an emote); strip
# it even without m.in_reply_to, a client may send the text without the relation.
_FALLBACK_START = re.compile(r">\s(?:\*\s)?<[@＠]")


# --- content ------------------------------------------------------------------------------------
def _is_reply(content: Mapping[str, Any]) -> bool:
    rel = content.get("m.relates_to")
    return isinstance(rel, Mapping) and isinstance(rel.get("m.in_reply_to"), Mapping)


def _is_edit(content: Mapping[str, Any]) -> bool:
    rel = content.get("m.relates_to")
    return (
        isinstance(rel, Mapping)
        and rel.get("rel_type") == "m.replace"
        and isinstance(content.get("m.new_content"), Mapping)
    )


def _text_to_html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _media_fields(content: Mapping[str, Any], out: dict[str, Any]) -> None:
    url = content.get("url")
    if isinstance(url, str) and url.startswith("mxc://"):
        out["url"] = url  # the caller re-uploads; mxc ids are opaque media ids
    file = clean_file(content.get("file"))  # an encrypted attachment: its url and key only
    if file is not None:
        out["file"] = file
    info = content.get("info")
    if isinstance(info, Mapping):
        kept: dict[str, Any] = {}
        for key in _INFO_KEYS & info.keys():
            value = info[key]
            if key == "thumbnail_url":
                if isinstance(value, str) and value.startswith("mxc://"):
                    kept[key] = value
            elif key == "thumbnail_info":
                if isinstance(value, Mapping):
                    thumb = {
                        k: v
                        for k, v in value.items()
                        if k in _THUMB_INFO_KEYS and isinstance(v, (int, str))
                    }
                    if thumb:
                        kept[key] = thumb
            elif isinstance(value, (int, str)) and not isinstance(value, bool):
                kept[key] = value
        if kept:
            out["info"] = kept


def _rewrite(
    content: Mapping[str, Any],
    text: Callable[[str], str],
    formatted: Callable[[str, str], str | None],
    strip_fallback: bool,
) -> dict[str, Any]:
    """Rebuild one message content from the key allowlist. `text` rewrites plain strings,
    `formatted(html, scrubbed_body)` rewrites formatted_body (None drops it)."""
    msgtype = content.get("msgtype")
    # Unknown msgtypes (m.location's geo_uri, custom types) travel as plain text only.
    if not isinstance(msgtype, str) or msgtype not in TEXT_MSGTYPES | MEDIA_MSGTYPES:
        msgtype = "m.text"
    body = content.get("body")
    body = body if isinstance(body, str) else ""
    if strip_fallback or _FALLBACK_START.match(body):
        body = strip_reply_fallback(body)
    out: dict[str, Any] = {"msgtype": msgtype, "body": text(body)}
    source = content.get("formatted_body")
    if content.get("format") == HTML_FORMAT and isinstance(source, str):
        rewritten = formatted(source, out["body"])
        if rewritten and rewritten.strip():
            out["format"] = HTML_FORMAT
            out["formatted_body"] = rewritten
    if msgtype in MEDIA_MSGTYPES:
        _media_fields(content, out)
        filename = content.get("filename")
        if isinstance(filename, str) and filename:
            out["filename"] = text(filename)
    out["m.mentions"] = {}  # nobody is pinged across the bridge; the relay decides who is told
    return out


def _sign(out: dict[str, Any], signature: str | None) -> None:
    # Media bodies are file names or captions; the signature belongs on text messages only.
    if not signature or out["msgtype"] not in TEXT_MSGTYPES:
        return
    out["body"] += f"\n—— {signature}"
    if "formatted_body" in out:
        out["formatted_body"] += f"<br>—— {html.escape(signature, quote=False)}"


def _edit_fallback(new: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in new.items() if k != "m.mentions"}
    out["body"] = "* " + new["body"]
    if "formatted_body" in new:
        out["formatted_body"] = "* " + new["formatted_body"]
    out["m.new_content"] = new
    out["m.mentions"] = {}
    return out


def officer_to_citizen(
    content: Mapping[str, Any],
    *,
    hidden_names: Iterable[str],
    domain: str,
    signature: str | None = None,
    public_aliases: Iterable[str] = (),
) -> dict[str, Any]:
    """The citizen-side content for an officer's message (see the module docstring).

    `domain` is our homeserver's: room aliases on it are internal and hidden unless listed in
    `public_aliases`. For an edit the result is the scrubbed m.new_content plus a "* " fallback;
    the caller adds m.relates_to. Media keep url/info for the caller to re-upload."""
    if not isinstance(content, Mapping):
        return {"msgtype": "m.text", "body": "", "m.mentions": {}}
    scrub = _Scrubber(hidden_names, domain, signature, public_aliases)

    def formatted(source: str, scrubbed_body: str) -> str | None:
        rebuilt, visible = _rebuild(source, scrub)
        if scrub.leaks(visible) or scrub.leaks(html.unescape(rebuilt)):
            # An identifier split across tags survived: fall back to the scrubbed body.
            return _text_to_html(scrubbed_body)
        return rebuilt

    def one(message: Mapping[str, Any], reply: bool) -> dict[str, Any]:
        out = _rewrite(message, scrub, formatted, reply)
        _sign(out, signature)
        return out

    if _is_edit(content):
        return _edit_fallback(one(content["m.new_content"], False))
    return one(content, _is_reply(content))


def citizen_to_officer(content: Mapping[str, Any]) -> dict[str, Any]:
    """The officers' thread content for a citizen's message: HTML sanitised to the allowlist,
    reply fallbacks, mentions and relations dropped (the caller re-adds the thread relation).
    The citizen's own ID is never added here; what officers may see is the caller's call."""
    if not isinstance(content, Mapping):
        return {"msgtype": "m.text", "body": "", "m.mentions": {}}

    def formatted(source: str, _body: str) -> str | None:
        return sanitise_html(source)

    def keep(text: str) -> str:
        return text

    if _is_edit(content):
        return _edit_fallback(_rewrite(content["m.new_content"], keep, formatted, False))
    return _rewrite(content, keep, formatted, _is_reply(content))
