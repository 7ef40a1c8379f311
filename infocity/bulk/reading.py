"""Reading an uploaded table safely. Everything that could hurt the server is checked before a parser sees the
file: its size, what it really is (not what its name says), macros, the entries of the zip container (count, total
uncompressed size, compression ratio — zip bombs), and XML entities (openpyxl parses with defusedxml when it is
installed, so a "billion laughs" file is refused instead of expanded)."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

HEADERS = {"区划代码": "city", "报告期": "period", "填报表": "form", "填报项代码": "item", "本期数值": "value",
           "说明": "explanation"}  # fmt: skip
REQUIRED = {"city", "period", "form", "item", "value"}
MAX_ZIP_ENTRIES = 2000
MAX_RATIO = 200


class UploadRefused(ValueError):
    """The file is refused as a whole, with a message for the clerk."""


@dataclass
class Cell:
    sheet: str
    row: int
    column: int  # 1-based
    value: Any
    formula_without_value: bool = False


@dataclass
class Table:
    """The rows of the sheets that have our header row: each row maps a field to its cell."""

    kind: str  # xlsx | xls | ods | csv
    rows: list[dict[str, Cell]] = field(default_factory=list)
    meta: dict[int, int] = field(default_factory=dict)  # submission id → version, from the template's _meta sheet
    skipped_sheets: list[str] = field(default_factory=list)


def read_upload(filename: str, data: bytes) -> Table:
    limit = settings.BULK_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise UploadRefused(
            f"文件过大（{len(data) / 1048576:.1f} MB），上限为 {limit / 1048576:.0f} MB。请拆分后分别上传。"
        )
    if not data.strip():
        raise UploadRefused("文件是空的。请下载填报模板，填写后再上传。")
    name = filename.lower()
    if name.endswith((".xlsm", ".xltm", ".xlsb", ".xlam")):
        raise UploadRefused("不接受含宏的 Excel 文件（.xlsm 等）。请另存为 .xlsx 后上传。")
    if name.endswith(".csv"):
        return _read_csv(data)
    if name.endswith((".xlsx", ".ods")):
        _check_zip(data, name)
        return _read_xlsx(data) if name.endswith(".xlsx") else _read_calamine(data, "ods")
    if name.endswith(".xls"):
        if not data.startswith(b"\xd0\xcf\x11\xe0"):
            raise UploadRefused("文件内容不是 Excel 97–2003（.xls）格式，请确认文件没有被改过扩展名。")
        if b"_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T" in data or b"_VBA_PROJECT" in data:
            raise UploadRefused("不接受含宏的 Excel 文件。请另存为 .xlsx 后上传。")
        return _read_calamine(data, "xls")
    raise UploadRefused("只接受 .xlsx、.xls、.ods 和 .csv 文件。")


def _check_zip(data: bytes, name: str) -> None:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UploadRefused("文件内容不是有效的 Excel/ODS 文件（可能是改了扩展名的其他文件，或文件已损坏）。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {e.filename.lower() for e in entries}
            content_types = archive.read("[Content_Types].xml") if "[content_types].xml" in names else b""
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
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
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


def _header_map(values: list[Any]) -> dict[int, str]:
    return {i: HEADERS[str(v).strip()] for i, v in enumerate(values) if v is not None and str(v).strip() in HEADERS}


def _collect(
    table: Table, sheet: str, rows: Iterator[tuple[int, list[Any]]], formulas: dict[tuple[int, int], bool]
) -> bool:
    """Add a sheet's rows after its header row; False if the sheet has no header row."""
    header: dict[int, str] | None = None
    for number, values in rows:
        if header is None:
            candidate = _header_map(values)
            if set(candidate.values()) >= REQUIRED:
                header = candidate
            elif number > 20:
                return False
            continue
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(table.rows) >= settings.BULK_MAX_ROWS:
            raise UploadRefused(f"行数超过上限（{settings.BULK_MAX_ROWS} 行）。请拆分文件后分别上传。")
        table.rows.append(
            {key: Cell(sheet, number, i + 1, values[i] if i < len(values) else None,
                       formulas.get((number, i + 1), False)) for i, key in header.items()}
        )  # fmt: skip
    return header is not None


def _read_xlsx(data: bytes) -> Table:
    from defusedxml.common import DefusedXmlException
    from openpyxl import load_workbook

    table = Table("xlsx")
    try:
        values_book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except DefusedXmlException:
        raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。") from None
    except Exception as error:  # openpyxl raises many kinds on a broken file
        raise UploadRefused(
            f"无法读取这个 Excel 文件（{type(error).__name__}）。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。"
        ) from None
    try:
        for ws in values_book.worksheets:
            if ws.title == "_meta":
                for row in ws.iter_rows(min_row=2, values_only=True):
                    if row and isinstance(row[0], int) and isinstance(row[1], int):
                        table.meta[row[0]] = row[1]
                continue
            if ws.sheet_state != "visible":
                table.skipped_sheets.append(ws.title)
                continue
            if (ws.max_row or 0) > settings.BULK_MAX_ROWS + 100:
                raise UploadRefused(
                    f"工作表“{ws.title}”有 {ws.max_row} 行，超过上限（{settings.BULK_MAX_ROWS} 行）。请拆分文件。"
                )
            formulas: dict[tuple[int, int], bool] = {
                (int(cell.row or 0), int(cell.column or 0)): True
                for row in formula_book[ws.title].iter_rows()
                for cell in row
                if getattr(cell, "data_type", "") == "f"
            }
            rows = ((n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), start=1))
            if not _collect(table, ws.title, rows, formulas):
                table.skipped_sheets.append(ws.title)
    except DefusedXmlException:
        raise UploadRefused("文件包含不安全的 XML 内容（实体定义），已拒绝。") from None
    finally:
        values_book.close()
        formula_book.close()
    return _found(table)


def _read_calamine(data: bytes, kind: str) -> Table:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    table = Table(kind)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for metadata in book.sheets_metadata:
            name = metadata.name
            sheet = book.get_sheet_by_name(name)
            if name == "_meta":
                for row in sheet.to_python()[1:]:
                    submission_id, version = (_int(row[0]), _int(row[1])) if len(row) >= 2 else (None, None)
                    if submission_id and version is not None:
                        table.meta[submission_id] = version
                continue
            if metadata.visible != SheetVisibleEnum.Visible:
                table.skipped_sheets.append(name)
                continue
            rows = ((n, list(r)) for n, r in enumerate(sheet.iter_rows(), start=1))
            if not _collect(table, name, rows, {}):
                table.skipped_sheets.append(name)
    except UploadRefused:
        raise
    except Exception as error:
        raise UploadRefused(f"无法读取这个文件（{type(error).__name__}）。请另存为 .xlsx 后上传。") from None
    return _found(table)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data:
        raise UploadRefused("CSV 文件中有不可识别的字符（可能是 UTF-16 编码）。请保存为 UTF-8 或 GBK 编码后上传。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UploadRefused("无法识别 CSV 文件的编码。请保存为 UTF-8 或 GBK 编码后上传。")
    table = Table("csv")
    rows = ((n, list(r)) for n, r in enumerate(csv.reader(io.StringIO(text)), start=1))
    if not _collect(table, "CSV", rows, {}):
        table.skipped_sheets.append("CSV")
    return _found(table)


def _found(table: Table) -> Table:
    if not table.rows and not any(True for _ in table.skipped_sheets if _ != "_meta") and not table.meta:
        raise UploadRefused("文件中没有数据。")
    if not table.rows:
        raise UploadRefused(
            "没有找到表头（区划代码、报告期、填报表、填报项代码、本期数值）。请使用平台下载的填报模板。"
        )
    return table


def cell_text(cell: Cell) -> str:
    """A cell as the text a clerk would have typed (numbers without a spurious ".0")."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(f"{value:.15g}").normalize(), "f")  # 0.1 + 0.2 in a sheet is 0.3 to the clerk
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        raise ValueError("应填写数值，不能是日期或时间")
    return str(value).strip()
