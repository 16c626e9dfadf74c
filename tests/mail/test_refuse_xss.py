"""≥ 500 hostile HTML bodies: nothing outside Matrix's allowlist reaches a formatted_body."""

from __future__ import annotations

from email.message import EmailMessage

from bridge.mail.inbound import parse_reply
from bridge.mail.sanitise import IMAGE_SCHEMES, LINK_SCHEMES, html_to_text, sanitise_html
from tests.kit.html import allowlist_problems

PAYLOADS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>", "<img src=\"javascript:alert(1)\">", "<img src=http://t.example/p.gif>",
    "<img src=mxc://evil/x onload=alert(1)>", "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>", "<a href=\"java\tscript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>", "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>", "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>", "<a href=\"//evil.example\">x</a>",
    "<a href=\"/relative\">x</a>", "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
    "<a href=\"https://ok.example\" style=\"position:fixed\">x</a>", "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>body{display:none}</style>", "<iframe src=\"https://evil.example\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>", "<svg onload=alert(1)><circle r=1/></svg>",
    "<svg><script>alert(1)</script></svg>", "<math><mtext><script>alert(1)</script></mtext></math>",
    "<object data=\"javascript:alert(1)\"></object>", "<embed src=\"javascript:alert(1)\">",
    "<form action=\"https://evil.example\"><input name=p></form>", "<button formaction=javascript:alert(1)>",
    "<body onload=alert(1)>", "<meta http-equiv=refresh content=\"0;url=https://evil.example\">",
    "<link rel=stylesheet href=https://evil.example/x.css>", "<base href=\"https://evil.example/\">",
    "<img/src=x/onerror=alert(1)>", "<img src=x onerror\n=alert(1)>", "<<img src=x onerror=alert(1)//<",
    "<scr<script>ipt>alert(1)</script>", "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>", "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<font color=\"red\" face=\"x\" onmouseover=alert(1)>x</font>", "<span data-mx-color=\"red;x:expression(1)\">x</span>",
    "<code class=\"language-js evil\">x</code>", "<ol start=\"1 onclick=alert(1)\"><li>x</li></ol>",
    "<details open ontoggle=alert(1)><summary>x</summary></details>", "<table background=javascript:alert(1)><tr><td>x</td></tr></table>",
    "<video><source onerror=alert(1)></video>", "<marquee onstart=alert(1)>x</marquee>",
    "<a href=\"https://ok.example\" target=\"_top\" rel=\"opener\">x</a>", "<img src=\"mxc://ok/x\" srcset=\"https://t.example/a.png 1x\">",
    "<xml><x:script>alert(1)</x:script></xml>", "<div id=x class=y title=z>x</div>",
    "<a href=\"mailto:a@b.example?body=x\" onfocus=alert(1) autofocus>x</a>", "<noscript><img src=x onerror=alert(1)></noscript>",
    "<template><script>alert(1)</script></template>", "<textarea><script>alert(1)</script></textarea>",
]
WRAPPERS = [
    "{}", "<p>{}</p>", "<div>你好{}再见</div>", "<html><head><title>t</title></head><body>{}</body></html>",
    "<table><tr><td>{}</td></tr></table>", "<blockquote>{}</blockquote>", "<b><i>{}",
    "{}</div></p>", "<a href=\"https://ok.example\">{}</a>", "<ul><li>{}</li></ul>",
    "<pre>{}</pre>",
]


def problems(html: str) -> list[str]:
    found = allowlist_problems(html, LINK_SCHEMES, IMAGE_SCHEMES)
    if "javascript:" in html.lower() or "<script" in html.lower():
        found.append("script text")
    return found


BODIES = [w.format(p) for p in PAYLOADS for w in WRAPPERS]


def test_corpus_is_big_enough() -> None:
    assert len(BODIES) >= 500


def test_sanitised_bodies_hold_only_allowed_html() -> None:
    found = {body: p for body in BODIES if (p := problems(sanitise_html(body)))}
    assert found == {}


def test_bodies_arriving_by_mail_hold_only_allowed_html() -> None:
    found = {}
    for n, body in enumerate(BODIES):
        message = EmailMessage()
        message["From"] = "xinfang@zj.gov.example"
        message["Message-ID"] = f"<{n}@zj.gov.example>"
        message.set_content("text")
        message.add_alternative(body, subtype="html")
        mail = parse_reply(message.as_bytes(), message_id=f"<{n}@x>", reply_ref="XJ-1",
                           sender="xinfang@zj.gov.example", auto_submitted=False,
                           max_attachment_bytes=1000)
        if mail.html is not None and (p := problems(mail.html)):
            found[body] = p
    assert found == {}


def test_allowed_formatting_survives() -> None:
    html = ('<p><b>粗</b><a href="https://zj.gov.example/a" target="_top">链接</a>'
            '<img src="mxc://localhost/abc" alt="图"><font data-mx-color="#ff0000">红</font>'
            '<code class="language-python">x</code></p>')
    out = sanitise_html(html)
    for kept in ("<b>粗</b>", 'href="https://zj.gov.example/a"', 'rel="noopener"',
                 'src="mxc://localhost/abc"', 'data-mx-color="#ff0000"', 'class="language-python"'):
        assert kept in out


def test_html_read_as_text_keeps_link_targets_and_list_items() -> None:
    """What a mail without a text part, or a case's history, shows of HTML: its reader's words
    (no "**"), where links go, one line per list item; never a hostile link's script."""
    html = ('<p>请看<a href="https://zj.gov.example/a?b=1&amp;c=2">公告</a>，'
            '<a href="https://zj.gov.example/">https://zj.gov.example/</a></p>'
            '<ul><li><strong>一</strong></li><li>二</li></ul><a href="javascript:alert(1)">点我</a>')
    assert html_to_text(html) == ("请看公告 (https://zj.gov.example/a?b=1&c=2)，https://zj.gov.example/"
                                  "\n\n• 一\n• 二\n点我")
