"""Reading an uploaded table safely. Everything that could hurt the server is checked before a parser sees the
file: its size, what it really is (not what its name says), macros, the entries of the zip container (count, total
uncompressed size, compression ratio — zip bombs), and XML entities (openpyxl parses with defusedxml when it is
installed, so a "billion laughs" file is refused instead of expanded)."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings

HEADERS = {"区划代码": "city", "报告期": "period", "填报表": "form", "填报项代码": "item", "本期数值": "value",
           "说明": "explanation"}  # fmt: skip
REQUIRED = {"city", "period", "form", "item", "value"}
MAX_ZIP_ENTRIES = 2000
MAX_RATIO = 200
MAX_SHEETS = 100
MAX_COLUMNS = 256  # columns read from a sheet (the template has six)
MAX_CELLS_PER_ROW_LIMIT = 40  # an ODS sheet's data area may hold at most BULK_MAX_ROWS × this many cells


class UploadRefused(ValueError):
    """The file is refused as a whole, with a message for the clerk."""


@dataclass
class Cell:
    sheet: str
    row: int
    column: int  # 1-based
    value: Any
    formula_without_value: bool = False
    percent: bool = False  # a number shown as a percentage (typed "12%", stored 0.12): read as 12


@dataclass
class Source:
    """An opened upload: its kind, the template's metadata, and its rows as a stream (each row maps a field
    to its cell). ``done`` tells how far reading has got (0–1), for the progress bar."""

    kind: str  # xlsx | xls | ods | csv
    rows: Iterator[dict[str, Cell]] = field(default_factory=lambda: iter(()))
    meta: dict[int, int] = field(default_factory=dict)  # submission id → version, from the template's _meta sheet
    skipped_sheets: list[str] = field(default_factory=list)
    count: int = 0
    done: Callable[[], float] = lambda: 0.0

    def nothing_found(self) -> UploadRefused:
        if not self.skipped_sheets and not self.meta:
            return UploadRefused("文件中没有数据。")
        return UploadRefused(
            "没有找到表头（区划代码、报告期、填报表、填报项代码、本期数值）。请使用平台下载的填报模板。"
        )


def open_upload(filename: str, path: str) -> Source:
    """Check the file at ``path`` (named ``filename`` by the user) and open it for reading row by row."""
    size = Path(path).stat().st_size
    limit = settings.BULK_UPLOAD_MAX_BYTES
    if size > limit:
        raise UploadRefused(f"文件过大（{size / 1048576:.1f} MB），上限为 {limit / 1048576:.0f} MB。请拆分后分别上传。")
    with Path(path).open("rb") as handle:
        head = handle.read(65536)
    if not head.strip() and (size <= len(head) or not _has_content(path)):
        raise UploadRefused("文件是空的。请下载填报模板，填写后再上传。")
    name = filename.lower()
    if name.endswith((".xlsm", ".xltm", ".xlsb", ".xlam")):
        raise UploadRefused("不接受含宏的 Excel 文件（.xlsm 等）。请另存为 .xlsx 后上传。")
    if name.endswith(".csv"):
        return _read_csv(path, size)
    if name.endswith((".xlsx", ".ods")):
        _check_zip(path, name)
        if name.endswith(".xlsx"):
            return _read_xlsx(path)
        _check_ods_area(path)
        return _read_calamine(path, "ods")
    if name.endswith(".xls"):
        if not head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UploadRefused("文件内容不是 Excel 97–2003（.xls）格式，请确认文件没有被改过扩展名。")
        with Path(path).open("rb") as handle:
            data = handle.read()  # .xls is read whole by its parser anyway; the size limit bounds it
        if b"_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T" in data or b"_VBA_PROJECT" in data:
            raise UploadRefused("不接受含宏的 Excel 文件。请另存为 .xlsx 后上传。")
        return _read_calamine(path, "xls")
    raise UploadRefused("只接受 .xlsx、.xls、.ods 和 .csv 文件。")


def _has_content(path: str) -> bool:
    with Path(path).open("rb") as handle:
        return any(block.strip() for block in iter(lambda: handle.read(1048576), b""))


def _check_zip(path: str, name: str) -> None:
    if not zipfile.is_zipfile(path):
        raise UploadRefused("文件内容不是有效的 Excel/ODS 文件（可能是改了扩展名的其他文件，或文件已损坏）。")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            names = {e.filename.lower() for e in entries}
            content_types = archive.read("[Content_Types].xml") if "[content_types].xml" in names else b""
            if len(content_types) > 1_000_000:
                raise UploadRefused("文件内部结构异常，已拒绝。")
    except (zipfile.BadZipFile, OSError, KeyError) as error:
        raise UploadRefused(f"文件已损坏，无法打开（{type(error).__name__}）。") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UploadRefused("文件内部结构异常（条目过多），已拒绝。")
    total = sum(e.file_size for e in entries)
    if total > settings.BULK_UPLOAD_MAX_UNCOMPRESSED:
        raise UploadRefused("文件解压后过大，疑似压缩炸弹，已拒绝。")
    for entry in entries:
        if entry.file_size > 1_000_000 and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise UploadRefused("文件压缩比异常，疑似压缩炸弹，已拒绝。")
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            if entry.filename.lower().endswith((".xml", ".rels")):
                with archive.open(entry) as part:
                    head = part.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。")
    if any(n.endswith("vbaproject.bin") for n in names) or b"macroEnabled" in content_types:
        raise UploadRefused("不接受含宏的 Excel 文件。请另存为 .xlsx 后上传。")
    if name.endswith(".xlsx") and not content_types:
        raise UploadRefused("文件内容不是有效的 .xlsx 文件。")


def _check_ods_area(path: str) -> None:
    """An ODS file stores repeated rows and cells once (``number-rows-repeated``), and the reader expands them
    into a full grid: a file of a few kilobytes could ask for gigabytes. The grid each sheet would become — up to
    its last non-empty cell — is measured from ``content.xml`` as a stream before the reader sees the file."""
    from defusedxml.common import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    table_ns = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    value_type = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"
    cells = {table_ns + "table-cell", table_ns + "covered-table-cell"}
    max_rows = settings.BULK_MAX_ROWS + 1000
    stack: list[Any] = []
    name, row, column, last_row, last_column, row_has_value = "", 0, 0, 0, 0, False

    def repeat(element: Any, attribute: str) -> int:
        try:
            return max(int(element.get(table_ns + attribute, "1")), 1)
        except ValueError:
            raise UploadRefused("文件内部结构异常（重复行列数无效），已拒绝。") from None

    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as part:
            for event, element in iterparse(part, events=("start", "end")):
                if event == "start":
                    stack.append(element)
                    if element.tag == table_ns + "table":
                        name, row, last_row, last_column = element.get(table_ns + "name", ""), 0, 0, 0
                    elif element.tag == table_ns + "table-row":
                        column, row_has_value = 0, False
                    continue
                stack.pop()
                if element.tag in cells:
                    count = repeat(element, "number-columns-repeated")
                    if element.get(value_type) or len(element) or (element.text or "").strip():
                        row_has_value, last_column = True, max(last_column, column + count)
                    column += count
                elif element.tag == table_ns + "table-row":
                    count = repeat(element, "number-rows-repeated")
                    if row_has_value:
                        last_row = row + count
                    row += count
                    if stack:
                        stack[-1].remove(element)  # read rows are let go: memory stays flat
                elif element.tag == table_ns + "table":
                    if (
                        last_row > max_rows
                        or last_column > MAX_COLUMNS
                        or (last_row * last_column > max_rows * MAX_CELLS_PER_ROW_LIMIT)
                    ):
                        raise UploadRefused(
                            f"工作表“{name}”的数据区域过大（{last_row} 行 × {last_column} 列），上限为 "
                            f"{settings.BULK_MAX_ROWS} 行、{MAX_COLUMNS} 列。请删除多余的行列或拆分文件后上传。"
                        )
                    if stack:
                        stack[-1].remove(element)
    except (DefusedXmlException, SyntaxError):  # ParseError is a SyntaxError
        raise UploadRefused("文件包含不安全或无效的 XML 内容，已拒绝。") from None
    except (KeyError, zipfile.BadZipFile, OSError):
        raise UploadRefused("文件内容不是有效的 .ods 文件（缺少 content.xml 或文件已损坏）。") from None


def _header_map(values: list[Any]) -> dict[int, str]:
    return {i: HEADERS[str(v).strip()] for i, v in enumerate(values) if v is not None and str(v).strip() in HEADERS}


def _sheet_rows(
    source: Source, sheet: str, rows: Iterator[tuple[int, list[Any], Sequence[Any]]], found: list[bool]
) -> Iterator[dict[str, Cell]]:
    """A sheet's rows after its header row; ``found`` gets True if the sheet has a header row. Each row comes
    with its values and, from .xlsx files, its cells (to tell formulas and percentages)."""
    header: dict[int, str] | None = None
    for number, values, cells in rows:
        if header is None:
            candidate = _header_map(values)
            if set(candidate.values()) >= REQUIRED:
                header = candidate
                found.append(True)
            elif number > 20:
                return
            continue
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        source.count += 1
        if source.count > settings.BULK_MAX_ROWS:
            raise UploadRefused(f"行数超过上限（{settings.BULK_MAX_ROWS} 行）。请拆分文件后分别上传。")
        row = {}
        for i, key in header.items():
            value = values[i] if i < len(values) else None
            cell = Cell(sheet, number, i + 1, value)
            if i < len(cells):
                cell.formula_without_value = value is None and getattr(cells[i], "data_type", "") == "f"
                cell.percent = (key == "value" and type(value) in (int, float)
                                and "%" in (getattr(cells[i], "number_format", "") or ""))  # fmt: skip
            row[key] = cell
        yield row


def _read_xlsx(path: str) -> Source:
    from defusedxml.common import DefusedXmlException
    from openpyxl import load_workbook

    try:
        values_book = load_workbook(path, read_only=True, data_only=True)
        formula_book = load_workbook(path, read_only=True, data_only=False)
    except DefusedXmlException:
        raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。") from None
    except Exception as error:  # openpyxl raises many kinds on a broken file
        raise UploadRefused(
            f"无法读取这个 Excel 文件（{type(error).__name__}）。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。"
        ) from None
    source = Source("xlsx")
    sheets: list[tuple[str, int]] = []  # visible sheets and the columns to read from each
    declared = 0  # rows the sheets say they have (their <dimension>): only for the progress bar
    row_limit = 2 * settings.BULK_MAX_ROWS + 1000  # rows read, empty ones included
    try:
        if len(values_book.worksheets) > MAX_SHEETS:
            raise UploadRefused(f"文件中的工作表过多（上限 {MAX_SHEETS} 个）。请删除多余的工作表后上传。")
        for ws, formula_ws in zip(values_book.worksheets, formula_book.worksheets, strict=True):
            # A sheet's <dimension> is written by the program that saved it and may be wrong, or hostile: rows
            # are read as they are in the file, never padded to it.
            declared += min(ws.max_row or 0, row_limit)
            width = min(ws.max_column or MAX_COLUMNS, MAX_COLUMNS)
            ws.reset_dimensions()
            formula_ws.reset_dimensions()
            if ws.title == "_meta":
                for row in ws.iter_rows(min_row=2, max_row=10_000, max_col=2, values_only=True):
                    if row and len(row) >= 2 and isinstance(row[0], int) and isinstance(row[1], int):
                        source.meta[row[0]] = row[1]
            elif ws.sheet_state != "visible":
                source.skipped_sheets.append(ws.title)
            else:
                sheets.append((ws.title, width))
    except DefusedXmlException:
        values_book.close()
        formula_book.close()
        raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。") from None
    except UploadRefused:
        values_book.close()
        formula_book.close()
        raise
    total = declared or 1
    read = [0]
    source.done = lambda: min(read[0] / total, 1.0)

    def rows() -> Iterator[dict[str, Cell]]:
        try:
            for title, width in sheets:
                # The values and the formulas of the same sheet, read side by side (both streamed).
                pairs = zip(values_book[title].iter_rows(max_col=width, values_only=True),
                            formula_book[title].iter_rows(max_col=width), strict=False)  # fmt: skip

                def numbered(
                    pairs: Iterator[tuple[Any, Any]] = pairs, title: str = title
                ) -> Iterator[tuple[int, list[Any], Sequence[Any]]]:
                    for number, (values, cells) in enumerate(pairs, start=1):
                        read[0] += 1
                        if read[0] > row_limit:
                            raise UploadRefused(
                                f"工作表“{title}”的行数超过上限（{settings.BULK_MAX_ROWS} 行）。"
                                "请删除多余的行或拆分文件。"
                            )
                        yield number, list(values), cells

                found: list[bool] = []
                yield from _sheet_rows(source, title, numbered(), found)
                if not found:
                    source.skipped_sheets.append(title)
        except DefusedXmlException:
            raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。") from None
        finally:
            values_book.close()
            formula_book.close()

    source.rows = rows()
    return source


def _read_calamine(path: str, kind: str) -> Source:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    source = Source(kind)
    try:
        book = CalamineWorkbook.from_path(path)
        sheets = []
        for metadata in book.sheets_metadata:
            name = metadata.name
            if name == "_meta":
                for row in book.get_sheet_by_name(name).to_python()[1:]:
                    submission_id, version = (_int(row[0]), _int(row[1])) if len(row) >= 2 else (None, None)
                    if submission_id and version is not None:
                        source.meta[submission_id] = version
            elif metadata.visible != SheetVisibleEnum.Visible:
                source.skipped_sheets.append(name)
            else:
                sheets.append(name)
    except Exception as error:
        raise UploadRefused(f"无法读取这个文件（{type(error).__name__}）。请另存为 .xlsx 后上传。") from None

    def rows() -> Iterator[dict[str, Cell]]:
        try:
            for name in sheets:
                numbered: Iterator[tuple[int, list[Any], Sequence[Any]]] = (
                    (n, list(r), []) for n, r in enumerate(book.get_sheet_by_name(name).iter_rows(), start=1)
                )
                found: list[bool] = []
                yield from _sheet_rows(source, name, numbered, found)
                if not found:
                    source.skipped_sheets.append(name)
        except UploadRefused:
            raise
        except Exception as error:
            raise UploadRefused(f"无法读取这个文件（{type(error).__name__}）。请另存为 .xlsx 后上传。") from None

    source.rows = rows()
    return source


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class _Counting(io.RawIOBase):
    """A file that counts the bytes read from it (the progress of a CSV being read)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.read_bytes = handle, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)

    def close(self) -> None:
        self.handle.close()
        super().close()


def _encoding(path: str) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else GB18030 (a superset of GBK)."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with Path(path).open("rb") as handle:
                for block in iter(lambda: handle.read(1048576), b""):
                    if b"\x00" in block:
                        raise UploadRefused(
                            "CSV 文件中有不可识别的字符（可能是 UTF-16 编码）。请保存为 UTF-8 或 GBK 编码后上传。"
                        )
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise UploadRefused("无法识别 CSV 文件的编码。请保存为 UTF-8 或 GBK 编码后上传。")


def _read_csv(path: str, size: int) -> Source:
    encoding = _encoding(path)
    source = Source("csv")
    counting = _Counting(Path(path).open("rb"))  # noqa: SIM115 — closed by the generator below
    source.done = lambda: counting.read_bytes / max(size, 1)

    def rows() -> Iterator[dict[str, Cell]]:
        with io.TextIOWrapper(io.BufferedReader(counting), encoding=encoding, newline="") as text:
            numbered: Iterator[tuple[int, list[Any], Sequence[Any]]] = (
                (n, r, []) for n, r in enumerate(csv.reader(text), start=1)
            )
            found: list[bool] = []
            yield from _sheet_rows(source, "CSV", numbered, found)
            if not found:
                source.skipped_sheets.append("CSV")

    source.rows = rows()
    return source


def cell_text(cell: Cell, dates_as_text: bool = False) -> str:
    """A cell as the text a clerk would have typed (numbers without a spurious ".0"). A date or time is an error
    (``ValueError``) unless ``dates_as_text``: then it reads as written in ISO form."""
    value = cell.value
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if cell.percent:
        return format((Decimal(repr(value)) * 100).normalize(), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(f"{value:.15g}").normalize(), "f")  # 0.1 + 0.2 in a sheet is 0.3 to the clerk
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        if dates_as_text:  # as a clerk would have typed it: 2016-11-30, 2016-11-30 08:30:00
            if isinstance(value, datetime.datetime):
                return str(value.date()) if value.time() == datetime.time() else str(value.replace(microsecond=0))
            return str(value)
        raise ValueError("应填写数值，不能是日期或时间")
    return str(value).strip()
