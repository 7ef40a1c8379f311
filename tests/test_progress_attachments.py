"""Attachments of progress reports are checked by what they are, never by their names: a corpus of ordinary and
hostile files generated here — each ordinary one accepted as what it really is, each hostile one refused with a
message that tells the clerk what is wrong."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import matplotlib
import pytest
from docx import Document
from openpyxl import Workbook
from PIL import Image

from infocity.progress import attachments
from infocity.progress.attachments import (
    ALLOWED_DESCRIPTION,
    AttachmentRefused,
    inspect,
    inspect_image_bytes,
    safe_filename,
)

matplotlib.use("Agg")

MB = 1024 * 1024
LIMIT = 20 * MB
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)
DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
    b"<w:t>\xe8\xbf\x9b\xe5\xb1\x95</w:t></w:r></w:p></w:body></w:document>"
)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _zip(path: Path, entries: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return str(path)


def _entries(path: str) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _docx(tmp_path: Path, name: str = "报告.docx") -> str:
    document = Document()
    document.add_heading("2016年上半年示范工作进展", level=1)
    document.add_paragraph("我市信息消费规模达到 1,235 亿元。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "指标"
    path = tmp_path / name
    document.save(str(path))
    return str(path)


def _xlsx(tmp_path: Path, name: str = "指标.xlsx") -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["区划代码", "指标", "数值"])
    sheet.append(["330100", "B04", 1235])
    path = tmp_path / name
    book.save(str(path))
    return str(path)


def _docx_with(tmp_path: Path, name: str, extra: dict[str, bytes]) -> str:
    return _zip(tmp_path / name, {**_entries(_docx(tmp_path, "source.docx")), **extra})


def _odf(tmp_path: Path, name: str, mimetype: bytes, extra: dict[str, bytes] | None = None) -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2">'
            b"<office:body><office:text/></office:body></office:document-content>",
        )
        archive.writestr(
            "META-INF/manifest.xml",
            b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
        for entry, data in (extra or {}).items():
            archive.writestr(entry, data)
    return str(path)


def _image(kind: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, kind)
    return buffer.getvalue()


def _png_of_size(path: Path, width: int, height: int) -> str:
    """A valid 1-bit PNG of the given size, all zeros, written row by row: tiny on disk, huge when decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return _write(path, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _pdf(*objects: bytes, trailer: bytes = b"<< /Root 1 0 R >>", end: bytes = b"%%EOF\n") -> bytes:
    """A small PDF written by hand (readers rebuild the missing cross-reference table)."""
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (number, obj) for number, obj in enumerate(objects, start=1))
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"trailer\n" + trailer + b"\n" + end


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = (
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /BaseFont /JSans >> >> >> >>"
)


def _object_stream(content: bytes, filters: bytes = b"/Filter /FlateDecode") -> bytes:
    data = zlib.compress(content) if b"FlateDecode" in filters else content
    return b"<< /Type /ObjStm /N 1 /First 6 %s /Length %d >>\nstream\n%s\nendstream" % (filters, len(data), data)


def _ole(*entries: tuple[str, int], padding: bytes = b"") -> bytes:
    """A compound file (Office 97–2003) reduced to what the check reads: the header and a directory sector."""

    def entry(name: str, kind: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return encoded.ljust(64, b"\x00") + struct.pack("<H", len(encoded)) + bytes([kind]) + bytes(61)

    directory = b"".join(entry(name, kind) for name, kind in (("Root Entry", 5), *entries))
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + directory.ljust(1024, b"\x00") + padding + bytes(512)


def _refused(path: str, filename: str, max_bytes: int = LIMIT) -> str:
    with pytest.raises(AttachmentRefused) as refused:
        inspect(path, filename, max_bytes)
    return str(refused.value)


# --- what is accepted -------------------------------------------------------------------------------------------


def test_a_pdf_is_accepted_with_its_size_and_digest(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([2014, 2015, 2016], [820, 1010, 1235])
    path = tmp_path / "报告.pdf"
    figure.savefig(path, format="pdf")
    plt.close(figure)

    checked = inspect(str(path), "报告.pdf", LIMIT)

    assert (checked.kind, checked.mime, checked.filename, checked.is_image) == (
        "pdf", "application/pdf", "报告.pdf", False
    )  # fmt: skip
    assert checked.size == path.stat().st_size
    assert checked.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_pdf_with_compressed_object_streams_is_accepted(tmp_path: Path) -> None:
    from weasyprint import HTML

    data = HTML(string="<h1>进展报告</h1><p><a href='https://www.miit.gov.cn/'>工信部</a></p>").write_pdf()
    assert b"/ObjStm" in data

    assert inspect(_write(tmp_path / "w.pdf", data), "w.pdf", LIMIT).kind == "pdf"


def test_a_hand_written_pdf_whose_names_merely_start_like_js_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.pdf", _pdf(CATALOG, PAGES, PAGE))

    assert inspect(path, "a.pdf", LIMIT).kind == "pdf"


@pytest.mark.parametrize(
    ("kind", "mime", "extension"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("GIF", "image/gif", "gif"),
     ("WEBP", "image/webp", "webp")],
)  # fmt: skip
def test_images_are_accepted(tmp_path: Path, kind: str, mime: str, extension: str) -> None:
    path = _write(tmp_path / "photo", _image(kind))

    checked = inspect(path, "现场照片.JPG", LIMIT)

    assert (checked.mime, checked.filename, checked.is_image) == (mime, f"现场照片.{extension}", True)


def test_an_animated_gif_is_accepted(tmp_path: Path) -> None:
    frames = [Image.new("P", (20, 20), colour) for colour in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    assert inspect(_write(tmp_path / "a.gif", buffer.getvalue()), "动图.gif", LIMIT).kind == "gif"


def test_word_and_excel_files_are_accepted(tmp_path: Path) -> None:
    docx = inspect(_docx(tmp_path), "报告.docx", LIMIT)
    xlsx = inspect(_xlsx(tmp_path), "指标.xlsx", LIMIT)

    assert (docx.kind, docx.filename, docx.mime) == (
        "docx", "报告.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )  # fmt: skip
    assert (xlsx.kind, xlsx.filename) == ("xlsx", "指标.xlsx")


def test_a_presentation_is_accepted(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "p.pptx", {"[Content_Types].xml": CONTENT_TYPES, "ppt/presentation.xml": b"<p:presentation/>"}
    )

    assert inspect(path, "汇报.pptx", LIMIT).kind == "pptx"


@pytest.mark.parametrize(
    ("mimetype", "kind"),
    [(b"application/vnd.oasis.opendocument.text", "odt"), (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
     (b"application/vnd.oasis.opendocument.presentation", "odp")],
)  # fmt: skip
def test_opendocument_files_are_accepted(tmp_path: Path, mimetype: bytes, kind: str) -> None:
    checked = inspect(_odf(tmp_path, "doc", mimetype), "WPS 另存.odt", LIMIT)

    assert (checked.kind, checked.filename) == (kind, f"WPS 另存.{kind}")


def test_a_word_file_with_an_embedded_excel_chart_is_accepted(tmp_path: Path) -> None:
    workbook = Path(_xlsx(tmp_path)).read_bytes()
    path = _docx_with(tmp_path, "chart.docx", {"word/embeddings/Microsoft_Excel_Worksheet.xlsx": workbook})

    assert inspect(path, "chart.docx", LIMIT).kind == "docx"


def test_a_template_on_the_authors_own_disk_is_harmless(tmp_path: Path) -> None:
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
        b'Target="file:///D:\\%E6%A8%A1%E6%9D%BF\\%E5%85%AC%E6%96%87.dotx" TargetMode="External"/>'
        b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
        b'Target="https://www.miit.gov.cn/" TargetMode="External"/></Relationships>'
    )
    path = _docx_with(tmp_path, "t.docx", {"word/_rels/settings.xml.rels": rels})

    assert inspect(path, "t.docx", LIMIT).kind == "docx"


@pytest.mark.parametrize(
    ("data", "filename", "kind"),
    [("进展说明\n第二行\n".encode(), "说明.txt", "txt"),
     ("区划代码,数值\n330100,1235\n".encode("gbk"), "数据.csv", "csv"),
     ("\ufeff编号,名称\n1,杭州\n".encode(), "utf8-bom.CSV", "csv"), ("说明".encode("utf-16"), "unicode.txt", "txt"),
     ("BM 与 MZ 开头的说明\n".encode(), "b.txt", "txt")],
)  # fmt: skip
def test_plain_text_named_as_text_is_accepted(tmp_path: Path, data: bytes, filename: str, kind: str) -> None:
    checked = inspect(_write(tmp_path / "t", data), filename, LIMIT)

    assert (checked.kind, checked.filename) == (kind, filename.rsplit(".", 1)[0] + "." + kind)


# --- the detected type wins over the name -----------------------------------------------------------------------


def test_a_png_named_pdf_is_accepted_as_a_png(tmp_path: Path) -> None:
    checked = inspect(_write(tmp_path / "x", _image()), "进展报告.pdf", LIMIT)

    assert (checked.kind, checked.mime, checked.filename, checked.is_image) == (
        "png", "image/png", "进展报告.png", True
    )  # fmt: skip


def test_a_word_file_named_xlsx_is_stored_as_docx(tmp_path: Path) -> None:
    assert inspect(_docx(tmp_path), "表格.xlsx", LIMIT).filename == "表格.docx"


def test_an_html_page_named_pdf_is_refused(tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><body><script>document.location='http://x/'</script></body></html>"

    assert "网页" in _refused(_write(tmp_path / "x", page), "报告.pdf")
    assert "网页" in _refused(_write(tmp_path / "y", b"\xef\xbb\xbf  \n<p>hi</p>"), "说明.txt")


def test_an_svg_named_png_is_refused(tmp_path: Path) -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'

    assert "SVG" in _refused(_write(tmp_path / "x", svg), "图.png")


@pytest.mark.parametrize(
    "head",
    [b"MZ\x90\x00" + bytes(56) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(200),
     b"\x7fELF\x02\x01\x01" + bytes(100), b"\xcf\xfa\xed\xfe" + bytes(100)],
)  # fmt: skip
def test_an_executable_under_any_name_is_refused(tmp_path: Path, head: bytes) -> None:
    message = _refused(_write(tmp_path / "x", head), "报告.docx")

    assert "可执行程序" in message
    assert "请上传 PDF" in message


def test_a_script_named_pdf_is_refused(tmp_path: Path) -> None:
    assert "脚本" in _refused(_write(tmp_path / "x", b"#!/bin/sh\nrm -rf ~\n"), "报告.pdf")


def test_text_named_as_a_document_is_refused(tmp_path: Path) -> None:
    message = _refused(_write(tmp_path / "x", "这只是文字".encode()), "报告.pdf")

    assert "纯文本" in message
    assert "“.pdf”" in message


def test_other_archives_are_refused(tmp_path: Path) -> None:
    plain_zip = _zip(tmp_path / "a.zip", {"报告.pdf": b"%PDF-1.4"})

    assert "压缩包" in _refused(plain_zip, "材料.zip")
    assert "压缩包" in _refused(_write(tmp_path / "r", b"Rar!\x1a\x07\x01\x00" + bytes(50)), "材料.docx")
    assert "压缩包" in _refused(_write(tmp_path / "g", zlib.compress(b"x") and b"\x1f\x8b\x08" + bytes(40)), "a.pdf")


def test_formats_not_accepted_say_what_to_do(tmp_path: Path) -> None:
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, "BMP")

    assert "请转换为 PNG 或 JPEG" in _refused(_write(tmp_path / "b", bmp.getvalue()), "图.bmp")
    assert "另存为 .docx" in _refused(_write(tmp_path / "r", b"{\\rtf1\\ansi hello}"), "报告.rtf")
    assert "无法识别文件类型" in _refused(_write(tmp_path / "u", bytes(range(256)) * 4), "数据.dat")


# --- size -------------------------------------------------------------------------------------------------------


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert "文件是空的（0 字节）" in _refused(_write(tmp_path / "e", b""), "报告.pdf")


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit(tmp_path: Path) -> None:
    path = _write(tmp_path / "big", _image() + bytes(3 * MB))

    message = _refused(path, "照片.png", max_bytes=2 * MB)

    assert "文件过大（3.0 MB），上限为 2.0 MB" in message
    assert "拆分" in message


# --- PDF --------------------------------------------------------------------------------------------------------


def test_a_pdf_with_javascript_is_refused(tmp_path: Path) -> None:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>"
    path = _write(tmp_path / "js.pdf", _pdf(catalog, PAGES, PAGE, b"<< /S /JavaScript /JS (app.alert(1)) >>"))

    message = _refused(path, "报告.pdf")

    assert "/JavaScript" in message
    assert "另存为 PDF" in message


@pytest.mark.parametrize(
    ("action", "shown"),
    [(b"<< /S /J#61vaScript /JS (app.alert(1)) >>", "/JavaScript"), (b"<< /S /Launch /F (cmd.exe) >>", "/Launch"),
     (b"<< /Type /EmbeddedFile /Length 3 >>\nstream\nabc\nendstream", "/EmbeddedFile"),
     (b"<< /Names << /EmbeddedFiles 5 0 R >> >>", "/EmbeddedFiles"), (b"<< /Next << /JS 6 0 R >> >>", "/JS"),
     (b"<< /AcroForm << /XFA 7 0 R >> >>", "/XFA")],
)  # fmt: skip
def test_pdf_scripts_launch_actions_and_embedded_files_are_refused(tmp_path: Path, action: bytes, shown: str) -> None:
    path = _write(tmp_path / "a.pdf", _pdf(CATALOG, PAGES, PAGE, action))

    assert f"（{shown}）" in _refused(path, "a.pdf")


def test_javascript_hidden_in_a_compressed_object_stream_is_found(tmp_path: Path) -> None:
    hidden = _object_stream(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>")
    assert b"JavaScript" not in hidden

    assert "/JavaScript" in _refused(_write(tmp_path / "o.pdf", _pdf(CATALOG, PAGES, PAGE, hidden)), "o.pdf")


def test_an_object_stream_that_cannot_be_checked_is_refused(tmp_path: Path) -> None:
    lzw = _object_stream(b"4 0 << /Type /Font >>", filters=b"/Filter /LZWDecode")
    broken = b"<< /Type /ObjStm /N 1 /First 6 /Filter /FlateDecode /Length 9 >>\nstream\nnot zlib!\nendstream"

    for stream in (lzw, broken):
        path = _write(tmp_path / "o.pdf", _pdf(CATALOG, PAGES, PAGE, stream))
        assert "无法检查的压缩方式" in _refused(path, "o.pdf")


def test_an_encrypted_pdf_with_object_streams_is_refused(tmp_path: Path) -> None:
    data = _pdf(
        CATALOG, PAGES, PAGE, _object_stream(b"4 0 << /Type /Font >>"), trailer=b"<< /Root 1 0 R /Encrypt 9 0 R >>"
    )

    assert "密码保护" in _refused(_write(tmp_path / "e.pdf", data), "e.pdf")


def test_a_truncated_pdf_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.pdf", _pdf(CATALOG, PAGES, PAGE, end=b"") + bytes(2000))

    assert "PDF 文件不完整" in _refused(path, "t.pdf")


# --- images -----------------------------------------------------------------------------------------------------


def test_a_decompression_bomb_png_is_refused(tmp_path: Path) -> None:
    path = _png_of_size(tmp_path / "bomb.png", 20_000, 20_000)
    assert Path(path).stat().st_size < MB

    message = _refused(path, "bomb.png")

    assert "图片像素过多" in message
    assert "5000 万像素" in message


def test_an_image_over_fifty_megapixels_is_refused_with_its_size(tmp_path: Path) -> None:
    path = _png_of_size(tmp_path / "scan.png", 8000, 7000)

    assert "8000×7000，约 56 百万像素" in _refused(path, "扫描件.png")


def test_a_broken_image_is_refused(tmp_path: Path) -> None:
    png = _image()

    assert "图片文件已损坏" in _refused(_write(tmp_path / "b.png", png[:60]), "b.png")
    assert "图片文件已损坏" in _refused(_write(tmp_path / "c.png", png[:-20] + bytes(20)), "c.png")


def test_an_image_in_memory_is_checked_the_same_way() -> None:
    assert inspect_image_bytes(_image("JPEG")) == "jpeg"
    with pytest.raises(AttachmentRefused, match="不是 PNG、JPEG、GIF 或 WebP 图片"):
        inspect_image_bytes(b"<svg/>")


# --- Office and OpenDocument packages ---------------------------------------------------------------------------


def test_a_zip_bomb_named_docx_is_refused_without_extracting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", DOCUMENT)
        with archive.open("word/media/image1.png", "w") as entry:
            for _ in range(50):
                entry.write(bytes(MB))
    assert path.stat().st_size < MB

    def no_extracting(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_extracting)

    assert "压缩炸弹" in _refused(str(path), "报告.docx")


def test_a_package_too_large_when_unpacked_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_UNCOMPRESSED", 3 * MB)
    entries = {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": DOCUMENT}
    entries |= {f"word/media/image{i}.png": bytes(range(256)) * 4096 for i in range(4)}  # 1 MB each

    assert "解压后超过 3 MB" in _refused(_zip(tmp_path / "big.docx", entries), "big.docx")


def test_a_package_with_too_many_entries_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_ZIP_ENTRIES", 10)
    entries = {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": DOCUMENT}
    entries |= {f"word/media/image{i}.png": b"x" for i in range(9)}

    assert "超过 10 个条目" in _refused(_zip(tmp_path / "many.docx", entries), "many.docx")


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "word/../../x.xml", "/etc/passwd", "C:/Windows/x.dll",
                                  "word\\..\\x.xml"])  # fmt: skip
def test_entries_with_unsafe_paths_are_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path / "t.docx", {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": DOCUMENT, name: b"x"})

    assert "不安全的路径" in _refused(path, "t.docx")


def test_a_word_file_with_macros_is_refused(tmp_path: Path) -> None:
    path = _docx_with(tmp_path, "m.docx", {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)})

    message = _refused(path, "报告.docx")

    assert "宏" in message
    assert "另存为不含宏的格式" in message


def test_a_macro_enabled_content_type_is_refused(tmp_path: Path) -> None:
    content_types = CONTENT_TYPES.replace(
        b"</Types>",
        b'<Override PartName="/word/document.xml" '
        b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
    )
    path = _zip(tmp_path / "m.docx", {"[Content_Types].xml": content_types, "word/document.xml": DOCUMENT})

    assert "宏" in _refused(path, "m.docx")


def test_xml_entity_declarations_are_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
        b"<w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    path = _docx_with(tmp_path, "e.docx", {"word/document.xml": laughs})

    assert "实体定义" in _refused(path, "e.docx")


def test_an_entity_declaration_deep_in_a_part_is_found(tmp_path: Path) -> None:
    padded = b'<?xml version="1.0"?>\n<!--' + b" " * 200_000 + b'-->\n<!ENTITY x SYSTEM "file:///etc/passwd">'
    path = _docx_with(tmp_path, "e.docx", {"word/_rels/document.xml.rels": padded})

    assert "实体定义" in _refused(path, "e.docx")


def test_entity_declarations_in_utf16_parts_are_found(tmp_path: Path) -> None:
    declared = '<?xml version="1.0" encoding="UTF-16"?><!doctype x [<!entity a "b">]><x>&a;</x>'
    plain = '<?xml version="1.0" encoding="UTF-16"?><properties/>'
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        path = _docx_with(tmp_path, "u.docx", {"customXml/item1.xml": declared.encode(encoding)})
        assert "实体定义" in _refused(path, "u.docx")
        path = _docx_with(tmp_path, "v.docx", {"customXml/item1.xml": plain.encode(encoding)})
        assert inspect(path, "v.docx", LIMIT).kind == "docx"


def test_a_part_in_utf32_is_refused(tmp_path: Path) -> None:
    path = _docx_with(tmp_path, "w.docx", {"customXml/item1.xml": "<x/>".encode("utf-32")})

    assert "编码异常" in _refused(path, "w.docx")


def test_a_template_fetched_from_a_server_is_refused(tmp_path: Path) -> None:
    rels = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1337" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
        b'Target="http://10.0.0.8/template.dotm" TargetMode="External"/></Relationships>'
    )
    for encoding in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
        part = rels.decode().replace("UTF-8", encoding.upper()).encode(encoding)
        path = _docx_with(tmp_path, "t.docx", {"word/_rels/settings.xml.rels": part})
        assert "外部的模板、对象或图片（http://10.0.0.8/template.dotm）" in _refused(path, "t.docx")


def test_nested_archives_and_programs_inside_a_package_are_refused(tmp_path: Path) -> None:
    inner_zip = Path(_zip(tmp_path / "inner.zip", {"a.txt": b"x"})).read_bytes()
    executable = b"MZ\x90\x00" + bytes(56) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(100)

    zipped = _docx_with(tmp_path, "z.docx", {"word/embeddings/oleObject1.zip": inner_zip})
    renamed = _docx_with(tmp_path, "r.docx", {"word/media/image9.png": inner_zip})
    program = _docx_with(tmp_path, "p.docx", {"word/embeddings/setup.png": executable})
    rar = _docx_with(tmp_path, "q.docx", {"word/embeddings/a.bin": b"Rar!\x1a\x07\x00" + bytes(20)})

    assert "文档中嵌入了压缩包（oleObject1.zip）" in _refused(zipped, "z.docx")
    assert "文档中嵌入了压缩包（image9.png）" in _refused(renamed, "r.docx")
    assert "文档中嵌入了可执行程序（setup.png）" in _refused(program, "p.docx")
    assert "文档中嵌入了压缩包（a.bin）" in _refused(rar, "q.docx")


def test_an_embedded_document_with_macros_is_refused(tmp_path: Path) -> None:
    workbook = _entries(_xlsx(tmp_path)) | {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(100)}
    xlsm = Path(_zip(tmp_path / "inner.xlsm", workbook)).read_bytes()
    path = _docx_with(tmp_path, "d.docx", {"word/embeddings/Microsoft_Excel_Macro-Enabled_Worksheet.xlsm": xlsm})

    message = _refused(path, "d.docx")

    assert message.startswith("文档中嵌入的文件（Microsoft_Excel_Macro-Enabled_Worksheet.xlsm）未通过检查：")
    assert "宏" in message


def test_an_embedded_package_object_is_refused(tmp_path: Path) -> None:
    package = _ole(("\x01Ole10Native", 2), ("\x01CompObj", 2))
    path = _docx_with(tmp_path, "o.docx", {"word/embeddings/oleObject1.bin": package})

    assert "嵌入了其他文件（“包”对象）" in _refused(path, "o.docx")


def test_a_zip_that_only_pretends_to_be_word_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "f.docx", {"[Content_Types].xml": CONTENT_TYPES, "docProps/app.xml": b"<x/>"})

    assert "压缩包" in _refused(path, "f.docx")


def test_an_opendocument_file_with_macros_is_refused(tmp_path: Path) -> None:
    basic = _odf(tmp_path, "b.odt", b"application/vnd.oasis.opendocument.text", {"Basic/Standard/Module1.xml": b"<x/>"})
    listener = _odf(
        tmp_path, "l.odt", b"application/vnd.oasis.opendocument.text",
        {"settings.xml": b'<x><script:event-listener xlink:href="vnd.sun.star.script:Standard.Module1.Main"/></x>'},
    )  # fmt: skip

    assert "宏" in _refused(basic, "b.odt")
    assert "宏" in _refused(listener, "l.odt")


def test_an_unknown_opendocument_type_is_refused(tmp_path: Path) -> None:
    path = _odf(tmp_path, "e.epub", b"application/epub+zip")

    assert "压缩包" in _refused(path, "book.odt")


def test_a_corrupt_package_is_refused(tmp_path: Path) -> None:
    data = Path(_docx(tmp_path)).read_bytes()

    assert "文件已损坏" in _refused(_write(tmp_path / "c.docx", data[: len(data) // 2]), "c.docx")


# --- Office 97–2003 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "kind", "mime"),
    [("WordDocument", "doc", "application/msword"), ("Workbook", "xls", "application/vnd.ms-excel"),
     ("Book", "xls", "application/vnd.ms-excel"), ("PowerPoint Document", "ppt", "application/vnd.ms-powerpoint")],
)  # fmt: skip
def test_office_97_files_are_told_apart_by_their_streams(tmp_path: Path, stream: str, kind: str, mime: str) -> None:
    checked = inspect(_write(tmp_path / "o", _ole((stream, 2), ("\x05SummaryInformation", 2))), "旧文档.doc", LIMIT)

    assert (checked.kind, checked.mime, checked.filename) == (kind, mime, f"旧文档.{kind}")


@pytest.mark.parametrize(
    ("entries", "padding"),
    [((("WordDocument", 2), ("Macros", 1), ("VBA", 1)), b""), ((("Workbook", 2), ("_VBA_PROJECT_CUR", 1)), b""),
     ((("WordDocument", 2),), "_VBA_PROJECT".encode("utf-16-le")), ((("WordDocument", 2),), b"x_VBA_PROJECTx"),
     ((("PowerPoint Document", 2),), b"\x0f\x00\xff\x03\x14\x00\x00\x00")],
)  # fmt: skip
def test_office_97_files_with_macros_are_refused(
    tmp_path: Path, entries: tuple[tuple[str, int], ...], padding: bytes
) -> None:
    message = _refused(_write(tmp_path / "m", _ole(*entries, padding=padding)), "报告.doc")

    assert "文件含有宏（VBA）" in message


def test_a_stream_name_in_the_text_is_not_mistaken_for_one(tmp_path: Path) -> None:
    text = ("关于 VBA 与 Macros 的说明" + "\x00").encode("utf-16-le")  # in the document's text, not aligned entries

    assert (
        inspect(_write(tmp_path / "d", _ole(("WordDocument", 2), padding=b"\x00" + text)), "d.doc", LIMIT).kind == "doc"
    )


def test_an_unknown_or_encrypted_compound_file_is_refused(tmp_path: Path) -> None:
    installer = _write(tmp_path / "i", _ole(("\x05SummaryInformation", 2)))
    encrypted = _write(tmp_path / "e", _ole(("EncryptedPackage", 2), ("EncryptionInfo", 2)))

    assert "无法识别的 Office 97–2003 格式文件" in _refused(installer, "setup.doc")
    assert "打开密码" in _refused(encrypted, "报告.docx")


# --- names ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extension", "safe"),
    [("C:\\Users\\科员\\桌面\\进展报告.PDF", "pdf", "进展报告.pdf"), ("../../etc/passwd", "txt", "passwd.txt"),
     ("report\u202egpj.exe", "pdf", "reportgpj.pdf"), ('a<b>:"c"|?*.docx', "docx", "a_b___c.docx"),
     ("CON.docx", "docx", "_CON.docx"), ("", "png", "附件.png"), ("  .pdf ", "pdf", "pdf.pdf"),
     ("2016年上半年v2.1", "docx", "2016年上半年v2.1.docx"), ("粘贴的图片", "png", "粘贴的图片.png")],
)  # fmt: skip
def test_the_stored_name_is_safe_and_has_the_detected_extension(name: str, extension: str, safe: str) -> None:
    assert safe_filename(name, extension) == safe


def test_the_upload_form_can_say_what_is_accepted() -> None:
    for word in ("PDF", "Word", "Excel", "PowerPoint", "PNG", "JPEG", "宏", "压缩包", "可执行程序"):
        assert word in ALLOWED_DESCRIPTION
