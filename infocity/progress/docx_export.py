"""Word (.docx) export of a progress report (示范工作进展报告) and its typical applications (典型应用).

`render_docx(ReportDocument)` returns the bytes of an A4 document: a title page, one numbered chapter per report
section (一、二、…), the indicator attainment table, and the typical applications. The section bodies are the
sanitised rich text the clerks write (h1–h4, p, br, strong/em/u/s/sub/sup, blockquote, ul/ol/li, tables with
colspan/rowspan, a href, img src); they are converted to real Word structure: heading styles, numbered and bulleted
lists (nested lists indented, every list restarts at 1), tables with a repeating header row and merged cells, and
inline pictures scaled to the page width. Links become their text followed by the URL. The converter never raises on
any input string: malformed HTML is parsed leniently, characters XML cannot hold are dropped, and a picture that
cannot be loaded or decoded becomes the text "[图片无法显示]".

Fonts. Styles name one East Asian font, 宋体, with Times New Roman for Latin text, the usual pairing of Chinese
government documents. 宋体 is the name every Word and WPS installation on Windows, 统信 UOS and 麒麟 resolves, which is
where the clerks and reviewers open the file; a font the reader lacks would be substituted with other metrics.
LibreOffice without 宋体 falls back, glyph by glyph, to an installed CJK font (Noto CJK with `fonts-noto-cjk`), so the
text still renders there. The theme font references of python-docx's template (which would override an explicit font)
are removed, and the East Asian language is set to zh-CN.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.image.image import Image
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Emu, Length, Pt, RGBColor, Twips
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

EAST_ASIA_FONT = "宋体"
LATIN_FONT = "Times New Roman"
IMAGE_PLACEHOLDER = "[图片无法显示]"
DEMO_MARKER = "演示数据"
MAX_IMAGE_WIDTH = Cm(15)
MAX_IMAGE_HEIGHT = Cm(22)

ImageLoader = Callable[[str], bytes | None]


def no_images(src: str) -> bytes | None:
    """The default image loader: every <img> becomes the placeholder text."""
    return None


@dataclass
class ApplicationDocument:
    """One typical application (典型应用); html fields are sanitised rich text."""

    title: str
    area: str  # display text of the demonstration area, e.g. "公共服务能力"
    organisation: str
    description_html: str
    investment: Decimal | int | str | None  # a number is shown as "1,234.50 万元", a string as given
    users_served: int | str | None
    results_html: str
    contact: str  # shown as given: mask it before if the reader may not see it
    images: list[bytes] = field(default_factory=list)


@dataclass
class ReportDocument:
    title: str
    subtitle: list[str]  # lines under the title: city, province, period, status, version, generated at
    sections: list[tuple[str, str]]  # (title, sanitised html)
    demo: bool = False  # "演示数据" on the title page and in the page header
    attainment_headers: list[str] = field(default_factory=list)
    attainment_rows: list[list[str]] = field(default_factory=list)
    attainment_note: str = ""
    applications: list[ApplicationDocument] = field(default_factory=list)
    image_loader: ImageLoader = no_images
    number_headings: bool = True  # prefix chapter titles with 一、二、…
    attainment_title: str = "指标达标情况"
    applications_title: str = "信息消费典型应用"


# --------------------------------------------------------------------------------------------------------------
# Text hygiene

_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WS = re.compile(r"[ \t\n\r\f\v]+")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])[ \t\r\f\v]*\n[ \t\n\r\f\v]*(?=[{_CJK}])")


def _safe(text: str) -> str:
    """Drop the characters an XML document cannot hold (python-docx refuses them)."""
    return _XML_INVALID.sub("", text)


def _collapse(text: str) -> str:
    """HTML white-space collapsing; a line break between two Chinese characters disappears (CSS Text 3)."""
    return _WS.sub(" ", _CJK_BREAK.sub("", _safe(text)))


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十 (1–99; larger numbers in Arabic digits)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else digits[tens] + "十")
    return head + (digits[ones] if ones else "")


# --------------------------------------------------------------------------------------------------------------
# Lenient HTML → tree

_VOID = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link", "col", "area", "base", "source", "embed"})
_SKIP = frozenset({"script", "style", "template", "head", "title", "noscript", "textarea", "select", "object"})
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_CONTAINERS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "figure", "figcaption", "pre"}
    | {"address", "dl", "dt", "dd", "center", "body", "html", "form", "fieldset", "details", "summary"}
)
_TABLE_PARTS = frozenset({"thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup"})
_BLOCKS = _CONTAINERS | _TABLE_PARTS | set(_HEADINGS) | {"ul", "ol", "li", "table", "blockquote", "hr"}
_CLOSES_P = _BLOCKS - {"li", "td", "th", "tr", "thead", "tbody", "tfoot", "caption", "colgroup", "dt", "dd"}
_KEEP_ATTRS = frozenset({"href", "src", "colspan", "rowspan", "alt"})
_MAX_DEPTH = 40


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root")
        self.stack: list[_Node] = [self.root]
        self.skipping = 0

    def _close_through(self, tags: Iterable[str], boundaries: Iterable[str]) -> None:
        """Close the innermost open element among `tags`, unless a boundary element is open inside it."""
        wanted, stop = frozenset(tags), frozenset(boundaries)
        for i in range(len(self.stack) - 1, 0, -1):
            tag = self.stack[i].tag
            if tag in wanted:
                del self.stack[i:]
                return
            if tag in stop:
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag in _CLOSES_P:
            self._close_through(["p"], ["li", "td", "th", "blockquote", "div", "table", "ul", "ol"])
        if tag in _HEADINGS:
            self._close_through(_HEADINGS, ["li", "td", "th", "blockquote", "div", "table"])
        if tag == "li":
            self._close_through(["li"], ["ul", "ol", "table"])
        elif tag == "tr":
            self._close_through(["tr"], ["table"])
        elif tag in ("td", "th"):
            self._close_through(["td", "th"], ["tr", "table"])
        elif tag in ("thead", "tbody", "tfoot"):
            self._close_through(["thead", "tbody", "tfoot"], ["table"])
        node = _Node(tag, {k: v or "" for k, v in attrs if k in _KEEP_ATTRS})
        if len(self.stack) > _MAX_DEPTH and tag not in _VOID:
            return  # too deep: the element's content joins its parent
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag in _VOID:
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.stack[-1].children.append(data)


def parse_html(html: str) -> _Node:
    builder = _TreeBuilder()
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # html.parser is lenient; should it ever fail, keep the text
        return _Node("#root", children=[re.sub(r"<[^>]*>", " ", html)])
    return builder.root


def _is_blank(node: _Node | str) -> bool:
    return isinstance(node, str) and not _collapse(node).strip()


def _text_of(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    return "".join(_text_of(c) for c in node.children)


# --------------------------------------------------------------------------------------------------------------
# Word plumbing


def _set_fonts(rpr_parent: Any) -> None:
    """Explicit Latin and East Asian fonts on a style (or docDefaults) rPr, replacing theme font references."""
    rpr = rpr_parent.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = parse_xml(f"<w:rFonts {nsdecls('w')}/>")
        rpr.insert(0, rfonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)
    rfonts.set(qn("w:ascii"), LATIN_FONT)
    rfonts.set(qn("w:hAnsi"), LATIN_FONT)
    rfonts.set(qn("w:cs"), LATIN_FONT)
    rfonts.set(qn("w:eastAsia"), EAST_ASIA_FONT)


def _setup_styles(doc: DocxDocument) -> None:
    # python-docx's template declares Japanese as the East Asian theme language; LibreOffice then falls back to
    # Japanese glyph forms (Noto Sans CJK JP) for Chinese text.
    theme_lang = doc.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            rfonts = rpr.find(qn("w:rFonts"))
            if rfonts is not None:
                rpr.remove(rfonts)
            rpr.insert(
                0,
                parse_xml(
                    f'<w:rFonts {nsdecls("w")} w:ascii="{LATIN_FONT}" w:hAnsi="{LATIN_FONT}" '
                    f'w:eastAsia="{EAST_ASIA_FONT}" w:cs="{LATIN_FONT}"/>'
                ),
            )
            lang = rpr.find(qn("w:lang"))
            if lang is not None:
                lang.set(qn("w:eastAsia"), "zh-CN")
    normal = styles["Normal"]
    _set_fonts(normal.element)
    normal.font.size = Pt(12)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.25
    sizes = {1: 16, 2: 14, 3: 13, 4: 12}
    for level in range(1, 10):
        style = styles[f"Heading {level}"]
        _set_fonts(style.element)
        style.font.size = Pt(sizes.get(level, 12))
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.space_before = Pt(12 if level == 1 else 8)
        style.paragraph_format.space_after = Pt(6)
    for name in ("Title", "Subtitle", "Header", "Footer", "Caption", "List Paragraph", "Quote"):
        _set_fonts(styles[name].element)
    title = styles["Title"]
    title.font.size = Pt(22)
    title.font.bold = True
    title.font.color.rgb = RGBColor(0, 0, 0)
    title_ppr = title.element.get_or_add_pPr()
    border = title_ppr.find(qn("w:pBdr"))
    if border is not None:
        title_ppr.remove(border)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = styles["Caption"]
    caption.font.color.rgb = RGBColor(0x40, 0x40, 0x40)
    caption.font.size = Pt(10.5)


def _add_field(paragraph: Paragraph, instruction: str, shown: str = "1") -> None:
    """A complex field (PAGE, NUMPAGES) with a cached result, understood by Word, WPS and LibreOffice."""
    for xml in (
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>',
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="separate"/></w:r>',
        f"<w:r {nsdecls('w')}><w:t>{shown}</w:t></w:r>",
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        paragraph._p.append(parse_xml(xml))


_INDENT = 420  # twips: two Chinese characters at 10.5 pt; one list or quotation level
_BULLETS = ("•", "◦", "▪")
_NUMBER_FORMATS = ("%{n}.", "({n})", "{n})")


class _Numbering:
    """Two multi-level list definitions (bullets, decimals); each HTML list gets its own w:num restarting at 1."""

    def __init__(self, doc: DocxDocument) -> None:
        self.element = doc.part.numbering_part.element
        self.abstract: dict[bool, int] = {}

    def _abstract_id(self, ordered: bool) -> int:
        if ordered in self.abstract:
            return self.abstract[ordered]
        existing = self.element.findall(qn("w:abstractNum"))
        new_id = max((int(a.get(qn("w:abstractNumId")) or 0) for a in existing), default=-1) + 1
        levels = []
        for lvl in range(9):
            if ordered:
                fmt, text = "decimal", _NUMBER_FORMATS[lvl % 3].replace("{n}", str(lvl + 1))
            else:
                fmt, text = "bullet", _BULLETS[lvl % 3]
            levels.append(
                f'<w:lvl w:ilvl="{lvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="{_INDENT * (lvl + 1)}" w:hanging="{_INDENT}"/></w:pPr></w:lvl>'
            )
        abstract = parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{new_id}">'
            f'<w:multiLevelType w:val="multilevel"/>{"".join(levels)}</w:abstractNum>'
        )
        if existing:
            existing[-1].addnext(abstract)
        else:
            self.element.insert(0, abstract)
        self.abstract[ordered] = new_id
        return new_id

    def new_list(self, ordered: bool) -> int:
        num = self.element.add_num(self._abstract_id(ordered))
        if ordered:
            for lvl in range(9):
                num.add_lvlOverride(ilvl=lvl).add_startOverride(1)
        return int(num.numId)


def _number_paragraph(paragraph: Paragraph, num_id: int, level: int) -> None:
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = level
    num_pr.get_or_add_numId().val = num_id


def _shade(cell: _Cell, fill: str) -> None:
    shading = parse_xml(f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="{fill}"/>')
    cell._tc.get_or_add_tcPr().append(shading)


def _repeat_header(table: Table, rows: int) -> None:
    for row in table.rows[:rows]:
        row._tr.get_or_add_trPr().append(parse_xml(f"<w:tblHeader {nsdecls('w')}/>"))


# --------------------------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class _Fmt:
    bold: bool = False
    italic: bool = False
    underline: bool = False
    strike: bool = False
    sub: bool = False
    sup: bool = False
    link: bool = False


_FMT_TAGS: dict[str, dict[str, bool]] = {
    "strong": {"bold": True},
    "b": {"bold": True},
    "th": {"bold": True},
    "em": {"italic": True},
    "i": {"italic": True},
    "cite": {"italic": True},
    "u": {"underline": True},
    "ins": {"underline": True},
    "s": {"strike": True},
    "strike": {"strike": True},
    "del": {"strike": True},
    "sub": {"sub": True, "sup": False},
    "sup": {"sup": True, "sub": False},
}


@dataclass(frozen=True)
class _State:
    heading_offset: int = 1
    indent: int = 0  # twips of quotation indent
    first_line: bool = True  # body paragraphs get the two-character first-line indent
    max_image_width: int = MAX_IMAGE_WIDTH
    fmt: _Fmt = _Fmt()


class _Target:
    """Where blocks go: the document body or a table cell (whose first, empty paragraph is reused)."""

    def __init__(self, container: DocxDocument | _Cell) -> None:
        self.container = container
        self.reuse: Paragraph | None = container.paragraphs[0] if isinstance(container, _Cell) else None

    def paragraph(self, style: str | None = None) -> Paragraph:
        if self.reuse is not None:
            paragraph, self.reuse = self.reuse, None
            if style:
                paragraph.style = style
            return paragraph
        return self.container.add_paragraph(style=style)

    def discard(self, paragraph: Paragraph) -> None:
        if isinstance(self.container, _Cell):
            # a cell must end with a paragraph: keep it for the next block
            paragraph.style = None
            ppr = paragraph._p.pPr
            if ppr is not None:
                paragraph._p.remove(ppr)
            for child in list(paragraph._p):
                paragraph._p.remove(child)
            self.reuse = paragraph
        else:
            parent = paragraph._p.getparent()
            if parent is not None:
                parent.remove(paragraph._p)

    def table(self, rows: int, cols: int) -> Table:
        if isinstance(self.container, _Cell):
            table = self.container.add_table(rows, cols)
            if self.reuse is not None:  # the still empty first paragraph would sit above the table
                parent = self.reuse._p.getparent()
                if parent is not None:
                    parent.remove(self.reuse._p)
            self.reuse = self.container.paragraphs[-1]  # the paragraph python-docx adds after the table
            return table
        body_table: Table = self.container.add_table(rows, cols)
        return body_table


class _Para:
    """Inline content of one paragraph, with HTML white-space handling."""

    def __init__(self, renderer: _Renderer, paragraph: Paragraph, state: _State) -> None:
        self.renderer = renderer
        self.paragraph = paragraph
        self.state = state
        self.has_content = False
        self.trailing_space = True  # at the start of a line leading spaces are dropped
        self.last_run: Run | None = None

    def text(self, text: str, fmt: _Fmt) -> None:
        text = _collapse(text)
        if self.trailing_space:
            text = text.lstrip(" ")
        if not self.has_content and self.state.first_line:
            text = text.lstrip(" \u3000")  # a clerk's typed indent: the paragraph is indented already
        if not text:
            return
        run = self.paragraph.add_run(text)
        run.bold = fmt.bold or None
        run.italic = fmt.italic or None
        run.underline = fmt.underline or fmt.link or None
        if fmt.strike:
            run.font.strike = True
        if fmt.sub:
            run.font.subscript = True
        elif fmt.sup:
            run.font.superscript = True
        if fmt.link:
            run.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
        self.trailing_space = text.endswith(" ")
        self.has_content = True
        self.last_run = run

    def line_break(self) -> None:
        self._strip_trailing()
        self.paragraph.add_run().add_break(WD_BREAK.LINE)
        self.trailing_space = True
        self.last_run = None

    def image(self, blob: bytes | None) -> None:
        size = _picture_size(blob, self.state.max_image_width) if blob else None
        if blob is None or size is None:
            self.text(IMAGE_PLACEHOLDER, _Fmt())
            return
        try:
            self.paragraph.add_run().add_picture(io.BytesIO(blob), width=size[0], height=size[1])
        except Exception:  # an image python-docx measured but cannot embed
            self.text(IMAGE_PLACEHOLDER, _Fmt())
            return
        self.has_content = True
        self.trailing_space = False
        self.last_run = None

    def _strip_trailing(self) -> None:
        if self.last_run is not None and self.trailing_space:
            self.last_run.text = self.last_run.text.rstrip(" ")

    def finish(self) -> None:
        self._strip_trailing()


def _picture_size(blob: bytes, max_width: int) -> tuple[Length, Length] | None:
    try:
        image = Image.from_blob(blob)
        width, height = int(image.width), int(image.height)
    except Exception:
        return None
    if width <= 0 or height <= 0:
        return None
    scale = min(1.0, max_width / width, MAX_IMAGE_HEIGHT / height)
    return Emu(max(1, int(width * scale))), Emu(max(1, int(height * scale)))


class _Renderer:
    def __init__(self, doc: DocxDocument, loader: ImageLoader) -> None:
        self.doc = doc
        self.loader = loader
        self.numbering = _Numbering(doc)
        self.images: dict[str, bytes | None] = {}

    def load(self, src: str) -> bytes | None:
        if src not in self.images:
            try:
                blob = self.loader(src) if src else None
            except Exception:
                blob = None
            self.images[src] = blob if isinstance(blob, bytes) and blob else None
        return self.images[src]

    # --- blocks

    def html(self, target: _Target, html: str, state: _State) -> None:
        self.blocks(target, parse_html(_safe(html or "")).children, state)

    def blocks(self, target: _Target, nodes: Sequence[_Node | str], state: _State) -> None:
        pending: list[_Node | str] = []
        for node in nodes:
            if isinstance(node, str) or node.tag not in _BLOCKS:
                pending.append(node)
                continue
            self.inline_paragraph(target, pending, state)
            pending = []
            self.block(target, node, state)
        self.inline_paragraph(target, pending, state)

    def inline_paragraph(
        self, target: _Target, nodes: Sequence[_Node | str], state: _State, style: str | None = None
    ) -> Paragraph | None:
        if not nodes or all(_is_blank(n) for n in nodes):
            return None
        paragraph = target.paragraph(style)
        if state.indent:
            paragraph.paragraph_format.left_indent = Twips(state.indent)
        if state.first_line and style is None:
            paragraph.paragraph_format.first_line_indent = Pt(24)
        para = _Para(self, paragraph, state)
        self.inline(para, nodes, state.fmt)
        para.finish()
        if not para.has_content:
            target.discard(paragraph)
            return None
        return paragraph

    def block(self, target: _Target, node: _Node, state: _State) -> None:
        tag = node.tag
        if tag in _HEADINGS:
            level = max(1, min(9, _HEADINGS[tag] + state.heading_offset))
            self.inline_paragraph(target, node.children, replace(state, first_line=False), f"Heading {level}")
        elif tag in ("ul", "ol"):
            self.list(target, node, state, 0)
        elif tag == "li":
            self.list(target, _Node("ul", children=[node]), state, 0)
        elif tag == "table":
            self.table(target, node, state)
        elif tag in ("tr", "thead", "tbody", "tfoot"):
            self.table(target, _Node("table", children=[node]), state)
        elif tag == "blockquote":
            self.blocks(target, node.children, replace(state, indent=state.indent + _INDENT, first_line=False))
        elif tag == "hr":
            return
        else:  # p, div, td outside a table, caption, …: a container of blocks and inline content
            self.blocks(target, node.children, state)

    # --- lists

    def list(self, target: _Target, node: _Node, state: _State, depth: int) -> None:
        num_id = self.numbering.new_list(node.tag == "ol")
        stray: list[_Node | str] = []
        for child in node.children:
            if isinstance(child, _Node) and child.tag in ("li", "ul", "ol"):
                if stray:
                    self.list_item(target, _Node("li", children=stray), state, num_id, depth)
                    stray = []
                if child.tag == "li":
                    self.list_item(target, child, state, num_id, depth)
                else:
                    self.list(target, child, state, depth + 1)
            elif not _is_blank(child):
                stray.append(child)
        if stray:
            self.list_item(target, _Node("li", children=stray), state, num_id, depth)

    def list_item(self, target: _Target, item: _Node, state: _State, num_id: int, depth: int) -> None:
        level = min(depth, 8)
        numbered = False
        inner = replace(state, first_line=False)
        for kind, payload in _item_parts(item.children):
            if kind == "inline":
                paragraph = self.inline_paragraph(target, payload, inner, "List Paragraph")
                if paragraph is None:
                    continue
                if not numbered:
                    _number_paragraph(paragraph, num_id, level)
                    paragraph.paragraph_format.left_indent = Twips(_INDENT * (level + 1) + state.indent)
                    paragraph.paragraph_format.first_line_indent = Twips(-_INDENT)
                    numbered = True
                else:  # a further paragraph of the same item, aligned with its text
                    paragraph.paragraph_format.left_indent = Twips(_INDENT * (level + 1) + state.indent)
                continue
            assert isinstance(payload, _Node)
            if payload.tag in ("ul", "ol"):
                self.list(target, payload, state, depth + 1)
            else:
                self.block(target, payload, replace(inner, indent=state.indent + _INDENT * (level + 1)))

    # --- tables

    def table(self, target: _Target, node: _Node, state: _State) -> None:
        rows: list[tuple[bool, list[_Node]]] = []
        before: list[_Node | str] = []
        caption: list[_Node | str] = []

        def add_row(tr: _Node, in_head: bool) -> None:
            cells = [c for c in tr.children if isinstance(c, _Node) and c.tag in ("td", "th")]
            rows.append((in_head or (bool(cells) and all(c.tag == "th" for c in cells)), cells))

        loose: list[_Node] = []
        for child in node.children:
            if isinstance(child, _Node) and child.tag in ("td", "th"):
                loose.append(child)
                continue
            if loose:
                add_row(_Node("tr", children=list[_Node | str](loose)), False)
                loose = []
            if isinstance(child, str) or child.tag not in _TABLE_PARTS:
                if not _is_blank(child):
                    before.append(child)
            elif child.tag == "tr":
                add_row(child, False)
            elif child.tag in ("thead", "tbody", "tfoot"):
                for tr in child.children:
                    if isinstance(tr, _Node) and tr.tag == "tr":
                        add_row(tr, child.tag == "thead")
            elif child.tag == "caption":
                caption.extend(child.children)
        if loose:
            add_row(_Node("tr", children=list[_Node | str](loose)), False)

        self.blocks(target, before, state)
        if caption:
            self.inline_paragraph(target, caption, replace(state, first_line=False), "Caption")
        placements = _layout(rows)
        if not placements:
            return
        n_rows = len(rows)
        n_cols = max(c + cs for _, c, _, cs, _ in placements)
        table = target.table(n_rows, n_cols)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        merged: dict[tuple[int, int], _Cell] = {}
        for r, c, rs, cs, _ in placements:
            if rs > 1 or cs > 1:
                with contextlib.suppress(Exception):  # a span python-docx cannot express: leave the cells apart
                    merged[r, c] = table.cell(r, c).merge(table.cell(r + rs - 1, c + cs - 1))
        grid = table._cells
        cell_width = max(int(Cm(2)), int(min(state.max_image_width, MAX_IMAGE_WIDTH) / n_cols) - int(Cm(0.4)))
        cell_state = replace(state, indent=0, first_line=False, heading_offset=state.heading_offset, fmt=_Fmt())
        header_rows = 0
        for is_head, _ in rows:
            if not is_head:
                break
            header_rows += 1
        for r, c, _, _, cell_node in placements:
            cell = merged.get((r, c)) or grid[r * n_cols + c]
            is_th = cell_node.tag == "th" or r < header_rows
            fmt = replace(state.fmt, bold=True) if is_th else _Fmt()
            if is_th:
                _shade(cell, "F2F2F2")
            self.blocks(_Target(cell), cell_node.children, replace(cell_state, max_image_width=cell_width, fmt=fmt))
        if 0 < header_rows < n_rows:
            _repeat_header(table, header_rows)
        target.paragraph().paragraph_format.space_after = Pt(0)  # keep the next table apart

    # --- inline

    def inline(self, para: _Para, nodes: Sequence[_Node | str], fmt: _Fmt) -> None:
        for node in nodes:
            if isinstance(node, str):
                para.text(node, fmt)
                continue
            tag = node.tag
            if tag == "br":
                para.line_break()
            elif tag == "img":
                para.image(self.load(node.attrs.get("src", "").strip()))
            elif tag == "a":
                href = _safe(node.attrs.get("href", "")).strip()
                label = _collapse(_text_of(node)).strip()
                self.inline(para, node.children, replace(fmt, link=bool(href)))
                if href and href != label:
                    para.text(f"（{href}）" if label else href, replace(fmt, link=False))
            elif tag in _FMT_TAGS:
                self.inline(para, node.children, replace(fmt, **_FMT_TAGS[tag]))
            elif tag in _BLOCKS:  # a block where only inline content fits (e.g. a list inside a heading)
                if para.has_content:
                    para.line_break()
                self.inline(para, node.children, fmt)
            else:
                self.inline(para, node.children, fmt)


def _item_parts(nodes: Sequence[_Node | str]) -> Iterator[tuple[str, Any]]:
    """A list item's content as ("inline", [nodes]) paragraphs and ("block", node) blocks."""
    pending: list[_Node | str] = []
    for node in nodes:
        if isinstance(node, str) or node.tag not in _BLOCKS:
            pending.append(node)
            continue
        if pending:
            yield "inline", pending
            pending = []
        if node.tag in _CONTAINERS or node.tag == "li":
            yield from _item_parts(node.children)
        else:
            yield "block", node
    if pending:
        yield "inline", pending


_MAX_COLS = 40
_MAX_SPAN = 1000


def _span(value: str | None) -> int:
    try:
        n = int((value or "1").strip())
    except ValueError:
        return 1
    return max(1, min(n, _MAX_SPAN))


def _layout(rows: Sequence[tuple[bool, list[_Node]]]) -> list[tuple[int, int, int, int, _Node]]:
    """The HTML table model: (row, column, rowspan, colspan, cell), spans clipped so no two cells overlap."""
    occupied: set[tuple[int, int]] = set()
    placements: list[tuple[int, int, int, int, _Node]] = []
    n_rows = len(rows)
    for r, (_, cells) in enumerate(rows):
        c = 0
        for cell in cells:
            while (r, c) in occupied:
                c += 1
            if c >= _MAX_COLS:
                break
            want_cols = min(_span(cell.attrs.get("colspan")), _MAX_COLS - c)
            cs = 1
            while cs < want_cols and (r, c + cs) not in occupied:
                cs += 1
            want_rows = min(_span(cell.attrs.get("rowspan")), n_rows - r)
            rs = 1
            while rs < want_rows and all((r + rs, cc) not in occupied for cc in range(c, c + cs)):
                rs += 1
            placements.append((r, c, rs, cs, cell))
            occupied.update((rr, cc) for rr in range(r, r + rs) for cc in range(c, c + cs))
            c += cs
    return placements


# --------------------------------------------------------------------------------------------------------------
# The document


def _format_investment(value: Decimal | int | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal | int):
        return f"{value:,.2f} 万元"
    return value


def _format_users(value: int | str | None) -> str:
    if value is None or value == "":
        return "—"
    return f"{value:,}" if isinstance(value, int) else value


def _page_setup(doc: DocxDocument, report: ReportDocument) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.54), Cm(2.54)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.header_distance, section.footer_distance = Cm(1.5), Cm(1.5)

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    header.add_run(_safe(report.title)).font.size = Pt(9)
    if report.demo:
        marker = header.add_run(f"　【{DEMO_MARKER}】")
        marker.font.size = Pt(9)
        marker.bold = True
        marker.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    _add_field(footer, "PAGE")
    footer.add_run(" 页 / 共 ")
    _add_field(footer, "NUMPAGES")
    footer.add_run(" 页")


def _title_page(doc: DocxDocument, report: ReportDocument) -> None:
    for _ in range(4):
        doc.add_paragraph()
    if report.demo:
        marker = doc.add_paragraph()
        marker.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = marker.add_run(f"【{DEMO_MARKER}】")
        run.bold = True
        run.font.size = Pt(16)
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
        note = doc.add_paragraph()
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER
        note.add_run("本文件内容为平台演示数据，不代表任何城市的真实情况").font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    doc.add_paragraph(_safe(report.title), style="Title")
    doc.add_paragraph()
    for line in report.subtitle:
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run(_safe(line)).font.size = Pt(14)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def render_docx(report: ReportDocument) -> bytes:
    """The report as the bytes of a .docx file; never raises on any rich-text content."""
    doc = Document()
    _setup_styles(doc)
    _page_setup(doc, report)
    props = doc.core_properties
    props.title = _safe(report.title)[:255]
    props.author = "信息消费示范城市监测平台"
    props.last_modified_by = "信息消费示范城市监测平台"
    props.language = "zh-CN"
    props.comments = DEMO_MARKER if report.demo else ""
    _title_page(doc, report)

    renderer = _Renderer(doc, report.image_loader)
    body = _Target(doc)
    chapter = 0

    def heading(text: str, level: int = 1) -> None:
        nonlocal chapter
        if level == 1:
            chapter += 1
            if report.number_headings:
                text = f"{cn_number(chapter)}、{text}"
        doc.add_paragraph(_safe(text), style=f"Heading {level}")

    for title, html in report.sections:
        heading(title)
        renderer.html(body, html, _State(heading_offset=1))

    if report.attainment_headers or report.attainment_rows or report.attainment_note:
        heading(report.attainment_title)
        _attainment(doc, report.attainment_headers, report.attainment_rows, report.attainment_note)

    if report.applications:
        heading(report.applications_title)
        for i, app in enumerate(report.applications, start=1):
            _application(doc, renderer, body, app, i)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _attainment(doc: DocxDocument, headers: Sequence[str], rows: Sequence[Sequence[object]], note: str) -> None:
    n_cols = max([len(headers)] + [len(r) for r in rows])
    if rows and n_cols:
        n_head = 1 if headers else 0
        table = doc.add_table(rows=n_head + len(rows), cols=n_cols)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid = table._cells
        for c, label in enumerate(headers):
            cell = grid[c]
            _shade(cell, "F2F2F2")
            run = cell.paragraphs[0].add_run(_safe(str(label)))
            run.bold = True
            run.font.size = Pt(10.5)
        for r, row in enumerate(rows, start=n_head):
            for c, text in enumerate(row):
                run = grid[r * n_cols + c].paragraphs[0].add_run(_safe("" if text is None else str(text)))
                run.font.size = Pt(10.5)
        if n_head:
            _repeat_header(table, 1)
    if note or not rows:
        paragraph = doc.add_paragraph()
        paragraph.add_run(_safe(note or "暂无数据。")).font.size = Pt(10.5)


def _application(doc: DocxDocument, renderer: _Renderer, body: _Target, app: ApplicationDocument, index: int) -> None:
    doc.add_paragraph(_safe(f"（{cn_number(index)}）{app.title}"), style="Heading 2")
    facts = [
        ("示范领域", app.area),
        ("实施单位", app.organisation),
        ("投资额", _format_investment(app.investment)),
        ("服务用户数", _format_users(app.users_served)),
        ("联系人", app.contact),
    ]
    table = doc.add_table(rows=len(facts), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(3.5), Cm(12))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row, (label, value) in zip(table.rows, facts, strict=True):
        label_cell, value_cell = row.cells
        label_cell.width, value_cell.width = widths
        _shade(label_cell, "F2F2F2")
        label_cell.paragraphs[0].add_run(label).bold = True
        value_cell.paragraphs[0].add_run(_safe(str(value or "—")))
    doc.add_paragraph("应用简介", style="Heading 3")
    renderer.html(body, app.description_html, _State(heading_offset=3))
    doc.add_paragraph("应用成效", style="Heading 3")
    renderer.html(body, app.results_html, _State(heading_offset=3))
    if app.images:
        doc.add_paragraph("应用图片", style="Heading 3")
    for j, blob in enumerate(app.images, start=1):
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _Para(renderer, paragraph, _State()).image(blob if isinstance(blob, bytes) and blob else None)
        doc.add_paragraph(f"图 {index}-{j}", style="Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER
