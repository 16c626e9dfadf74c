"""Quoted history below a reply is cut at the separators of common clients."""

from __future__ import annotations

import pytest

from bridge.mail.quotes import trim_quoted_html, trim_quoted_text

ANSWER = "您好，已办理。"
QUOTES = [
    "-----原始邮件-----\n发件人: dutyroom@x\n主题: 信",
    "------------------ 原始邮件 ------------------\n发件人: \"值班室\"<d@x>;\n发送时间: 2026年11月27日",
    "-----Original Message-----\nFrom: d@x\nSent: Friday",
    "发件人: 浙江政务通 <d@x>\n发送时间: 2026年11月27日 10:00\n收件人: 信箱\n主题: 信",
    "From: Dutyroom <d@x>\nSent: Friday, November 27, 2026 10:00\nTo: office",
    "On Fri, 27 Nov 2026 at 10:00, Dutyroom <d@x> wrote:\n> text",
    "On Fri, 27 Nov 2026 at 10:00, Dutyroom\n<d@x> wrote:\n> text",
    "在 2026年11月27日 10:00，浙江政务通 <d@x> 写道：\n> 正文",
    "浙江政务通 <d@x> 于2026年11月27日周五 10:00写道：\n> 正文",
    "> 尊敬的省长：\n> 建议",
    "________________________________\n发件人: d@x",
]


@pytest.mark.parametrize("quote", QUOTES)
def test_text_quotes_are_cut(quote: str) -> None:
    assert trim_quoted_text(f"{ANSWER}\n\n{quote}\n更多历史") == ANSWER


def test_text_without_quote_or_only_quote_is_kept() -> None:
    assert trim_quoted_text("  第一行\n第二行 > 不是引用\n") == "第一行\n第二行 > 不是引用"
    assert trim_quoted_text("> 只有引用") == "> 只有引用"


@pytest.mark.parametrize("html", [
    '<div dir="ltr">您好</div><div class="gmail_quote">On x wrote:<blockquote>q</blockquote></div>',
    '<p>您好</p><div id="divRplyFwdMsg"><b>发件人:</b> d</div>',
    '<p>您好</p><blockquote type="cite">q</blockquote>',
    "<p>您好</p><p>-----原始邮件-----</p><p>q</p>",
    "<p>您好</p><div><b>发件人:</b> d<br><b>发送时间:</b> 2026</div>",
    "<p>您好</p><p>在 2026年11月27日，值班室 写道：</p>",
])
def test_html_quotes_are_cut(html: str) -> None:
    kept = trim_quoted_html(html)
    assert "您好" in kept and "q</" not in kept and "2026" not in kept
