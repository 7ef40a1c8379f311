"""The Excel template (填报模板) and the copy of an upload with its bad cells marked."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation

from infocity.frameworks.models import DataItem
from infocity.reporting import services as reporting
from infocity.reporting.models import Submission

COLUMNS = ["区划代码", "城市", "报告期", "填报表", "填报项代码", "填报项", "单位", "上期数值", "本期数值", "说明"]
VALUE_COLUMN, EXPLANATION_COLUMN = "I", "J"
HEAD = PatternFill("solid", fgColor="DDEBF7")
INPUT = PatternFill("solid", fgColor="FFF9E6")
BAD = PatternFill("solid", fgColor="F8D7DA")

INSTRUCTIONS = [
    "信息消费示范城市监测平台 · 填报模板",
    "",
    "1. 在“填报”工作表的“本期数值”列（浅黄色）填写数值，需要时在“说明”列填写说明",
    "   （数值较上期变化超过 30% 等警告须填写说明）。",
    "2. 不要修改前 8 列（区划代码、城市、报告期、填报表、填报项代码等），平台按这些列找到对应的报送和填报项。",
    "3. 空白的“本期数值”不会清除平台上已有的数据。是/否类填报项请选择“是”或“否”。",
    "4. 可以使用公式，但请保存后再上传（平台读取公式的计算结果）；不接受含宏的文件（.xlsm）。",
    "5. 也可以另存为 .xls、.ods 或 CSV（UTF-8 或 GBK）后上传，列标题须保持不变。",
    "6. 上传后平台先检查并列出将要修改的内容，确认后才导入；任何一行有错误时整个文件都不会导入，"
    "平台会给出出错的行、列和原因，",
    "   并可下载标出错误单元格的文件。",
    "7. 同一文件重复上传不会重复导入。",
]


def _text(item: DataItem, value: Any) -> str:
    return reporting.format_for(item, reporting.canonical(item, value)) if value is not None else ""


def _cell_value(item: DataItem, text: str | None) -> Any:
    """A stored value as a spreadsheet cell: numbers as numbers (so the validation applies), yes/no as 是/否."""
    if not text:
        return None
    if item.value_type == DataItem.Type.BOOLEAN:
        return "是" if text in {"1", "true", "True", "是"} else "否"
    if item.value_type in {DataItem.Type.INTEGER, DataItem.Type.DECIMAL, DataItem.Type.PERCENT}:
        try:
            number = Decimal(text)
        except ArithmeticError:
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def template(submissions: list[Submission]) -> bytes:
    """One row per submission × item, with the previous period's value, validation and the hidden metadata."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "填报"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), HEAD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    meta = book.create_sheet("_meta")
    meta.append(["submission", "version", "infocity-template-v1"])
    validations: dict[str, DataValidation] = {}
    for submission in submissions:
        meta.append([submission.pk, submission.version])
        items = reporting.form_items(submission)
        current, explanations = reporting.current_values(submission)
        before = reporting.previous_period(submission)
        previous = reporting.parsed_values(before.values, items) if before else {}
        for item in items:
            sheet.append([
                submission.city.code, submission.city.name, submission.period.code, submission.form.code, item.code,
                item.name_zh, item.unit, _text(item, previous.get(item.code)),
                _cell_value(item, current.get(item.code)), explanations.get(item.code) or None,
            ])  # fmt: skip
            row = sheet.max_row
            for column in (VALUE_COLUMN, EXPLANATION_COLUMN):
                sheet[f"{column}{row}"].fill = INPUT
                sheet[f"{column}{row}"].protection = Protection(locked=False)
            rule = _validation(item)
            if rule is not None:
                key = repr((rule.type, rule.formula1, rule.formula2, rule.operator))
                validations.setdefault(key, rule).add(f"{VALUE_COLUMN}{row}")
    for rule in validations.values():
        sheet.add_data_validation(rule)
    for column, width in zip("ABCDEFGHIJ", (10, 10, 10, 7, 22, 36, 8, 14, 14, 30), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "I2"
    meta.sheet_state = "hidden"
    guide = book.create_sheet("说明", 0)
    for line in INSTRUCTIONS:
        guide.append([line])
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 120
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _validation(item: DataItem) -> DataValidation | None:
    error = f"{item.name_zh}：请填写有效的数值"
    if item.value_type == DataItem.Type.BOOLEAN:
        rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        error = f"{item.name_zh}：请选择“是”或“否”"
    elif item.value_type in {DataItem.Type.INTEGER, DataItem.Type.DECIMAL, DataItem.Type.PERCENT}:
        kind: Literal["whole", "decimal"] = "whole" if item.value_type == DataItem.Type.INTEGER else "decimal"
        low = format(item.min_value.normalize(), "f") if item.min_value is not None else "-1000000000000000"
        high = format(item.max_value.normalize(), "f") if item.max_value is not None else "1000000000000000"
        rule = DataValidation(type=kind, operator="between", formula1=low, formula2=high, allow_blank=True)
        error = f"{item.name_zh}：请填写 {low} 到 {high} 之间的{'整数' if kind == 'whole' else '数值'}"
    else:
        return None
    rule.error, rule.errorTitle, rule.showErrorMessage = error, "数值无效", True
    return rule


def marked(original: bytes, kind: str, problems: list[dict[str, Any]]) -> bytes:
    """The uploaded workbook with each bad cell filled red and commented; for CSV/XLS/ODS uploads a new workbook
    listing the problems (those formats cannot carry comments back)."""
    if kind == "xlsx":
        book = load_workbook(io.BytesIO(original))
        for problem in problems:
            if problem.get("sheet") in book.sheetnames and problem.get("row") and problem.get("column"):
                cell = book[problem["sheet"]].cell(problem["row"], problem["column"])
                cell.fill = BAD
                text = problem["message"] if cell.comment is None else f"{cell.comment.text}\n{problem['message']}"
                cell.comment = Comment(text, "信息消费示范城市监测平台")
    else:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "错误"
        sheet.append(["工作表", "行", "列", "填报项", "错误"])
        for problem in problems:
            sheet.append([problem.get("sheet"), problem.get("row"), problem.get("column"), problem.get("item"),
                          problem["message"]])  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
