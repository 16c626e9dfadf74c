"""Rewrite message content crossing between a citizen's DM and the officers' room.

Pure functions, no I/O. The consultation relay re-sends an officer's thread reply to the citizen
from the department's ghost, and a citizen's message into the officers' thread. On the way to a
citizen nothing may identify an officer or another citizen (PRODUCT.md: "Officers' personal
identities and other citizens' identities never leak to a citizen"), so the content is rebuilt
from an allowlist of keys instead of being copied and patched: anything we do not understand is
dropped rather than forwarded.

What is removed on the way to a citizen (the identifier forms: bridge/matrix_ids.py):
- Matrix IDs (``@user:server``), room IDs with and without a server part (room version 12 has
  none), event IDs, aliases of rooms on our own server - in bodies, HTML text, link text and
  attributes, full-width or percent-encoded; a user ID reads as [值班人员] only if it is one of
  the department's staff, anyone else's as the neutral [已隐去] (a citizen is no officer);
- user pills and every matrix.to / ``matrix:`` link (they point into the officers' room);
- every citizen pseudonym (市民 #4821, Citizen #4821, a bare #4821) except the recipient's
  own. The pattern is hidden rather than a list of known pseudonyms: no lookup can miss one
  (a citizen of another department, one created a moment ago), and a false positive only
  hides a number;
- reply fallbacks (``<mx-reply>`` and the leading ``> <@user:server> ...`` quote lines);
- ``m.mentions`` (emptied) and ``m.relates_to`` (the caller adds relations that point at the
  citizen-room events it maps to);
- every caller-supplied hidden name (officers' display names and aliases, the officers' room
  ID), unless it is the signature the department chose to sign with.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import nh3

from .crypto.media import clean_file
from .matrix_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL
from .matrix_ids import (
    ALIAS,
    BARE_MENTION,
    EVENT_ID,
    INVISIBLE,
    MXID,
    PERCENT_RUN,
    PSEUDONYM,
    ROOM_ID,
    URL,
    URL_SEPARATORS,
    decode,
    is_matrix_link,
    label_number,
    names_matrix_entity,
    normal_id,
    pseudonym_number,
    split_url,
    tolerant,
    user_in_link,
)

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
_MATRIX_LINK = re.compile(r"(?:https?://)?matrix\.to/\S*|matrix:\S+", re.IGNORECASE)
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.\-]{1,40}")
_DROP_INVISIBLE = {ord(c): None for c in INVISIBLE}

# --- text scrubbing ----------------------------------------------------------------------------
def _clean_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str):
            continue
        name = name.strip()
        if name:
            seen.setdefault(name.casefold(), name)
    return list(seen.values())


@lru_cache(maxsize=64)
def _names_pattern(variants: tuple[str, ...]) -> re.Pattern[str] | None:
    # Cached: a department's hidden names are the same for every reply, and compiling an
    # alternation of a few hundred names costs more than scrubbing the message.
    if not variants:
        return None
    return re.compile("|".join(tolerant(v) for v in variants), re.IGNORECASE)


def _search_variants(pattern: re.Pattern[str], text: str) -> bool:
    """Also HTML-unescaped and percent-decoded: how a leak would slip past a plain search."""
    return any(pattern.search(v) for v in {text, html.unescape(text), decode(text)})


def contains_identifier(text: str, identifiers: Iterable[str]) -> bool:
    """True if any identifier occurs in `text` - also HTML-unescaped or percent-decoded, in
    any letter case, or split by invisible characters (how a leak would slip past a plain
    substring test)."""
    pattern = _names_pattern(tuple(_clean_names(identifiers)))
    return pattern is not None and _search_variants(pattern, text)


class _Scrubber:
    """Replaces identifiers in a piece of plain text. Built once per message."""

    def __init__(
        self,
        hidden_names: Iterable[str],
        domain: str,
        signature: str | None,
        public_aliases: Iterable[str] = (),
        staff_ids: Iterable[str] = (),
        own_pseudonym: str | None = None,
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
        self.staff = {normal_id(s) for s in staff_ids if isinstance(s, str)}
        self.staff_localparts = {s[1:].split(":")[0] for s in self.staff if s.startswith("@")}
        self.own = label_number(own_pseudonym)
        self.domain = domain.strip().casefold()
        self.public_aliases = {normal_id(a.strip()) for a in public_aliases if isinstance(a, str)}
        # Longest first so "张三丰" is not left as "[已隐去]丰".
        self.names = _names_pattern(tuple(sorted(set(variants), key=lambda v: (-len(v), v))))

    def _id_placeholder(self, mxid: str) -> str:
        # Only the department's staff read as staff; anyone else (another citizen, a stranger)
        # reads as hidden, so a citizen is never called an officer.
        return OFFICER_PLACEHOLDER if normal_id(mxid) in self.staff else HIDDEN_PLACEHOLDER

    def _mention(self, m: re.Match[str]) -> str:
        local = m.group(0)[1:].casefold()
        return OFFICER_PLACEHOLDER if local in self.staff_localparts else HIDDEN_PLACEHOLDER

    def _pseudonym(self, m: re.Match[str]) -> str:
        # The recipient may read their own pseudonym; every other one is hidden, known or not:
        # matching the pattern needs no lookup that could miss a citizen.
        return m.group(0) if pseudonym_number(m) == self.own else HIDDEN_PLACEHOLDER

    def _foreign_pseudonym(self, text: str) -> bool:
        return any(pseudonym_number(m) != self.own for m in PSEUDONYM.finditer(text))

    def url_leaks(self, url: str) -> bool:
        """True if a URL must not reach a citizen: matrix links, or any identifier inside."""
        return is_matrix_link(url) or self._decoded_leaks(url, decode(url))

    def _decoded_leaks(self, raw: str, decoded: str) -> bool:
        if names_matrix_entity(decoded):
            return True
        if self._foreign_pseudonym(URL_SEPARATORS.sub(" ", decoded)):
            return True
        if any(self._alias_internal(m) for m in ALIAS.finditer(decoded)):
            return True
        return bool(self.names and (self.names.search(decoded) or self.names.search(raw)))

    def _encoded(self, m: re.Match[str]) -> str:
        run = m.group(0)
        if "%" not in run:
            return run
        decoded = decode(run)
        return HIDDEN_PLACEHOLDER if decoded != run and self._decoded_leaks(run, decoded) else run

    def _alias_internal(self, m: re.Match[str]) -> bool:
        # Aliases on our own server name internal rooms (the officers' rooms among them);
        # public directory rooms the department wants to name are passed in as public_aliases.
        if normal_id(m.group(0)) in self.public_aliases:
            return False
        server = m.group(2).casefold()
        # startswith, not ==: text glued to the alias ("#x:gov.example0") extends the match.
        return not self.domain or server.startswith(self.domain) or f".{self.domain}" in server

    def __call__(self, text: str) -> str:
        def url(m: re.Match[str]) -> str:
            link = m.group(0)
            user = user_in_link(link)
            if user is not None:
                return self._id_placeholder(user)
            if is_matrix_link(link):
                return HIDDEN_PLACEHOLDER
            return LINK_PLACEHOLDER if self.url_leaks(link) else link

        text = URL.sub(url, text)
        if "%" in text:
            text = PERCENT_RUN.sub(self._encoded, text)
        text = MXID.sub(lambda m: self._id_placeholder(m.group(0)), text)
        text = ROOM_ID.sub(HIDDEN_PLACEHOLDER, text)
        text = EVENT_ID.sub(HIDDEN_PLACEHOLDER, text)
        text = ALIAS.sub(
            lambda m: HIDDEN_PLACEHOLDER if self._alias_internal(m) else m.group(0), text
        )
        text = PSEUDONYM.sub(self._pseudonym, text)
        if self.names is not None:
            text = self.names.sub(HIDDEN_PLACEHOLDER, text)
        return BARE_MENTION.sub(self._mention, text)

    def leaks(self, text: str) -> bool:
        """Safety net over text that was scrubbed in pieces (an identifier split across HTML
        text nodes, e.g. 张<b>三</b>, escapes per-node scrubbing)."""
        joined = text.translate(_DROP_INVISIBLE)
        if names_matrix_entity(joined) or self._foreign_pseudonym(joined):
            return True
        if any(self._alias_internal(m) for m in ALIAS.finditer(joined)):
            return True
        return self.names is not None and _search_variants(self.names, text)


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
    parts = split_url(url)
    return parts.scheme.lower() if parts is not None else ""


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
                if _scheme(value) in IMG_URL_SCHEMES and not (
                    self.scrub is not None and self.scrub.url_leaks(value)
                ):
                    kept.append((name, value.strip()))
            else:  # alt, title, data-mx-maths, data-mx-spoiler: free text a citizen sees
                # Without a scrubber, matrix.to and matrix: links still go, as they do from hrefs.
                text = self._text(value) if self.scrub is not None else (
                    _MATRIX_LINK.sub(LINK_PLACEHOLDER, value))
                kept.append((name, text))
        if tag == "img" and not any(name == "src" for name, _ in kept):
            return  # an image without an mxc: source is either useless or a tracking pixel
        rendered = "".join(f' {name}="{html.escape(value)}"' for name, value in kept)
        self.out.append(f"<{tag}{rendered}>")

    def _start_link(self, values: dict[str, str]) -> None:
        href = values.get("href", "").strip()
        user = user_in_link(href) if href else None
        if user is not None and self.scrub is not None:
            # A pill: its text is a display name we may not know, so replace it whole.
            placeholder = self.scrub._id_placeholder(user)
            self.out.append(html.escape(placeholder, quote=False))
            self.text.append(placeholder)
            self.suppress = 1
            return
        keep = bool(href) and _scheme(href) in ALLOWED_URL_SCHEMES and not is_matrix_link(href)
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
    # Right under the last line: trailing blank lines, or a closing paragraph followed by a
    # line break, showed as an empty line before it.
    out["body"] = out["body"].rstrip() + f"\n—— {signature}"
    if "formatted_body" in out:
        formatted, line = out["formatted_body"].rstrip(), f"—— {html.escape(signature, quote=False)}"
        while formatted.endswith("<br>") or formatted.endswith("<br/>"):
            formatted = formatted.removesuffix("<br>").removesuffix("<br/>").rstrip()
        block_end = formatted.endswith(("</p>", "</ul>", "</ol>", "</pre>", "</blockquote>"))
        out["formatted_body"] = formatted + (f"<p>{line}</p>" if block_end else f"<br>{line}")


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
    staff_ids: Iterable[str] = (),
    own_pseudonym: str | None = None,
) -> dict[str, Any]:
    """The citizen-side content for an officer's message (see the module docstring).

    `domain` is our homeserver's: room aliases on it are internal and hidden unless listed in
    `public_aliases`. A user ID in `staff_ids` becomes [值班人员], any other [已隐去].
    `own_pseudonym` is the recipient's label (市民 #4821): it may stay, every other pseudonym
    goes. For an edit the result is the scrubbed m.new_content plus a "* " fallback; the caller
    adds m.relates_to. Media keep url/info for the caller to re-upload."""
    if not isinstance(content, Mapping):
        return {"msgtype": "m.text", "body": "", "m.mentions": {}}
    scrub = _Scrubber(hidden_names, domain, signature, public_aliases, staff_ids, own_pseudonym)

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
