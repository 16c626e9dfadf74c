"""Patterns for every identifier a Matrix homeserver produces, and for citizens' pseudonyms.

Used by the privacy filter (bridge/relay_content.py) to find what may not reach a citizen.
Compiled once at import; every quantifier that can run over free text is either bounded or
stops at the next sigil, so a scan is linear in the text (the relay scrubs every officer reply,
and the benchmark measures bridge CPU per relayed event).

Forms covered (spec "Appendices: Identifier grammar", "Matrix URI scheme", matrix.to):
- user IDs ``@local:server``;
- room IDs ``!opaque:server`` (room versions 1-11) and ``!`` + 43 url-safe base64 characters
  with no server part (room version 12, MSC4291: the room ID is the create event's hash;
  Synapse checks ``[A-Za-z0-9\\-_]{43}``);
- event IDs ``$opaque:server`` (v1, v2) and ``$`` + 43 base64 characters (v3 standard, v4+
  url-safe), no server part;
- room aliases ``#local:server``;
- matrix.to links (with or without ``https://``) and ``matrix:`` URIs (``u/``, ``r/``,
  ``roomid/``, ``.../e/``), percent-encoded or not;
- every sigil and colon also full-width (``＠``, ``！``, ``＄``, ``＃``, ``：``), which read the
  same to a person; percent-encoded forms (``%40``, ``%21``, ``%3A``...) are decoded first (a
  URL as a whole, anything else as a PERCENT_RUN) and then matched;
- citizens' pseudonyms ``市民 #4821`` / ``Citizen #4821`` (bots/consultation: citizen_label).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote, urlsplit

# Invisible characters an identifier may be split with (copy/paste from clients inserts them).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
GAP = f"[{INVISIBLE}]*"
# CJK and full-width punctuation end a URL: "见https://matrix.to/#/@a:b，谢谢" must lose only the
# link, not the rest of the sentence.
_URL_END = "\u3000-\u303f\uff00-\uffef"

# Percent-encoded sigils are not in the patterns: the filter decodes URLs and percent-escaped
# runs (PERCENT_RUN) before it looks, which costs less than a "%40" alternative at every "%".
_USER = "[@＠]"
_ROOM = "[!！]"
_EVENT = "[$＄]"
_ALIAS_SIGIL = "[#＃]"
_COLON = "[:：]"
# A server name must contain a letter (or be an IP literal) so "#1:30" or "!ok:2" stay text.
SERVER = (
    r"(?:\[[0-9A-Fa-f:.]{2,45}\]|\d{1,3}(?:\.\d{1,3}){3}"
    r"|[A-Za-z0-9\-]{0,255}[A-Za-z][A-Za-z0-9.\-]{0,255})(?::\d{1,5})?"
)
# Server-less opaque IDs (v12 rooms, v3+ events): 43 base64 characters; 40+ also catches one
# glued to more text or split by an invisible character.
_HASH = rf"[A-Za-z0-9_\-+/{INVISIBLE}]{{40,}}"

MXID = re.compile(rf"{_USER}[^\s:：@＠<>\"'&\[\]]{{1,255}}{_COLON}{SERVER}")
# No look-behind on "!" and "#": "xx!room:server" must not slip through; a false positive only
# hides a word, a false negative shows a citizen an internal room.
ROOM_ID = re.compile(rf"{_ROOM}(?:[A-Za-z0-9._~=\-/+]{{1,255}}{_COLON}{SERVER}|{_HASH})")
EVENT_ID = re.compile(rf"{_EVENT}(?:{_HASH}|[A-Za-z0-9._~=\-/+]{{1,255}}{_COLON}{SERVER})")
# group(1): localpart, group(2): server.
ALIAS = re.compile(rf"{_ALIAS_SIGIL}([^\s:：#＃<>\"'&]{{1,255}}?){_COLON}({SERVER})")
# "@zhang" without a server still names someone; "a@b.c" (e-mail) is not matched.
BARE_MENTION = re.compile(
    r"(?<![A-Za-z0-9._%+\-@＠])[@＠](?!room\b)[A-Za-z0-9][A-Za-z0-9._=\-/]{0,254}"
)
URL = re.compile(
    rf"(?:(?:https?|ftp)://|(?<![A-Za-z0-9.\-])(?:[A-Za-z0-9\-]{{1,63}}\.){{0,4}}matrix\.to/"
    rf"|matrix:(?:u|r|roomid|user|room)/)[^\s<>\"{_URL_END}]+",
    re.IGNORECASE,
)
# A citizen's pseudonym: "市民 #4821" / "Citizen #4821" (up to ten digits), or a bare "#4821"
# (exactly four, the pseudonyms' range) that is not part of a word, a URL or a time ("#1:30").
# group("n"): the digits, possibly split by invisible characters.
PSEUDONYM = re.compile(
    rf"(?:(?:市民|citizen)[\s{INVISIBLE}]{{0,3}}[#＃][\s{INVISIBLE}]{{0,3}}"
    rf"(?P<n>\d(?:{GAP}\d){{0,9}})"
    rf"|(?<![A-Za-z0-9_/#&=?.%\-＃])[#＃](?P<b>\d(?:{GAP}\d){{3}})(?!\d)(?![:：]\d))",
    re.IGNORECASE,
)
# Separators of a URL's parts: "?q=#5216" or "/%235216" name a pseudonym once decoded, which the
# bare-"#4821" form (not glued to URL characters) would otherwise skip.
URL_SEPARATORS = re.compile(r"[/?&=;,+]")
# A run of URL characters holding percent-escapes, decoded and checked as a whole wherever it
# stands ("%40zhang%3Agov.example" pasted as plain text). Runs never overlap: linear.
PERCENT_RUN = re.compile(r"(?:[A-Za-z0-9._~\-+/!$#@:=&?;,]|%[0-9A-Fa-f]{2})+")
_MATRIX_URI = re.compile(r"matrix:(?:u|r|roomid|user|room)/|matrix\.to/", re.IGNORECASE)


def pseudonym_number(match: re.Match[str]) -> int:
    """The number of a PSEUDONYM match (int() reads full-width digits too)."""
    digits = match.group("n") or match.group("b")
    return int(digits.translate({ord(c): None for c in INVISIBLE}))


def label_number(label: str | None) -> int | None:
    """The number in a pseudonym label such as "市民 #4821", or None."""
    m = PSEUDONYM.search(label) if label else None
    return pseudonym_number(m) if m else None


def tolerant(name: str) -> str:
    """Regex for `name` that also matches it split by invisible characters."""
    return GAP.join(re.escape(ch) for ch in name)


def decode(text: str) -> str:
    """Percent-decoded; repeated because links may be double-encoded (%2540 -> %40 -> @)."""
    for _ in range(3):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def normal_id(identifier: str) -> str:
    """An identifier as a homeserver spells it: decoded, ASCII sigils and colons, casefolded."""
    return (
        decode(identifier)
        .translate({ord("＠"): "@", ord("："): ":", ord("！"): "!", ord("＃"): "#", ord("＄"): "$"})
        .casefold()
    )


_BARE_MATRIX_TO = re.compile(r"(?:[A-Za-z0-9\-]{1,63}\.){0,4}matrix\.to/", re.IGNORECASE)


def split_url(url: str) -> SplitResult | None:
    """urlsplit, or None for what it refuses ("https://[x", a netloc that NFKC-normalises to
    a slash): such a link is neither kept nor allowed to raise."""
    url = url.strip()
    if _BARE_MATRIX_TO.match(url):
        url = "https://" + url  # "matrix.to/#/@a:b" as written in a message
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - parses (and validates) the netloc
    except ValueError:
        return None
    return parts


def is_matrix_link(url: str) -> bool:
    """matrix.to permalinks and matrix: URIs: they always point at users, rooms or events."""
    parts = split_url(url)
    if parts is None:
        return bool(_MATRIX_URI.search(url))
    if parts.scheme.lower() == "matrix":
        return True
    host = (parts.hostname or "").lower()
    return host == "matrix.to" or host.endswith(".matrix.to")


def user_in_link(url: str) -> str | None:
    """The user a matrix.to / matrix:u/ link names, or None if it names no user."""
    parts = split_url(decode(url))
    if parts is None:
        return None
    if parts.scheme.lower() == "matrix":
        m = re.match(r"(?:u|user)/([^?#]+)", parts.path, re.IGNORECASE)
        return "@" + m.group(1) if m else None
    host = (parts.hostname or "").lower()
    if host == "matrix.to" or host.endswith(".matrix.to"):
        m = re.match(r"/?(@[^/?]+)", parts.fragment)
        return m.group(1) if m else None
    return None


def names_matrix_entity(text: str) -> bool:
    """True if `text` (already decoded) holds a user, room or event ID or a Matrix link. Aliases
    are the caller's call (those of other servers may be public rooms)."""
    return bool(
        MXID.search(text) or ROOM_ID.search(text) or EVENT_ID.search(text)
        or _MATRIX_URI.search(text)
    )
