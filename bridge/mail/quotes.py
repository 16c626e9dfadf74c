"""Trim the quoted history a mail client appends below a reply, so the citizen sees the answer.

Cuts at the first separator of the common clients (Outlook, Gmail, Apple Mail, Foxmail/QQ,
NetEase, Thunderbird), in English and Chinese. When nothing would remain (a reply written
inline, below the quote) the text is kept whole: better too long than empty.
"""

from __future__ import annotations

import re

_SEPARATOR_LINES = [
    # -----Original Message----- / -----原始邮件----- / ------------------ 原始邮件 ------------------
    re.compile(r"^\s*-{2,}\s*(original message|原始邮件|原邮件|forwarded message|转发邮件)\s*-{2,}",
               re.I),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above its From: block
    # Gmail/Apple: "On Mon, 27 Nov 2026 at 10:00, X <x@y> wrote:" (may wrap onto a second line)
    re.compile(r"^\s*on\b.{0,300}\bwrote:\s*$", re.I),
    # Chinese clients: "在 2026年11月27日 10:00，X 写道：" and Gmail's "X 于2026年11月27日周五 写道："
    re.compile(r"^\s*在.{0,300}写道\s*[:：]\s*$"),
    re.compile(r"^.{0,300}于\s*\d{4}\s*年.{0,200}写道\s*[:：]\s*$"),
    re.compile(r"^\s*>"),
]
_HEADER_START = re.compile(r"^\s*[\*]*(from|发件人)\s*[\*]*\s*[:：]", re.I)
_HEADER_NEXT = re.compile(
    r"^\s*[\*]*(sent|date|to|subject|cc|发送时间|时间|日期|收件人|抄送|主题)\s*[\*]*\s*[:：]", re.I
)


def _quote_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if any(p.search(line) for p in _SEPARATOR_LINES):
            return i
        # Two wrapped lines: "On Mon, 27 Nov 2026, X <x@y>" / "wrote:".
        if i + 1 < len(lines) and re.match(r"^\s*on\b", line, re.I) and re.match(
            r"^.{0,200}\bwrote:\s*$", lines[i + 1], re.I
        ):
            return i
        # An Outlook/Foxmail header block: From/发件人 followed by Sent/To/Subject lines.
        if _HEADER_START.search(line) and any(
            _HEADER_NEXT.search(nxt) for nxt in lines[i + 1 : i + 4]
        ):
            return i
    return None


def trim_quoted_text(text: str) -> str:
    lines = text.splitlines()
    start = _quote_start(lines)
    if start is None:
        return text.strip()
    kept = "\n".join(lines[:start]).strip()
    return kept or text.strip()


# Markers clients put on the element that wraps the quote; cut the HTML where that element opens.
_HTML_MARKERS = [
    re.compile(r"<blockquote[^>]*type=[\"']?cite", re.I),
    re.compile(r"<div[^>]*class=[\"'][^\"']*(gmail_quote|moz-cite-prefix|yahoo_quoted)", re.I),
    re.compile(r"<div[^>]*id=[\"']?(divRplyFwdMsg|appendonsend|mail-app-auto-default-quote)", re.I),
    re.compile(r"<hr[^>]*id=[\"']?stopSpelling", re.I),
    re.compile(r"-{2,}\s*(original message|原始邮件)\s*-{2,}", re.I),
    re.compile(r"(发件人|From)\s*(<[^>]*>\s*)*[:：]"
               r"(?=.{0,800}?(发送时间|Sent|日期|Date)\s*(<[^>]*>\s*)*[:：])", re.I | re.S),
    re.compile(r"(?<![\w>])On\b[^<]{0,300}\bwrote:", re.I),
    re.compile(r"在[^<]{0,300}写道\s*[:：]"),
]


def trim_quoted_html(html: str) -> str:
    """The HTML before the quote; the cut leaves tags unclosed, which sanitising repairs."""
    cut = min((m.start() for p in _HTML_MARKERS if (m := p.search(html))), default=None)
    if cut is None:
        return html
    kept = html[:cut]
    # Only an HTML shell (tags, no words) before the quote: keep the whole mail instead.
    if not re.sub(r"<[^>]*>|&nbsp;|\s", "", kept):
        return html
    return kept
