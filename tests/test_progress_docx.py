"""Word export of progress reports: the sanitised-HTML subset becomes real Word structure, Chinese renders, and no
input string makes the export fail."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infocity.progress.demo_text import progress_report, typical_applications
from infocity.progress.docx_export import (
    EAST_ASIA_FONT,
    IMAGE_PLACEHOLDER,
    ApplicationDocument,
    ReportDocument,
    cn_number,
    render_docx,
)
from infocity.progress.sections import SECTIONS, area


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG without any imaging library."""
    raw = b"".join(b"\x00" + b"\xc0\x20\x20" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


SMALL = png(40, 30)
WIDE = png(3000, 200)

SECTION_HTML = """
<h1>光网城市建设</h1>
<p>本市<strong>加快</strong>推进<em>光纤入户</em>，<u>重点区域</u>先行，<s>原计划</s>提前完成；
H<sub>2</sub>O 与 10<sup>3</sup> 仅作格式示例。详见<a href="https://example.cn/plan">实施方案</a>。<br>第二行文字</p>
<h2>主要举措</h2>
<ul>
  <li>第一项措施
    <ul><li>子项甲</li><li>子项乙</li></ul>
  </li>
  <li>第二项措施</li>
</ul>
<ol><li>编号一</li><li>编号二</li></ol>
<p>中间段落</p>
<ol><li>重新编号一</li></ol>
<blockquote><p>引用：实现城市光纤网络全覆盖。</p></blockquote>
<table>
  <thead><tr><th>措施</th><th colspan="2">进度</th></tr></thead>
  <tbody>
    <tr><td rowspan="2">合并单元格</td><td>甲</td><td>乙</td></tr>
    <tr><td>丙</td><td>丁</td></tr>
  </tbody>
</table>
<p>图片：<img src="/progress/files/1/" alt="现场"> 与 <img src="/progress/files/404/"></p>
"""


def loader(src: str) -> bytes | None:
    return SMALL if src == "/progress/files/1/" else None


def report(demo: bool = True) -> ReportDocument:
    return ReportDocument(
        title="杭州市2016年上半年信息消费示范工作进展报告",
        subtitle=[
            "城市：杭州市（浙江省）",
            "报告期：2016年上半年",
            "状态：已报送　第 2 版",
            "导出时间：2016-08-01 10:00",
        ],
        demo=demo,
        sections=[("总体进展", SECTION_HTML), ("下一步工作计划", "<p>继续推进。</p>")],
        attainment_headers=["指标", "目标", "实际值", "达标情况"],
        attainment_rows=[
            ["A01 城市光纤网络覆盖率", "=100%", "98.5%", "未达标"],
            ["A02 20M以上宽带用户占比", ">50%", "61.2%", "达标"],
        ],
        attainment_note="根据已受理的监测数据自动生成。",
        applications=[
            ApplicationDocument(
                title="杭州市智慧社区服务平台",
                area="公共服务能力",
                organisation="杭州数字科技有限公司（演示）",
                description_html="<p>整合社区事务受理。</p><ul><li>一窗受理</li></ul>",
                investment=Decimal("1234.5"),
                users_served=123456,
                results_html="<p>日均服务 <strong>3,200</strong> 人次，办件时长缩短 35%。</p>",
                contact="张某某　138-0000-0001",
                images=[WIDE, b"not an image"],
            )
        ],
        image_loader=loader,
    )


def reopen(data: bytes) -> DocxDocument:
    return Document(io.BytesIO(data))


def num_pr(paragraph: Paragraph) -> tuple[int, int] | None:
    """(numId, ilvl) of a list paragraph."""
    found = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
    if found is None:
        return None
    return int(found.find(qn("w:numId")).get(qn("w:val"))), int(found.find(qn("w:ilvl")).get(qn("w:val")))


def find_table(doc: DocxDocument, first_cell: str) -> Table:
    for table in doc.tables:
        if table.cell(0, 0).text.strip() == first_cell:
            return table
    raise AssertionError(f"no table starting with {first_cell}")


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_docx(report())


def test_headings_and_text(rendered: bytes) -> None:
    doc = reopen(rendered)
    headings = [
        (p.style.name, p.text) for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    assert ("Heading 1", "一、总体进展") in headings
    assert ("Heading 1", "二、下一步工作计划") in headings
    assert ("Heading 1", "三、指标达标情况") in headings
    assert ("Heading 1", "四、信息消费典型应用") in headings
    assert ("Heading 2", "光网城市建设") in headings  # html h1 sits under the section title
    assert ("Heading 3", "主要举措") in headings
    assert ("Heading 2", "（一）杭州市智慧社区服务平台") in headings
    texts = [p.text for p in doc.paragraphs]
    first = next(t for t in texts if t.startswith("本市加快推进"))
    assert "实施方案（https://example.cn/plan）" in first
    assert "\n第二行文字" in first  # <br> is a line break inside the paragraph
    assert "H2O" in first and "103" in first
    assert "引用：实现城市光纤网络全覆盖。" in texts
    assert any("杭州市2016年上半年信息消费示范工作进展报告" in t for t in texts)


def test_character_formatting(rendered: bytes) -> None:
    doc = reopen(rendered)
    runs = [r for p in doc.paragraphs for r in p.runs]

    def run(text: str) -> Run:
        return next(r for r in runs if r.text == text)

    assert run("加快").bold
    assert run("光纤入户").italic
    assert run("重点区域").underline
    assert run("原计划").font.strike
    assert run("2").font.subscript
    assert run("3").font.superscript


def test_lists_are_numbered_nested_and_restart(rendered: bytes) -> None:
    doc = reopen(rendered)
    items = {p.text: found for p in doc.paragraphs if (found := num_pr(p)) is not None}
    assert set(items) >= {"第一项措施", "子项甲", "子项乙", "第二项措施", "编号一", "编号二", "重新编号一", "一窗受理"}
    assert items["第一项措施"][1] == 0 and items["子项甲"][1] == 1
    assert items["第一项措施"][0] == items["第二项措施"][0]
    assert items["编号一"][0] == items["编号二"][0]
    assert items["重新编号一"][0] != items["编号一"][0]  # a new list starts again at 1
    numbering = doc.part.numbering_part.element

    def fmt(num_id: int, level: int) -> str:
        num = numbering.num_having_numId(num_id)
        abstract_id = num.abstractNumId.val
        abstract = next(
            a for a in numbering.findall(qn("w:abstractNum")) if int(a.get(qn("w:abstractNumId"))) == abstract_id
        )
        lvl = next(lv for lv in abstract.findall(qn("w:lvl")) if int(lv.get(qn("w:ilvl"))) == level)
        return str(lvl.find(qn("w:numFmt")).get(qn("w:val")))

    assert fmt(*items["第一项措施"]) == "bullet"
    assert fmt(*items["编号一"]) == "decimal"
    restart = numbering.num_having_numId(items["重新编号一"][0])
    assert restart.find(f"{qn('w:lvlOverride')}/{qn('w:startOverride')}").get(qn("w:val")) == "1"


def test_tables_with_merged_cells_and_header(rendered: bytes) -> None:
    doc = reopen(rendered)
    table = find_table(doc, "措施")
    assert len(table.rows) == 3 and len(table.columns) == 3
    assert table.cell(0, 1).text == "进度" and table.cell(0, 1)._tc is table.cell(0, 2)._tc  # colspan
    assert table.cell(1, 0).text == "合并单元格" and table.cell(1, 0)._tc is table.cell(2, 0)._tc  # rowspan
    assert [table.cell(2, c).text for c in (1, 2)] == ["丙", "丁"]
    header_row = table.rows[0]._tr.trPr
    assert header_row is not None and header_row.find(qn("w:tblHeader")) is not None
    assert all(r.bold for r in table.cell(0, 0).paragraphs[0].runs)

    attainment = find_table(doc, "指标")
    assert [c.text for c in attainment.rows[1].cells] == ["A01 城市光纤网络覆盖率", "=100%", "98.5%", "未达标"]
    facts = find_table(doc, "示范领域")
    assert [r.cells[1].text for r in facts.rows] == [
        "公共服务能力",
        "杭州数字科技有限公司（演示）",
        "1,234.50 万元",
        "123,456",
        "张某某　138-0000-0001",
    ]


def test_images_inline_scaled_or_placeholder(rendered: bytes) -> None:
    doc = reopen(rendered)
    shapes = list(doc.inline_shapes)
    assert len(shapes) == 2  # the section's loadable <img> and the application's real picture
    assert all(s.width <= Cm(15) for s in shapes)
    assert max(s.width for s in shapes) == Cm(15)  # the 3000 px wide picture is scaled down to the page width
    text = "\n".join(p.text for p in doc.paragraphs)
    assert text.count(IMAGE_PLACEHOLDER) == 2  # the unknown src and the junk bytes


def test_chinese_fonts_page_and_demo_marker(rendered: bytes) -> None:
    doc = reopen(rendered)
    for name in ("Normal", "Heading 1", "Heading 2", "Title"):
        rfonts = doc.styles[name].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsia")) == EAST_ASIA_FONT
        assert rfonts.get(qn("w:eastAsiaTheme")) is None  # a theme reference would override the explicit font
    section = doc.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert abs(section.page_width - Cm(21)) < Cm(0.05) and abs(section.page_height - Cm(29.7)) < Cm(0.05)
    header = "".join(p.text for p in section.header.paragraphs)
    assert "杭州市2016年上半年信息消费示范工作进展报告" in header and "演示数据" in header
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml
    assert any(p.text == "【演示数据】" for p in doc.paragraphs[:8])  # on the title page


def test_no_demo_marker_for_real_data() -> None:
    doc = reopen(render_docx(report(demo=False)))
    assert "演示数据" not in "".join(p.text for p in doc.sections[0].header.paragraphs)
    assert not any("演示数据" in p.text for p in doc.paragraphs[:8])


def test_whole_demo_report_renders() -> None:
    sections = progress_report("嘉兴市", "浙江省", "Y", 2016)
    apps = typical_applications("嘉兴市", "浙江省", 2016)
    data = render_docx(
        ReportDocument(
            title="嘉兴市2016年信息消费示范工作进展报告",
            subtitle=["嘉兴市"],
            demo=True,
            sections=[(s.title_zh, sections[s.key]) for s in SECTIONS],
            applications=[
                ApplicationDocument(
                    title=a["title"],
                    area=area(a["area"]).name_zh,
                    organisation=a["organisation"],
                    description_html=a["description"],
                    investment=a["investment"],
                    users_served=a["users_served"],
                    results_html=a["results"],
                    contact=a["contact_name"],
                )
                for a in apps
            ],
        )
    )
    doc = reopen(data)
    headings = [p.text for p in doc.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == [f"{cn_number(i)}、{s.title_zh}" for i, s in enumerate(SECTIONS, start=1)] + [
        f"{cn_number(len(SECTIONS) + 1)}、信息消费典型应用"
    ]
    assert sum("【演示数据】" in p.text for p in doc.paragraphs) >= len(SECTIONS)
    assert len(doc.tables) >= 2


@pytest.mark.parametrize(
    "html",
    [
        "<p><b>未闭合<li>游离的列表项</table></td><p>",
        "<table><td colspan='x' rowspan='-3'>坏的跨度</td><td colspan='999'>宽</td><tr><td rowspan=50>高</td></tr>",
        "<table><tr><td rowspan='2'>甲</td><td>乙</td></tr><tr><td colspan='3'>跨过已占用的格子</td></tr></table>",
        "<table><tr><td><table><tr><td>嵌套表格<img src='/progress/files/1/'></td></tr></table></td></tr></table>",
        "<ul>" * 3000 + "深层嵌套" + "</ul>" * 3000,
        "<strong>" * 3000 + "深层强调",
        "控制字符\x00\x01\x0b\x0c\ufffe保留汉字",
        "<script>alert(1)</script><style>p{}</style>正文",
        "<img src=''><img><a>无地址</a><a href='/only-url'></a>",
        "<li>无列表的项</li><tr><td>无表格的行</td></tr><td>孤立单元格</td>",
        "<h1><ul><li>标题里的列表</li></ul></h1><blockquote><blockquote><ol><li>双重引用</li></ol></blockquote>",
        "&#0;&#xD800;&#x110000;&bogus; &amp; &lt;p&gt;",
        "",
    ],
)
def test_malformed_html_never_raises(html: str) -> None:
    data = render_docx(
        ReportDocument(
            title="测试\x00标题",
            subtitle=["\x07副标题"],
            sections=[("章节\x1f", html)],
            image_loader=loader,
            applications=[
                ApplicationDocument("应用", "", "", html, "不详", None, html, "", images=[b"", b"GIF89a"]),
            ],
        )
    )
    reopen(data)


def test_image_loader_errors_become_placeholder() -> None:
    def broken(src: str) -> bytes | None:
        raise OSError("storage unavailable")

    doc = reopen(render_docx(ReportDocument("标题", [], [("图片", '<p><img src="/x"></p>')], image_loader=broken)))
    assert any(p.text == IMAGE_PLACEHOLDER for p in doc.paragraphs)


TAGS = ["p", "h1", "h2", "h3", "h4", "strong", "em", "u", "s", "sub", "sup", "blockquote", "ul", "ol", "li"]
TAGS += ["table", "thead", "tbody", "tr", "th", "td", "a", "br", "img", "div", "span", "script"]

fragment = st.one_of(
    st.text(max_size=12),
    st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    st.tuples(st.sampled_from(["td", "th"]), st.integers(-2, 70), st.integers(-2, 70)).map(
        lambda t: f'<{t[0]} colspan="{t[1]}" rowspan="{t[2]}">'
    ),
    st.sampled_from(['<a href="https://example.cn/">', '<img src="/progress/files/1/">', '<img src="bad">', "&#1;"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=st.lists(fragment, max_size=40).map("".join), text=st.text(max_size=80))
def test_arbitrary_input_never_raises(html: str, text: str) -> None:
    data = render_docx(
        ReportDocument(
            title=text,
            subtitle=[text],
            demo=True,
            sections=[(text, html), (text, text)],
            attainment_headers=[text],
            attainment_rows=[[text, text]],
            attainment_note=text,
            applications=[ApplicationDocument(text, text, text, html, text, text, text, text, images=[text.encode()])],
            image_loader=loader,
        )
    )
    reopen(data)


def _writer_available() -> bool:
    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftotext") is None:
        return False
    program = Path(soffice).resolve().parent
    return any(program.glob("libswlo*"))  # Writer (Debian: libreoffice-writer-nogui); calc alone cannot open .docx


@pytest.mark.skipif(not _writer_available(), reason="needs LibreOffice Writer (soffice) and pdftotext")
def test_libreoffice_renders_chinese(rendered: bytes, tmp_path: Path) -> None:
    source = tmp_path / "report.docx"
    source.write_bytes(rendered)
    profile = (tmp_path / "profile").as_uri()  # a private profile: runs in parallel with other soffice users
    soffice = shutil.which("soffice")
    pdftotext = shutil.which("pdftotext")
    assert soffice and pdftotext
    subprocess.run(  # noqa: S603 — LibreOffice on a file the test wrote
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "report.pdf"
    assert pdf.exists()
    converted = subprocess.run([pdftotext, str(pdf), "-"], check=True, capture_output=True, timeout=60)  # noqa: S603
    text = converted.stdout.decode()
    for expected in ("杭州市", "信息消费示范工作进展报告", "演示数据", "一、总体进展", "合并单元格", "子项甲"):
        assert expected in text, expected
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*3\s*页", text)  # the PAGE and NUMPAGES fields
