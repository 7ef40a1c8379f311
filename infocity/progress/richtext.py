"""The rich text of progress reports (进展报告正文): what a clerk types, or pastes from Word or WPS, into the
editor. ``sanitize`` is the only way such HTML is stored. It keeps the structure a report needs — headings,
paragraphs, bold and italic, lists, tables with merged cells, links, pasted images — and drops everything else:
scripts and styles, Word's namespaces and conditional comments, classes, inline styles, event handlers, external
images (the intranet has no internet, and a fetched image tells a third party who reads the report). Word's list
paragraphs (``mso-list``) become real lists. Pasted images arrive as ``data:`` URIs; ``extract_data_images`` turns
them into stored attachments.

It works in three steps: ammonia (nh3, an HTML5 parser as browsers parse) first cleans with a lenient allow-list
that still shows Word's list styles; the well-formed result is reshaped as a small tree (lists, empty paragraphs,
``div`` → ``p``, ``h5``/``h6`` → ``h4``); ammonia then cleans the reshaped HTML with the strict allow-list, so the
output is always ammonia's. The output is a fixed point: ``sanitize(sanitize(x)) == sanitize(x)``."""

from __future__ import annotations

import base64
import binascii
import html as htmllib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TypeAlias

import nh3

from .attachments import KINDS, AttachmentRefused, inspect_image_bytes

DEFAULT_IMAGE_PREFIX = "/progress/files/"
MAX_LENGTH = 200_000  # characters of stored HTML, pasted images not counted
MAX_INPUT = 64 * 1024 * 1024  # characters handed in at all, pasted images included
MARKUP_FACTOR = 10  # Word's markup is many times its text: what is pasted may be this many times MAX_LENGTH
MAX_DEPTH = 100  # nesting of elements; the HTML5 parser slows down quadratically with depth
MAX_FORMATTING = 16  # formatting elements open at once; the parser repeats them in every following paragraph
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGES = 100
MAX_SPAN = 1000  # colspan/rowspan, as browsers clamp colspan
MAX_IMAGE_SIDE = 10_000
MAX_URL = 2048
LINK_REL = "noopener noreferrer nofollow"
MAX_ROUNDS = 4  # sanitizing is repeated until nothing changes (the output is a fixed point)

TAGS = frozenset({
    "h1", "h2", "h3", "h4", "p", "br", "strong", "em", "u", "s", "sub", "sup", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "a", "img",
})  # fmt: skip
ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),  # and rel, always LINK_REL
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
# Dropped with everything inside them.
DROPPED = frozenset({
    "script", "style", "xml", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "noembed",
    "noframes", "template", "svg", "math", "title", "meta", "link", "base", "form", "input", "button", "select",
    "textarea", "canvas", "audio", "video", "picture", "map", "param", "dialog",
})  # fmt: skip

_RENAMED = {"b": "strong", "i": "em", "strike": "s", "del": "s", "ins": "u", "h5": "h4", "h6": "h4"}
_CONTAINERS = frozenset({
    "div", "section", "article", "header", "footer", "main", "nav", "aside", "center", "figure", "figcaption",
    "address", "dl", "dt", "dd", "pre",
})  # fmt: skip  # become a paragraph, or are unwrapped when they hold blocks
_LENIENT_TAGS = TAGS | _CONTAINERS | _RENAMED.keys() | {"span", "hr"}
_STYLED = ("p", "span", "h1", "h2", "h3", "h4", "h5", "h6")  # Word's mso-list is read from their style
_LENIENT_ATTRIBUTES = {"*": set[str]()} | {t: set(a) for t, a in ATTRIBUTES.items()} | {t: {"style"} for t in _STYLED}
_STRICT_ATTRIBUTES = {"*": set[str]()} | {t: set(a) for t, a in ATTRIBUTES.items()}
_SCHEMES = {"http", "https", "mailto", "data"}
_VOID = frozenset({"br", "img", "hr", "wbr", "area", "base", "col", "embed", "input", "link", "meta", "source",
                   "track", "param", "keygen"})  # fmt: skip
_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "table", "thead", "tbody",
                     "tfoot", "tr", "th", "td", "caption"}) | _CONTAINERS  # fmt: skip
_EDGES_TRIMMED = frozenset({"p", "h1", "h2", "h3", "h4", "li", "td", "th", "caption"})
_DROPPED_WHEN_EMPTY = frozenset({"p", "h1", "h2", "h3", "h4", "li", "blockquote", "caption"})
_INLINE_DROPPED_WHEN_EMPTY = frozenset({"strong", "em", "u", "s", "sub", "sup", "a"})
_ONLY_ELEMENTS = frozenset({"ul", "ol", "table", "thead", "tbody", "tfoot", "tr"})  # whitespace between is dropped
_BLANK = " \t\n\r\f\xa0\u3000\u200b\ufeff"

_DATA_IMAGE = re.compile(r"data:image/(png|jpe?g|gif|webp);base64,([A-Za-z0-9+/]+={0,2})", re.IGNORECASE)
_IMAGE_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._~/-]*")
_LINK = re.compile(r"(?:https?://[^/?#@\s]+(?:[/?#]\S*)?|mailto:\S+)", re.IGNORECASE)
_NUMBER = re.compile(r"\s*(\d{1,6})(?:px)?\s*", re.IGNORECASE)
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")
_CJK = "\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\uff00-\uffef"
# Word wraps its HTML source between Chinese characters; as browsers do (CSS Text 3), such a break is no space.
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n[ \t\r\n\f]*(?=[{_CJK}])")
_MSO_LIST = re.compile(r"mso-list\s*:\s*l\d+\s+level(\d+)", re.IGNORECASE)
_MSO_IGNORE = re.compile(r"mso-list\s*:\s*ignore", re.IGNORECASE)
_ORDERED = (
    r"[(（]?(?:\d{1,3}(?:\.\d{1,3})*|[一二三四五六七八九十百]{1,4}|[\u2460-\u2473])[.．、)）]?"
    r"|[(（]?(?:[A-Za-z]|[ivxlcdmIVXLCDM]{1,6})[.．、)）]"
)
_BULLETS = "•·▪■□●○◆◇◦‣⁃–—*§ØüloqnvÞ\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf06c\uf06e\uf0a8-"
_LEADING_MARKER = re.compile(rf"[{_BLANK}]*((?:{_ORDERED})|[{re.escape(_BULLETS)}])(?:[{_BLANK}]+|$)")
_SPAN_TAG = re.compile(r"</?span\b[^>]*>")
_IMG_TAG = re.compile(r"<img(?:\s[^>]*)?>")  # ammonia escapes ">" in attribute values
_SRC = re.compile(r'\ssrc="([^"]*)"')


class RichTextRefused(ValueError):
    """The text cannot be stored; the message says why, in Chinese, for the clerk."""


class RichTextTooLong(RichTextRefused):
    """The text is longer than a report section may be."""


class PastedImageRefused(RichTextRefused):
    """An image pasted into the text is too large, broken, or not an image."""


def sanitize(html: str, *, image_prefix: str = DEFAULT_IMAGE_PREFIX, max_length: int = MAX_LENGTH) -> str:
    """The safe, tidied form of user HTML, to store and show. Images are kept only when their ``src`` is one of
    our files (under ``image_prefix``) or a pasted ``data:image/…;base64`` image. Raises ``RichTextTooLong`` when
    the result (pasted images not counted) is longer than ``max_length`` characters or the input is far too large,
    ``RichTextRefused`` when the elements are nested absurdly deep."""
    _check_input(html, max_length)
    if not html.strip():
        return ""
    clean = _once(html, image_prefix, max_length)
    for _ in range(MAX_ROUNDS):
        again = _once(clean, image_prefix, max_length)
        if again == clean:
            break
        clean = again
    else:  # misnested markup the HTML5 parser keeps reshaping: keep its text
        lines = plain_text(clean).split("\n")
        clean = _once("".join(f"<p>{htmllib.escape(line)}</p>" for line in lines), image_prefix, max_length)
    _check_length(clean, max_length, max_length)
    return clean


def _check_length(html: str, limit: int, shown_limit: int) -> None:
    """Pasted images (``data:`` in an img's src, which ammonia's output holds only in real tags) do not count."""
    pasted = (_DATA_IMAGE.fullmatch(src.group(1)) for tag in _IMG_TAG.finditer(html) if (src := _SRC.search(tag[0])))
    length = len(html) - sum(len(image.group(2)) for image in pasted if image)
    if length > limit:
        raise RichTextTooLong(
            f"正文过长（含格式约 {length:,} 个字符，上限为 {shown_limit:,}）。请精简内容，或把详细材料作为附件上传。"
        )


def _once(html: str, image_prefix: str, max_length: int) -> str:
    keep = _attribute_filter(image_prefix)
    first = nh3.clean(
        html, tags=set(_LENIENT_TAGS), clean_content_tags=set(DROPPED), attributes=_LENIENT_ATTRIBUTES,
        attribute_filter=keep, strip_comments=True, link_rel=LINK_REL, url_schemes=_SCHEMES,
    )  # fmt: skip
    # Far too long even without the spans the reshaping unwraps: refused before the (slower) reshaping.
    _check_length(_SPAN_TAG.sub("", first), 2 * max_length, max_length)
    reshaped = _serialize(_reshape_children(_parse(first).children, wrap=True))
    return nh3.clean(
        reshaped, tags=set(TAGS), clean_content_tags=set(DROPPED), attributes=_STRICT_ATTRIBUTES,
        attribute_filter=keep, strip_comments=True, link_rel=LINK_REL, url_schemes=_SCHEMES,
    )  # fmt: skip


def plain_text(html: str) -> str:
    """The text of (sanitised) HTML, for search, length checks and plain renderings: one line per paragraph,
    heading or list item (``• `` or ``1. `` in front), table cells separated by tabs, blank lines dropped."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    return parser.text()


def extract_data_images(
    html: str,
    store: Callable[[bytes, str], str],
    *,
    image_prefix: str = DEFAULT_IMAGE_PREFIX,
    max_image_bytes: int = MAX_IMAGE_BYTES,
    max_length: int = MAX_LENGTH,
) -> str:
    """Store the images pasted into ``html`` (``data:`` URIs) and point their ``src`` at the stored files.

    ``store(data, mime)`` saves one image and returns its URL, which must lie under ``image_prefix``. Every image
    is decoded and checked (size, real type, pixel count) before any is stored; a refused one raises
    ``PastedImageRefused`` and nothing is stored. The same image pasted twice is stored once. The result is
    sanitised: ``sanitize`` leaves it unchanged."""
    clean = sanitize(html, image_prefix=image_prefix, max_length=max_length)
    pasted: dict[str, tuple[bytes, str]] = {}
    for tag in _IMG_TAG.finditer(clean):
        src = _SRC.search(tag.group(0))
        if src is None or src.group(1) in pasted:
            continue
        data_uri = _DATA_IMAGE.fullmatch(src.group(1))
        if data_uri is None:
            continue
        if len(pasted) >= MAX_IMAGES:
            raise PastedImageRefused(f"一段正文中最多粘贴 {MAX_IMAGES} 张图片。请把其余图片作为附件上传。")
        pasted[src.group(1)] = _decode_image(data_uri.group(2), len(pasted) + 1, max_image_bytes)
    if not pasted:
        return clean
    urls: dict[str, str] = {}
    for uri, (data, mime) in pasted.items():
        url = store(data, mime)
        if _image_src(url, image_prefix) != url:
            raise RuntimeError(f"store() returned {url!r}, which is not an image URL under {image_prefix!r}")
        urls[uri] = url

    def point(tag: re.Match[str]) -> str:
        return _SRC.sub(
            lambda src: f' src="{htmllib.escape(urls.get(src.group(1), src.group(1)))}"', tag.group(0), count=1
        )

    return _IMG_TAG.sub(point, clean)


def _decode_image(payload: str, number: int, max_bytes: int) -> tuple[bytes, str]:
    size = len(payload) * 3 // 4
    if size > max_bytes:
        raise PastedImageRefused(
            f"粘贴的第 {number} 张图片过大（约 {size / 1048576:.1f} MB），上限为 {max_bytes / 1048576:.0f} MB。"
            "请压缩图片后重新粘贴，或作为附件上传。"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise PastedImageRefused(f"粘贴的第 {number} 张图片数据已损坏。请重新粘贴，或作为附件上传。") from None
    try:
        kind = inspect_image_bytes(data)
    except AttachmentRefused as refused:
        raise PastedImageRefused(f"粘贴的第 {number} 张图片无法使用：{refused}") from None
    return data, KINDS[kind].mime


# --- checks on what comes in ------------------------------------------------------------------------------------


def _check_input(html: str, max_length: int) -> None:
    """Bounds what reaches the parsers: the size, and the nesting depth, estimated by a linear scan."""
    markup_limit = max_length * MARKUP_FACTOR
    markup = re.sub(r"""(src\s*=\s*["']?\s*)data:[A-Za-z0-9/+;,=\s]{256,}""", r"\1data:", html, flags=re.IGNORECASE)
    if len(html) > MAX_INPUT or len(markup) > markup_limit:
        raise RichTextTooLong(
            f"粘贴的内容过长（含格式约 {min(len(html), MAX_INPUT + 1):,} 个字符）。"
            "请分段粘贴、精简内容，或把详细材料作为附件上传。"
        )
    if _nesting(markup) > MAX_DEPTH:  # also when too many formatting elements are open at once
        raise RichTextRefused(
            f"正文的格式嵌套超过 {MAX_DEPTH} 层，无法处理。"
            "请先粘贴到记事本再复制过来（去掉格式），或简化原文格式后重试。"
        )


_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
                         "u"})  # fmt: skip
_TAG_START = re.compile(r"<(?:!--|/?[a-z])")
_TAG_NAME = re.compile(r"(/?)([A-Za-z][A-Za-z0-9:_-]*)")
_RAW_TEXT = frozenset({"script", "style", "xml", "textarea", "title", "xmp", "noscript", "noembed", "noframes"})
_SECTIONS = {"thead", "tbody", "tfoot", "tr", "td", "th"}
_CLOSED_BY_SIBLING = {"p": {"p"}, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "tr": {"tr", "td", "th"},
                      "td": {"td", "th"}, "th": {"td", "th"}, "option": {"option"}, "thead": _SECTIONS,
                      "tbody": _SECTIONS, "tfoot": _SECTIONS}  # fmt: skip


def _nesting(markup: str) -> int:
    """How deep elements nest, estimated from start and end tags without parsing (linear in the length)."""
    lowered = markup.lower()
    stack: list[str] = []
    open_count: Counter[str] = Counter()
    position, next_gt = 0, -1
    formatting = 0
    while start := _TAG_START.search(lowered, position):
        lt = start.start()
        if lowered.startswith("<!--", lt):
            end = lowered.find("-->", lt + 4)
            if end < 0:
                break
            position = end + 3
            continue
        if next_gt <= lt:
            next_gt = lowered.find(">", lt + 1)
            if next_gt < 0:
                break
        tag = _TAG_NAME.match(lowered, lt + 1, next_gt)
        if tag is None:
            position = lt + 1
            continue
        position = next_gt + 1
        name = tag.group(2)
        if tag.group(1):
            if open_count[name]:
                while True:
                    closed = stack.pop()
                    open_count[closed] -= 1
                    formatting -= closed in _FORMATTING
                    if closed == name:
                        break
        elif name in _RAW_TEXT:
            end = lowered.find("</" + name, position)
            position = end if end >= 0 else len(lowered)
        elif name not in _VOID and lowered[next_gt - 1] != "/":
            while stack and stack[-1] in _CLOSED_BY_SIBLING.get(name, ()):
                open_count[stack.pop()] -= 1
            stack.append(name)
            open_count[name] += 1
            formatting += name in _FORMATTING
            if len(stack) > MAX_DEPTH or formatting > MAX_FORMATTING:
                return MAX_DEPTH + 1
    return len(stack)


# --- attributes -------------------------------------------------------------------------------------------------


def _attribute_filter(image_prefix: str) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "rel":
            return LINK_REL  # the only rel a link may have (ammonia adds it)
        if tag == "a" and attribute == "href":
            return _link(value)
        if tag == "img":
            if attribute == "src":
                return _image_src(value, image_prefix)
            if attribute == "alt":
                return _WHITESPACE.sub(" ", value).strip()[:300] or None
            if attribute in {"width", "height"}:
                return _number(value, MAX_IMAGE_SIDE)
        if tag in {"td", "th"} and attribute in {"colspan", "rowspan"}:
            return _number(value, MAX_SPAN)
        if attribute == "style":  # only Word's list markers are read (by the reshaping step, never kept)
            found = _MSO_LIST.search(value) or _MSO_IGNORE.search(value)
            return found.group(0) if found else None
        return None

    return keep


def _link(value: str) -> str | None:
    url = value.strip()
    if len(url) > MAX_URL or any(ord(ch) < 0x21 or 0x7F <= ord(ch) < 0xA0 for ch in url):
        return None
    return url if _LINK.fullmatch(url) else None


def _image_src(value: str, image_prefix: str) -> str | None:
    url = value.strip()
    if url[:5].lower() == "data:":
        pasted = _DATA_IMAGE.fullmatch(re.sub(r"[ \t\n\r\f]", "", url))
        if pasted is None:
            return None
        kind = pasted.group(1).lower().replace("jpg", "jpeg")
        return f"data:image/{kind};base64,{pasted.group(2)}"
    rest = url[len(image_prefix) :]
    if url.startswith(image_prefix) and _IMAGE_PATH.fullmatch(rest) and ".." not in rest and "//" not in rest:
        return url
    return None


def _number(value: str, maximum: int) -> str | None:
    number = _NUMBER.fullmatch(value)
    if number is None or int(number.group(1)) < 1:
        return None
    return str(min(int(number.group(1)), maximum))


# --- the tree the reshaping works on ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Node] = field(default_factory=list)
    block: bool = False  # is or holds a block element
    content: bool = False  # holds text or an image (set when the element is finished)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


_Node: TypeAlias = "_Element | str"


class _TreeBuilder(HTMLParser):
    """Builds the tree of ammonia's (well-formed) output. Beyond MAX_DEPTH, elements are flattened."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("#root")
        self.stack: list[tuple[str, _Element | None]] = [("#root", self.root)]
        self.open: list[_Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {name: value or "" for name, value in attrs})
        if tag in _VOID:
            self.open[-1].children.append(element)
            return
        if len(self.open) > MAX_DEPTH:
            self.stack.append((tag, None))
            return
        self.open[-1].children.append(element)
        self.stack.append((tag, element))
        self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index][0] == tag:
                for _, element in self.stack[index:]:
                    if element is not None:
                        self.open.pop()
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)  # adjacent pieces are joined by the reshaping


def _parse(html: str) -> _Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _serialize(nodes: Iterable[_Node]) -> str:
    parts: list[str] = []

    def write(node: _Node) -> None:
        if isinstance(node, str):
            parts.append(htmllib.escape(node, quote=False))
            return
        attributes = "".join(f' {name}="{htmllib.escape(value)}"' for name, value in node.attrs.items())
        parts.append(f"<{node.tag}{attributes}>")
        if node.tag not in _VOID:
            for child in node.children:
                write(child)
            parts.append(f"</{node.tag}>")

    for node in nodes:
        write(node)
    return "".join(parts)


# --- reshaping --------------------------------------------------------------------------------------------------


def _reshape_children(children: list[_Node], *, wrap: bool = False) -> list[_Node]:
    """Reshape a run of siblings. Word's list paragraphs in a row become one (nested) list; with ``wrap``, runs
    of inline content between blocks become paragraphs and whitespace between blocks goes."""
    shaped: list[_Node] = []
    items: list[tuple[int, bool, list[_Node]]] = []
    for child in children:
        level = _list_level(child)
        if level is not None and isinstance(child, _Element):
            items.append((level, *_list_item(child)))
            continue
        if items and isinstance(child, str) and not child.strip(_BLANK):
            continue
        if items:
            shaped.extend(_build_lists(items))
            items = []
        shaped.extend(_reshape(child))
    if items:
        shaped.extend(_build_lists(items))
    shaped = _merge_text(shaped)
    return _wrap_inline(shaped) if wrap else shaped


def _merge_text(nodes: list[_Node]) -> list[_Node]:
    merged: list[_Node] = []
    run: list[str] = []
    for node in [*nodes, _Element("#end")]:
        if isinstance(node, str):
            run.append(node)
            continue
        if text := _WHITESPACE.sub(" ", "".join(run)):
            merged.append(text)
        run.clear()
        merged.append(node)
    return merged[:-1]


def _wrap_inline(nodes: list[_Node]) -> list[_Node]:
    wrapped: list[_Node] = []
    run: list[_Node] = []

    def close_run() -> None:
        if run:
            wrapped.extend(_finish(_Element("p", children=list(run))))
            run.clear()

    for node in nodes:
        if isinstance(node, _Element) and node.block:
            close_run()
            wrapped.append(node)
        else:
            run.append(node)
    close_run()
    return wrapped


def _reshape(node: _Node) -> list[_Node]:
    if isinstance(node, str):
        return [_WHITESPACE.sub(" ", _CJK_LINE_BREAK.sub("", node))]
    tag = _RENAMED.get(node.tag, node.tag)
    if tag == "span" and _MSO_IGNORE.search(node.attrs.get("style", "")):
        marker = node.text().strip(_BLANK)  # Word's own numbering of a heading ("1.1"): kept as text
        return [marker + " "] if marker else []
    if tag == "hr":
        return []
    if tag == "img":
        return [_Element("img", _allowed("img", node.attrs), content=True)] if "src" in node.attrs else []
    children = _reshape_children(node.children)
    if tag == "a" and "href" not in node.attrs:
        return children
    if tag in _CONTAINERS:
        if any(isinstance(c, _Element) and c.block for c in children):
            return _wrap_inline(children)
        return _finish(_Element("p", children=children))
    if tag not in TAGS:
        return children
    return _finish(_Element(tag, _allowed(tag, node.attrs), children))


def _allowed(tag: str, attrs: dict[str, str]) -> dict[str, str]:
    names = ATTRIBUTES.get(tag, frozenset())
    return {name: value for name, value in attrs.items() if name in names}


def _finish(element: _Element) -> list[_Node]:
    """Tidy an element whose children are reshaped, or drop it when it is empty."""
    children = element.children
    if element.tag in {"td", "th"} and len(children) == 1 and isinstance(only := children[0], _Element):
        children = only.children if only.tag == "p" else children
    if element.tag in _EDGES_TRIMMED:
        children = _trim(children)
    if element.tag in _ONLY_ELEMENTS:
        children = [c for c in children if not (isinstance(c, str) and not c.strip(_BLANK))]
    element.children = children
    element.block = element.tag in _BLOCKS or any(isinstance(c, _Element) and c.block for c in children)
    element.content = any(c.content if isinstance(c, _Element) else c.strip(_BLANK) for c in children)
    empty = not element.content
    if empty and element.tag in _INLINE_DROPPED_WHEN_EMPTY:
        return [c for c in children if isinstance(c, str)]
    if empty and element.tag in _DROPPED_WHEN_EMPTY:
        return []
    if element.tag in _ONLY_ELEMENTS and not any(isinstance(c, _Element) for c in children):
        return [c for c in children if isinstance(c, str)]
    return [element]


def _trim(children: list[_Node]) -> list[_Node]:
    """Whitespace and line breaks at the start and end of a paragraph, heading, list item or cell go."""
    children = list(children)
    while children and (_is_br(children[0]) or (isinstance(children[0], str) and not children[0].strip(" "))):
        children.pop(0)
    while children and (_is_br(children[-1]) or (isinstance(children[-1], str) and not children[-1].strip(" "))):
        children.pop()
    if children and isinstance(children[0], str):
        children[0] = children[0].lstrip(" ")
    if children and isinstance(children[-1], str):
        children[-1] = children[-1].rstrip(" ")
    return children


def _is_br(node: _Node) -> bool:
    return isinstance(node, _Element) and node.tag == "br"


# --- Word's list paragraphs -------------------------------------------------------------------------------------


def _list_level(node: _Node) -> int | None:
    """Word and WPS paste a list as paragraphs styled ``mso-list:l0 level1 lfo1``, the marker ("·", "1.") as
    text in front, often in a ``<span style="mso-list:Ignore">``."""
    if not isinstance(node, _Element) or node.tag != "p":
        return None
    level = _MSO_LIST.search(node.attrs.get("style", ""))
    return min(max(int(level.group(1)), 1), 9) if level else None


def _list_item(paragraph: _Element) -> tuple[bool, list[_Node]]:
    """Whether the item is numbered, and its content without the marker."""
    ignored = _find_ignored(paragraph)
    if ignored is not None:
        marker = ignored.text().strip(_BLANK)
        _remove(paragraph, ignored)
        _drop_leading(paragraph, 0)
    else:
        found = _LEADING_MARKER.match(paragraph.text())
        marker = found.group(1) if found else ""
        _drop_leading(paragraph, found.end() if found else 0)
    ordered = bool(re.fullmatch(_ORDERED, marker)) and not (len(marker) == 1 and marker in _BULLETS)
    return ordered, _reshape_children(paragraph.children)


def _find_ignored(element: _Element) -> _Element | None:
    for child in element.children:
        if isinstance(child, _Element):
            if child.tag == "span" and _MSO_IGNORE.search(child.attrs.get("style", "")):
                return child
            found = _find_ignored(child)
            if found is not None:
                return found
    return None


def _remove(element: _Element, target: _Element) -> bool:
    for index, child in enumerate(element.children):
        if child is target:
            del element.children[index]
            return True
        if isinstance(child, _Element) and _remove(child, target):
            return True
    return False


def _drop_leading(element: _Element, count: int) -> int:
    """Remove ``count`` characters of text from the start, then any blank characters after them. Returns how
    many of ``count`` are still to remove (0 once done); -1 once non-blank text has been reached."""
    index = 0
    while index < len(element.children):
        child = element.children[index]
        if isinstance(child, str):
            rest = child[count:] if count else child
            count = max(count - len(child), 0)
            if count == 0:
                rest = rest.lstrip(_BLANK)
            element.children[index] = rest
            if rest:
                return -1
        else:
            count = _drop_leading(child, count)
            if count < 0:
                return -1
            count = max(count, 0)
        index += 1
    return count


def _build_lists(items: list[tuple[int, bool, list[_Node]]]) -> list[_Node]:
    """Nest the items by level: a deeper item opens a list inside the previous item."""
    top: list[_Node] = []
    open_lists: list[tuple[int, _Element]] = []
    for level, ordered, content in items:
        tag = "ol" if ordered else "ul"
        while open_lists and open_lists[-1][0] > level:
            open_lists.pop()
        if open_lists and open_lists[-1][0] == level and open_lists[-1][1].tag != tag:
            open_lists.pop()
        if not open_lists or open_lists[-1][0] < level:
            new = _Element(tag, block=True)
            if open_lists:
                parent = open_lists[-1][1]
                if not parent.children:
                    parent.children.append(_Element("li", block=True))
                last = parent.children[-1]
                assert isinstance(last, _Element)
                last.children.append(new)
            else:
                top.append(new)
            open_lists.append((level, new))
        open_lists[-1][1].children.append(_Element("li", children=content, block=True))
    return [node for element in top if isinstance(element, _Element) for node in _finish_lists(element)]


def _finish_lists(element: _Element) -> list[_Node]:
    """Finish the lists built from Word's paragraphs, innermost first (finishing is idempotent)."""
    element.children = [
        node
        for child in element.children
        for node in (
            _finish_lists(child) if isinstance(child, _Element) and child.tag in {"ul", "ol", "li"} else [child]
        )
    ]
    return _finish(element)


# --- plain text -------------------------------------------------------------------------------------------------


class _PlainText(HTMLParser):
    _LINES = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "tr",
                        "caption", "pre", "section", "article", "dd", "dt", "hr"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.lists: list[int | None] = []  # item counter of each open list; None for a bulleted one
        self.cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED or tag == "head":
            self.skipping += tag not in _VOID
            return
        if tag in self._LINES or tag == "br":
            self.parts.append("\n")
        if tag in {"ul", "ol"}:
            self.lists.append(0 if tag == "ol" else None)
        elif tag == "li":
            counter = self.lists[-1] if self.lists else None
            if counter is None:
                self.parts.append("\n• ")
            else:
                self.lists[-1] = counter + 1
                self.parts.append(f"\n{counter + 1}. ")
        elif tag == "tr":
            self.cells = 0
        elif tag in {"td", "th"}:
            self.parts.append("\t" if self.cells else "")
            self.cells += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED or tag == "head":
            self.skipping = max(self.skipping - 1, 0)
        elif tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        if tag in self._LINES or tag == "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def text(self) -> str:
        lines = (re.sub(r"[^\S\t\n]+", " ", line).strip(" \t") for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)
