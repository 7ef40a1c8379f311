"""Checking a file attached to a progress report or a typical application (进展报告附件) by what it is, never by
what its name says. Everything that could hurt a reviewer's computer or the server is refused before any parser
sees the file: executables, web pages and scripts whatever their name; PDFs that carry JavaScript, launch actions
or embedded files; images that would decode to more pixels than a server should hold (decompression bombs); Office
and OpenDocument packages with macros, XML entity declarations, links to outside templates or objects, unsafe entry
names, nested archives, or entries that would inflate far beyond their stored size (zip bombs). The file is read
in blocks or mapped, never loaded whole."""

from __future__ import annotations

import codecs
import hashlib
import io
import mmap
import re
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from PIL import Image

ALLOWED_DESCRIPTION = (
    "可上传 PDF、Word（.docx/.doc）、Excel（.xlsx/.xls）、PowerPoint（.pptx/.ppt）、OpenDocument（.odt/.ods/.odp）、"
    "图片（PNG、JPEG、GIF、WebP）和纯文本（.txt/.csv）文件；不接受含宏的文档、压缩包、网页和可执行程序。"
)

MAX_PIXELS = 50_000_000
MAX_ZIP_ENTRIES = 5000
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # all entries of an Office/ODF package together
MAX_RATIO = 100  # uncompressed : compressed, for entries above RATIO_FROM
RATIO_FROM = 1024 * 1024
MAX_PART_READ = 4 * 1024 * 1024  # [Content_Types].xml, .rels and mimetype are read whole, up to this
MAX_OBJECT_STREAM = 16 * 1024 * 1024  # one decompressed PDF object stream
MAX_OBJECT_STREAMS_TOTAL = 64 * 1024 * 1024
BLOCK = 1024 * 1024


class AttachmentRefused(ValueError):
    """The file is refused; the message tells the clerk what is wrong and what to do."""


@dataclass(frozen=True)
class Inspected:
    """What an accepted file is, read from its content."""

    kind: str  # pdf | png | jpeg | gif | webp | docx | xlsx | pptx | doc | xls | ppt | odt | ods | odp | txt | csv
    mime: str
    size: int
    sha256: str
    filename: str  # safe to offer for download, with the extension of what the file really is
    is_image: bool


@dataclass(frozen=True)
class _Kind:
    mime: str
    extension: str


KINDS = {
    "pdf": _Kind("application/pdf", "pdf"),
    "png": _Kind("image/png", "png"),
    "jpeg": _Kind("image/jpeg", "jpg"),
    "gif": _Kind("image/gif", "gif"),
    "webp": _Kind("image/webp", "webp"),
    "docx": _Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": _Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pptx": _Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    "doc": _Kind("application/msword", "doc"),
    "xls": _Kind("application/vnd.ms-excel", "xls"),
    "ppt": _Kind("application/vnd.ms-powerpoint", "ppt"),
    "odt": _Kind("application/vnd.oasis.opendocument.text", "odt"),
    "ods": _Kind("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    "odp": _Kind("application/vnd.oasis.opendocument.presentation", "odp"),
    "txt": _Kind("text/plain", "txt"),
    "csv": _Kind("text/csv", "csv"),
}
IMAGE_KINDS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}  # kind → Pillow's format name
ODF_KINDS = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
OOXML_KINDS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}

RESAVE = "请在 Office 或 WPS 中重新保存后上传。"
ACCEPTED = "请上传 PDF、Word、Excel、PowerPoint、OpenDocument 文档或 PNG/JPEG 图片。"
CORRUPT_PACKAGE = "文件已损坏，无法打开（{reason}）。请在 Office 或 WPS 中重新保存后上传，或另存为 PDF。"
MACROS = "文件含有宏或 ActiveX 控件，已拒绝。请在 Office 或 WPS 中另存为不含宏的格式（.docx/.xlsx/.pptx）后上传。"
ARCHIVE = "文件是压缩包（或其他基于压缩包的格式），不能作为附件上传。请解压后分别上传其中的文档或图片。"
EXECUTABLE = "文件是可执行程序（如 .exe），不能作为附件上传。" + ACCEPTED
MARKUP = "文件内容是网页、SVG 或 XML，不能作为附件上传。请把网页另存为 PDF 后上传，矢量图请导出为 PNG。"
SCRIPT = "文件内容是脚本程序，不能作为附件上传。" + ACCEPTED
CORRUPT_IMAGE = "图片文件已损坏或不完整，无法打开。请重新导出或截图后上传。"
TOO_MANY_PIXELS = "图片像素过多（{detail}），上限为 5000 万像素（疑似“解压炸弹”或超大扫描件）。请缩小图片后上传。"


def inspect(path: str, filename: str, max_bytes: int) -> Inspected:
    """Check the uploaded file at ``path`` (named ``filename`` by the user) and say what it is.

    Raises ``AttachmentRefused`` with a message for the clerk when the file is empty, larger than ``max_bytes``,
    of a kind not accepted, or unsafe."""
    size = Path(path).stat().st_size
    if size == 0:
        raise AttachmentRefused("文件是空的（0 字节）。请确认选择了正确的文件，在原程序中重新保存后再上传。")
    if size > max_bytes:
        raise AttachmentRefused(
            f"文件过大（{_megabytes(size)} MB），上限为 {_megabytes(max_bytes)} MB。"
            "请压缩文件中的图片或拆分成几个文件后再上传。"
        )
    with Path(path).open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        kind = _identify(path, handle, data, filename)
    return Inspected(
        kind=kind,
        mime=KINDS[kind].mime,
        size=size,
        sha256=_sha256(path),
        filename=safe_filename(filename, KINDS[kind].extension),
        is_image=kind in IMAGE_KINDS,
    )


def inspect_image_bytes(data: bytes) -> str:
    """The kind (png, jpeg, gif, webp) of an image held in memory, such as one pasted into a report's text.
    Raises ``AttachmentRefused`` when it is not one of those images, is broken, or has too many pixels."""
    kind = _image_kind(data[:16])
    if kind is None:
        raise AttachmentRefused("内容不是 PNG、JPEG、GIF 或 WebP 图片。")
    _check_image(io.BytesIO(data), kind)
    return kind


def safe_filename(filename: str, extension: str) -> str:
    """The name to store and offer for download: the user's name without its directory, control and
    direction-changing characters or characters Windows forbids, with ``extension`` instead of the claimed one."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    name = re.sub(r'[<>:"|?*]', "_", name).strip(" .")
    stem = re.sub(r"\.[A-Za-z][A-Za-z0-9]{0,4}$", "", name).strip(" ._")[:120].strip(" .") or "附件"
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return f"{stem}.{extension}"


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}


def _megabytes(size: int) -> str:
    megabytes = size / 1048576
    return f"{megabytes:.0f}" if megabytes >= 10 else f"{megabytes:.1f}"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


# --- what the content is ----------------------------------------------------------------------------------------

_EXECUTABLE_MAGIC = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                     b"\xca\xfe\xba\xbe", b"\x00asm", b"dex\n")  # fmt: skip
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b\x08",
                  b"\xfd7zXZ\x00", b"MSCF\x00\x00\x00\x00")  # fmt: skip
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OTHER_IMAGES = ((b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x00\x00\x01\x00", "ICO"))


def _image_kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _is_archive(head: bytes) -> bool:
    bzip2 = head[:3] == b"BZh" and head[4:10] == b"1AY&SY"
    return head.startswith(_ARCHIVE_MAGIC) or bzip2 or head[257:262] == b"ustar"


def _is_executable(head: bytes) -> bool:
    if head.startswith(_EXECUTABLE_MAGIC):
        return True
    if head.startswith(b"MZ") and len(head) >= 64:  # DOS/Windows: the PE header's offset is at 0x3C
        offset = int.from_bytes(head[60:64], "little")
        return head[offset : offset + 4] == b"PE\x00\x00"
    return False


def _identify(path: str, handle: IO[bytes], data: mmap.mmap, filename: str) -> str:
    head = data[:8192]
    if head.startswith(b"%PDF-"):
        _check_pdf(data)
        return "pdf"
    image = _image_kind(head)
    if image is not None:
        _check_image(handle, image)
        return image
    if head.startswith(b"PK\x03\x04"):
        return _check_package(path, embedded=None)
    if head.startswith(_OLE_MAGIC):
        return _check_ole(data, embedded=False)
    if _is_executable(head):
        raise AttachmentRefused(EXECUTABLE)
    if _is_archive(head):
        raise AttachmentRefused(ARCHIVE)
    if head.startswith(b"{\\rtf"):
        raise AttachmentRefused("不接受 RTF 文件。请在 Word 或 WPS 中另存为 .docx 或 PDF 后上传。")
    if head[:2] == b"BM" and head[6:10] == bytes(4):
        raise AttachmentRefused("不接受 BMP 格式的图片。请转换为 PNG 或 JPEG 后上传。")
    for magic, name in _OTHER_IMAGES:
        if head.startswith(magic):
            raise AttachmentRefused(f"不接受 {name} 格式的图片。请转换为 PNG 或 JPEG 后上传。")
    if head[4:12] in {b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"}:
        raise AttachmentRefused("不接受 HEIC/AVIF 格式的照片。请在手机或电脑上转换为 JPEG 后上传。")
    return _check_text(path, head, filename)


# --- plain text -------------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml)\b", re.IGNORECASE)


def _text_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the end of the sample
            return "gb18030"
    return "utf-8"


def _check_text(path: str, head: bytes, filename: str) -> str:
    """Plain text is accepted only when its name says .txt or .csv: text under another name is a renamed file."""
    encoding = _text_encoding(head)
    sample = head.decode(encoding, errors="ignore") if encoding else ""
    if encoding is None or _CONTROL.search(sample):
        raise AttachmentRefused("无法识别文件类型，或不接受这种文件。" + ACCEPTED)
    stripped = sample.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<") or _MARKUP.search(sample):
        raise AttachmentRefused(MARKUP)
    if stripped.startswith("#!"):
        raise AttachmentRefused(SCRIPT)
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in {".txt", ".csv"}:
        raise AttachmentRefused(
            f"文件内容是纯文本，但扩展名是“{suffix or '（无）'}”。"
            "请确认选择了正确的文件；纯文本请以 .txt 或 .csv 为扩展名上传。"
        )
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                if _CONTROL.search(decoder.decode(block)):
                    raise AttachmentRefused("文本文件中含有控制字符，可能不是纯文本。" + ACCEPTED)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise AttachmentRefused("文本文件的编码无法识别。请另存为 UTF-8 编码后上传。") from None
    return suffix.lstrip(".")


# --- images -----------------------------------------------------------------------------------------------------


def _check_image(source: IO[bytes], kind: str) -> None:
    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=[IMAGE_KINDS[kind]]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    detail = f"{width}×{height}，约 {width * height / 1e6:.0f} 百万像素"
                    raise AttachmentRefused(TOO_MANY_PIXELS.format(detail=detail))
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AttachmentRefused(TOO_MANY_PIXELS.format(detail="超过 8900 万像素")) from None
    except AttachmentRefused:
        raise
    except Exception:  # Pillow reports a broken file with many exception types
        raise AttachmentRefused(CORRUPT_IMAGE) from None


# --- PDF --------------------------------------------------------------------------------------------------------

_PDF_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"


def _pdf_names(*names: str) -> re.Pattern[bytes]:
    """A name such as /JavaScript, also when written with #xx escapes (/J#61vaScript): readers decode them."""

    def char(c: str) -> str:
        return f"(?:{re.escape(c)}|#(?i:{ord(c):02x}))"

    alternatives = "|".join("".join(char(c) for c in name) for name in names)
    return re.compile(rb"/(" + alternatives.encode() + rb")(?!" + _PDF_REGULAR + rb")")


# Long names: scanned everywhere, stream data included (a chance match in compressed data is negligible). An
# action that runs script or a program names its type with them: << /S /JavaScript /JS (…) >>, << /S /Launch >>.
_PDF_ACTIVE = _pdf_names("JavaScript", "Launch", "EmbeddedFiles", "EmbeddedFile", "RichMedia", "XFA")
_PDF_ACTIVE_SHORT = _pdf_names("JS", "JavaScript", "Launch", "EmbeddedFiles", "EmbeddedFile", "RichMedia", "XFA")
_PDF_OBJECT_STREAM = _pdf_names("ObjStm")
_PDF_ENCRYPT = _pdf_names("Encrypt")
_PDF_STREAM = re.compile(rb">>[\x00\t\n\x0c\r ]*stream(?:\r\n|\n|\r)")
_PDF_FILTERS = re.compile(rb"/Filter\s*(?:\[((?:\s*/[A-Za-z0-9]+)*)\s*\]|(/[A-Za-z0-9]+))")


def _pdf_refused(found: bytes) -> AttachmentRefused:
    name = re.sub(rb"#([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), found).decode("ascii", "replace")
    return AttachmentRefused(
        f"PDF 中含有脚本、自动执行的动作、嵌入文件或动态表单（/{name}），已拒绝。"
        "请用“打印”→“另存为 PDF”重新生成一份后上传。"
    )


def _check_pdf(data: mmap.mmap) -> None:
    if b"%%EOF" not in data[-1024:]:
        raise AttachmentRefused("PDF 文件不完整（缺少文件结尾），可能上传中断或文件已损坏。请重新导出 PDF 后上传。")
    found = _PDF_ACTIVE.search(data)
    if found:
        raise _pdf_refused(found.group(1))
    encrypted = _PDF_ENCRYPT.search(data) is not None
    budget = MAX_OBJECT_STREAMS_TOTAL
    position = 0
    while True:  # dictionaries outside stream data: the short /JS is looked for there
        stream = _PDF_STREAM.search(data, position)
        end = stream.start() if stream else len(data)
        found = _PDF_ACTIVE_SHORT.search(data, position, end)
        if found:
            raise _pdf_refused(found.group(1))
        if stream is None:
            return
        dictionary = data[max(data.rfind(b"obj", position, end), position) : end]
        if _PDF_OBJECT_STREAM.search(dictionary):
            if encrypted:
                raise AttachmentRefused(
                    "PDF 设置了密码保护（加密），无法检查其内容。"
                    "请取消密码保护，或用“打印”→“另存为 PDF”重新生成后上传。"
                )
            budget -= _check_pdf_object_stream(data, dictionary, stream.end(), budget)
        following = data.find(b"endstream", stream.end())
        if following < 0:
            return
        position = following + len(b"endstream")


def _check_pdf_object_stream(data: mmap.mmap, dictionary: bytes, start: int, budget: int) -> int:
    """Objects packed in an object stream (PDF 1.5) are compressed: they are inflated, within bounds, and scanned.
    Returns how many bytes were inflated."""
    unreadable = AttachmentRefused("PDF 使用了无法检查的压缩方式或已损坏。请用“打印”→“另存为 PDF”重新生成后上传。")
    filters_found = _PDF_FILTERS.search(dictionary)
    filters = re.findall(rb"/([A-Za-z0-9]+)", filters_found.group(0)[len(b"/Filter") :]) if filters_found else []
    if b"#" in dictionary or filters not in ([], [b"FlateDecode"], [b"Fl"]):
        raise unreadable
    limit = min(MAX_OBJECT_STREAM, budget)
    inflater = zlib.decompressobj() if filters else None
    inflated, tail, position = 0, b"", start
    while position < len(data):
        block = data[position : position + 65536]
        position += len(block)
        if inflater is None:
            end = block.find(b"endstream")
            text, done = (block[:end], True) if end >= 0 else (block, False)
        else:
            try:
                text = inflater.decompress(block, limit - inflated + 1)
            except zlib.error:
                raise unreadable from None
            done = inflater.eof
            if inflater.unconsumed_tail:
                raise unreadable  # more than the limit
        inflated += len(text)
        if inflated > limit:
            raise unreadable
        found = _PDF_ACTIVE_SHORT.search(tail + text)
        if found:
            raise _pdf_refused(found.group(1))
        tail = (tail + text)[-64:]
        if done:
            return inflated
    raise unreadable


# --- Office 97–2003 (OLE compound files) ------------------------------------------------------------------------

_OLE_NAMES = ("WordDocument", "Workbook", "Book", "PowerPoint Document", "Macros", "VBA", "_VBA_PROJECT_CUR",
              "_VBA_PROJECT", "EncryptedPackage", "\x01Ole10Native")  # fmt: skip
# [MS-PPT] VBAInfoContainer record header: PowerPoint 97–2003 keeps its VBA project inside the document stream.
_PPT_VBA = b"\x0f\x00\xff\x03\x14\x00\x00\x00"


def _ole_entries(data: mmap.mmap) -> set[str]:
    """Names of storages and streams in a compound file. A directory entry is 128 bytes, aligned to 128 in the
    file: the name in UTF-16LE with a terminating zero, its length in bytes at offset 64, its type at 66."""
    found = set()
    for name in _OLE_NAMES:
        encoded = (name + "\x00").encode("utf-16-le")
        position = data.find(encoded, 512)
        while 0 <= position <= len(data) - 128:
            length = int.from_bytes(data[position + 64 : position + 66], "little")
            if position % 128 == 0 and length == len(encoded) and data[position + 66] in {1, 2}:  # storage, stream
                found.add(name)
                break
            position = data.find(encoded, position + 1)
    return found


def _check_ole(data: mmap.mmap, *, embedded: bool) -> str:
    entries = _ole_entries(data)
    # (``in`` on an mmap compares single bytes only: find() searches for the whole name)
    vba = data.find(b"_VBA_PROJECT") >= 0 or data.find("_VBA_PROJECT".encode("utf-16-le")) >= 0
    if vba or entries & {"Macros", "VBA", "_VBA_PROJECT_CUR"}:
        raise AttachmentRefused(
            "文件含有宏（VBA），已拒绝。请在 Office 或 WPS 中另存为 .docx/.xlsx/.pptx（不含宏）后上传。"
        )
    if "\x01Ole10Native" in entries:
        raise AttachmentRefused(
            "文档中嵌入了其他文件（“包”对象），已拒绝。请删除嵌入的文件，需要时把它作为单独的附件上传。"
        )
    if "EncryptedPackage" in entries:
        raise AttachmentRefused("文档设置了打开密码，无法检查其内容。请取消密码保护后上传。")
    if "WordDocument" in entries:
        return "doc"
    if "PowerPoint Document" in entries:
        if data.find(_PPT_VBA) >= 0:
            raise AttachmentRefused(
                "文件含有宏（VBA），已拒绝。请在 PowerPoint 或 WPS 中另存为 .pptx（不含宏）后上传。"
            )
        return "ppt"
    if entries & {"Workbook", "Book"}:
        return "xls"
    if embedded:
        return "ole"
    raise AttachmentRefused(
        "无法识别的 Office 97–2003 格式文件（可能是 WPS 旧格式、Visio、安装包或其他程序的文件）。"
        "请用 Office 或 WPS 另存为 .docx、.xlsx、.pptx 或 PDF 后上传。"
    )


# --- Office Open XML and OpenDocument packages ------------------------------------------------------------------

_ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".cab", ".jar", ".apk", ".iso")
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def _xml_declarations(*words: str) -> re.Pattern[bytes]:
    """``<!WORD`` in any letter case, in UTF-8 or in UTF-16 of either byte order (XML parsers read all three)."""

    def spelled(text: str, encoding: str) -> bytes:
        return b"".join(
            b"(?:" + b"|".join(re.escape(c.encode(encoding)) for c in {ch.lower(), ch.upper()}) + b")" for ch in text
        )

    return re.compile(b"|".join(spelled("<!" + w, e) for w in words for e in ("utf-8", "utf-16-le", "utf-16-be")))


_XML_UNSAFE = _xml_declarations("DOCTYPE", "ENTITY")
_ODF_SCRIPT = re.compile(rb"vnd\.sun\.star\.script|<script:event-listener", re.IGNORECASE)
_RELATIONSHIP = re.compile(rb"""<(?:\w+:)?Relationship\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_HYPERLINK = re.compile(rb"""\bType\s*=\s*["'][^"']*/hyperlink["']""")
_TARGET = re.compile(rb"""\bTarget\s*=\s*["']([^"']*)["']""")
# A template on the author's own disk (file:///D:/模板/公文.dotx) is harmless; one on a server or a share
# (http://…, \\host\share) is fetched when the document opens.
_LOCAL_TARGET = re.compile(rb"(?:file:///)?[A-Za-z]:[\\/]", re.IGNORECASE)
_EXTERNAL = re.compile(rb"""TargetMode\s*=\s*["']External["']""", re.IGNORECASE)


def _unsafe_entry_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or bool(re.match(r"[A-Za-z]:", name))
    )


def _check_package(source: str | IO[bytes], *, embedded: str | None) -> str:
    try:
        with zipfile.ZipFile(source) as archive:
            return _check_archive(archive, embedded)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as error:
        if embedded:
            raise AttachmentRefused(f"文档中嵌入的文件（{embedded}）已损坏，无法检查。") from None
        raise AttachmentRefused(CORRUPT_PACKAGE.format(reason=type(error).__name__)) from None


def _check_archive(archive: zipfile.ZipFile, embedded: str | None) -> str:
    """The package's directory is checked first (count, names, sizes, ratios); then what it claims to be; then
    each entry, as a bounded stream, before any parser opens the package."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise AttachmentRefused(f"文件内部结构异常（超过 {MAX_ZIP_ENTRIES} 个条目），已拒绝。")
    names: dict[str, zipfile.ZipInfo] = {}
    for entry in entries:
        if _unsafe_entry_name(entry.filename):
            raise AttachmentRefused("文件内部含有不安全的路径（如“../”），已拒绝。" + RESAVE)
        if entry.filename.lower() in names:
            raise AttachmentRefused("文件内部结构异常（条目重名），已拒绝。" + RESAVE)
        if entry.flag_bits & 0x1:
            raise AttachmentRefused("文件内部含有加密的条目，无法检查。请取消密码保护后上传。")
        if entry.file_size > RATIO_FROM and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise AttachmentRefused("文件压缩比异常，疑似“压缩炸弹”，已拒绝。" + RESAVE)
        names[entry.filename.lower()] = entry
    if sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
        raise AttachmentRefused(
            f"文件解压后超过 {MAX_UNCOMPRESSED // 1048576} MB，疑似“压缩炸弹”，已拒绝。请压缩文档中的图片后再上传。"
        )
    kind = _package_kind(archive, names, embedded)
    content_types = _read_small(archive, names["[content_types].xml"]).lower() if kind in OOXML_KINDS.values() else b""
    if (
        b"macroenabled" in content_types
        or b"vbaproject" in content_types
        or any(
            PurePosixPath(n).name in {"vbaproject.bin", "vbaprojectsignature.bin", "vbadata.xml"}
            or n.startswith(("basic/", "scripts/"))
            or "activex" in n
            for n in names
        )
    ):
        raise AttachmentRefused(MACROS)
    for entry in entries:
        if not entry.is_dir():
            _check_entry(archive, entry, embedded)
    return kind


def _package_kind(archive: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], embedded: str | None) -> str:
    kind: str | None = None
    if "mimetype" in names:
        kind = ODF_KINDS.get(_read_small(archive, names["mimetype"]).strip())
        if kind is not None and "content.xml" not in names:
            kind = None
    elif "[content_types].xml" in names:
        kind = next((k for part, k in OOXML_KINDS.items() if part in names), None)
    if kind is None:
        if embedded:
            raise AttachmentRefused(f"文档中嵌入了压缩包（{embedded}），已拒绝。请删除嵌入的文件后重新上传。")
        raise AttachmentRefused(ARCHIVE)
    return kind


def _read_small(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    if entry.file_size > MAX_PART_READ:
        raise AttachmentRefused("文件内部结构异常（描述文件过大），已拒绝。")
    return archive.read(entry)


def _blocks(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    with archive.open(entry) as part:
        yield from iter(lambda: part.read(65536), b"")


def _check_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, embedded: str | None) -> None:
    name = entry.filename
    lowered = name.lower()
    label = PurePosixPath(name).name
    with archive.open(entry) as part:
        head = part.read(8192)
    if lowered.endswith(_XML_SUFFIXES):
        _check_xml_part(archive, entry, head)
    elif head.startswith(b"PK\x03\x04"):
        if embedded:
            raise AttachmentRefused(f"文档中嵌入的文件（{embedded}）里又嵌入了文件，已拒绝。")
        with tempfile.TemporaryFile() as copy:
            for block in _blocks(archive, entry):
                copy.write(block)
            try:
                _check_package(copy, embedded=label)
            except AttachmentRefused as refused:
                if str(refused).startswith("文档中嵌入"):
                    raise
                raise AttachmentRefused(f"文档中嵌入的文件（{label}）未通过检查：{refused}") from None
    elif head.startswith(_OLE_MAGIC):
        with tempfile.TemporaryFile() as copy:
            for block in _blocks(archive, entry):
                copy.write(block)
            copy.flush()
            with mmap.mmap(copy.fileno(), 0, access=mmap.ACCESS_READ) as data:
                try:
                    _check_ole(data, embedded=True)
                except AttachmentRefused as refused:
                    raise AttachmentRefused(f"文档中嵌入的对象（{label}）未通过检查：{refused}") from None
    elif _is_executable(head):
        raise AttachmentRefused(f"文档中嵌入了可执行程序（{label}），已拒绝。请删除后重新上传。")
    elif _is_archive(head) or lowered.endswith(_ARCHIVE_SUFFIXES):
        raise AttachmentRefused(f"文档中嵌入了压缩包（{label}），已拒绝。请删除嵌入的文件后重新上传。")


def _check_xml_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, head: bytes) -> None:
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or b"\x00\x00" in head[:4]:  # UTF-32
        raise AttachmentRefused("文件内部含有编码异常的 XML 内容，已拒绝。" + RESAVE)
    tail = b""
    for block in _blocks(archive, entry):
        text = tail + block
        if _XML_UNSAFE.search(text):
            raise AttachmentRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。" + RESAVE)
        if _ODF_SCRIPT.search(text):
            raise AttachmentRefused(MACROS)
        tail = text[-64:]
    if entry.filename.lower().endswith(".rels"):
        for relationship in _RELATIONSHIP.findall(_as_utf8(_read_small(archive, entry))):
            if not _EXTERNAL.search(relationship) or _HYPERLINK.search(relationship):
                continue
            target = _TARGET.search(relationship)
            if target is None or not _LOCAL_TARGET.match(target.group(1)):
                shown = target.group(1)[:80].decode("utf-8", "replace") if target else ""
                raise AttachmentRefused(
                    f"文档链接了外部的模板、对象或图片（{shown}），已拒绝。"
                    "请在 Office 或 WPS 中断开链接（改为嵌入）或另存为 PDF 后上传。"
                )


def _as_utf8(xml: bytes) -> bytes:
    """A part in UTF-16 (which packages may use) re-encoded, so that its markup can be matched as bytes."""
    if xml.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return xml.decode("utf-16", errors="replace").encode()
    if xml[:1] == b"\x00" or xml[1:2] == b"\x00":
        return xml.decode("utf-16-be" if xml[:1] == b"\x00" else "utf-16-le", errors="replace").encode()
    return xml
