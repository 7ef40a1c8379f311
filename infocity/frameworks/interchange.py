"""An edition as plain data, and that data as YAML, JSON or an Excel workbook — losslessly both ways.

The dictionary produced by :func:`edition_to_dict` is the interchange format (``infocity-framework/1``);
``data/edition-2016.yaml`` is written in it. Reading never trusts the input: every problem found is
collected and reported together, in Chinese, and nothing is created unless the whole file is valid.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .models import DataItem, Edition, Frequency, Indicator, ValidationRule

FORMAT = "infocity-framework/1"


class InterchangeError(ValueError):
    """The file or data is not a valid edition; ``problems`` lists everything wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


# --- edition → dict -------------------------------------------------------------------------------


def _number(value: Decimal | None) -> int | str | None:
    if value is None:
        return None
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return int(normal)
    return format(normal, "f")


def edition_to_dict(edition: Edition) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "code": edition.code,
        "year": edition.year,
        "name_zh": edition.name_zh,
        "name_en": edition.name_en,
        "description_zh": edition.description_zh,
        "description_en": edition.description_en,
        "areas": [
            {"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en} for a in edition.areas.order_by("order")
        ],
        "forms": [
            {"code": f.code, "name_zh": f.name_zh, "name_en": f.name_en, "frequency": f.frequency}
            for f in edition.forms.order_by("order")
        ],
        "items": [
            {
                "code": i.code,
                "area": i.area.code,
                "form": i.form.code,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "definition_zh": i.definition_zh,
                "definition_en": i.definition_en,
                "unit": i.unit,
                "type": i.value_type,
                "min": _number(i.min_value),
                "max": _number(i.max_value),
                "required": i.required,
                "source": i.source,
            }
            for i in edition.items.select_related("area", "form").order_by("order")
        ],
        "indicators": [
            {
                "code": i.code,
                "area": i.area.code,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "definition_zh": i.definition_zh,
                "definition_en": i.definition_en,
                "unit": i.unit,
                "direction": i.direction,
                "frequency": i.frequency,
                "source": i.source,
                "formula": i.formula,
                "decimals": i.decimals,
                "target": {
                    "kind": i.target_kind,
                    "operator": i.target_operator,
                    "value": _number(i.target_value),
                    "basis": i.target_basis,
                    "note_zh": i.target_note_zh,
                    "note_en": i.target_note_en,
                },
            }
            for i in edition.indicators.select_related("area").order_by("order")
        ],
        "rules": [
            {
                "code": r.code,
                "expression": r.expression,
                "severity": r.severity,
                "message_zh": r.message_zh,
                "message_en": r.message_en,
            }
            for r in edition.rules.order_by("order")
        ],
    }


# --- dict → validated, normalised dict ------------------------------------------------------------


class _Reader:
    """Normalises a loaded dictionary, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, row: dict[str, Any], key: str, where: str, *, required: bool = False, limit: int = 300) -> str:
        value = row.get(key)
        if value is None or value == "":
            if required:
                self.problems.append(f"{where}：缺少“{key}”。")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problems.append(f"{where}：“{key}”应为文字。")
            return ""
        text = str(value).strip()
        if len(text) > limit:
            self.problems.append(f"{where}：“{key}”过长（{len(text)} 个字符，最多 {limit} 个）。")
        return text

    def choice(self, row: dict[str, Any], key: str, where: str, allowed: list[str], default: str) -> str:
        value = row.get(key)
        if value is None or value == "":
            return default
        text = str(value).strip()
        if text not in allowed:
            self.problems.append(
                f"{where}：“{key}”的值“{text}”无效，应为 {'、'.join(a or '（空）' for a in allowed)} 之一。"
            )
            return default
        return text

    def number(self, row: dict[str, Any], key: str, where: str) -> Decimal | None:
        value = row.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.problems.append(f"{where}：“{key}”应为数字。")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.problems.append(f"{where}：“{key}”的值“{value}”不是数字。")
            return None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
            self.problems.append(f"{where}：“{key}”的值“{value}”超出范围。")
            return None
        return number

    def boolean(self, row: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = row.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "是", "y"}:
            return True
        if text in {"false", "0", "no", "否", "n"}:
            return False
        self.problems.append(f"{where}：“{key}”应为“是”或“否”。")
        return default

    def rows(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        rows = data.get(key) or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            self.problems.append(f"“{key}”应为列表，每一项是一组字段。")
            return []
        return rows

    def unique(self, rows: list[dict[str, Any]], label: str) -> None:
        seen: set[str] = set()
        for row in rows:
            code = row["code"]
            if code and code in seen:
                self.problems.append(f"{label}代码“{code}”重复。")
            seen.add(code)


FREQUENCIES = [f.value for f in Frequency]
OPERATOR_ALIASES = {"==": "=", "＝": "=", "≥": ">=", "≤": "<=", "＞": ">", "＜": "<"}


def normalise(data: Any) -> dict[str, Any]:
    """Check and normalise an interchange dictionary; raises :class:`InterchangeError` with all problems."""
    if not isinstance(data, dict):
        raise InterchangeError(["文件内容不是一个指标体系版本（顶层应为一组字段）。"])
    r = _Reader()
    if data.get("format", FORMAT) != FORMAT:
        r.problems.append(f"不支持的格式“{data.get('format')}”，应为 {FORMAT}。")
    out: dict[str, Any] = {
        "code": r.text(data, "code", "版本", required=True, limit=20),
        "name_zh": r.text(data, "name_zh", "版本", required=True, limit=100),
        "name_en": r.text(data, "name_en", "版本", limit=200),
        "description_zh": r.text(data, "description_zh", "版本", limit=5000),
        "description_en": r.text(data, "description_en", "版本", limit=5000),
    }
    year = r.number(data, "year", "版本")
    if year is None or year != year.to_integral_value() or not 2000 <= year <= 2100:
        r.problems.append("版本：“year”应为 2000–2100 之间的年份。")
        out["year"] = 0
    else:
        out["year"] = int(year)

    out["areas"] = [
        {
            "code": r.text(row, "code", f"领域第 {n} 行", required=True, limit=40),
            "name_zh": r.text(row, "name_zh", f"领域第 {n} 行", required=True, limit=100),
            "name_en": r.text(row, "name_en", f"领域第 {n} 行", limit=200),
        }
        for n, row in enumerate(r.rows(data, "areas"), 1)
    ]
    out["forms"] = [
        {
            "code": r.text(row, "code", f"填报表第 {n} 行", required=True, limit=40),
            "name_zh": r.text(row, "name_zh", f"填报表第 {n} 行", required=True, limit=100),
            "name_en": r.text(row, "name_en", f"填报表第 {n} 行", limit=200),
            "frequency": r.choice(row, "frequency", f"填报表第 {n} 行", FREQUENCIES, "A"),
        }
        for n, row in enumerate(r.rows(data, "forms"), 1)
    ]
    areas = {a["code"] for a in out["areas"]}
    forms = {f["code"] for f in out["forms"]}
    out["items"] = []
    for n, row in enumerate(r.rows(data, "items"), 1):
        where = f"填报项第 {n} 行（{row.get('code', '')}）"
        item = {
            "code": r.text(row, "code", where, required=True, limit=40),
            "area": r.text(row, "area", where, required=True, limit=40),
            "form": r.text(row, "form", where, required=True, limit=40),
            "name_zh": r.text(row, "name_zh", where, required=True, limit=100),
            "name_en": r.text(row, "name_en", where, limit=200),
            "definition_zh": r.text(row, "definition_zh", where, limit=2000),
            "definition_en": r.text(row, "definition_en", where, limit=2000),
            "unit": r.text(row, "unit", where, limit=20),
            "type": r.choice(row, "type", where, list(DataItem.Type.values), DataItem.Type.INTEGER),
            "min": r.number(row, "min", where),
            "max": r.number(row, "max", where),
            "required": r.boolean(row, "required", where, True),
            "source": r.text(row, "source", where, limit=100),
        }
        if item["area"] and item["area"] not in areas:
            r.problems.append(f"{where}：领域“{item['area']}”不存在。")
        if item["form"] and item["form"] not in forms:
            r.problems.append(f"{where}：填报表“{item['form']}”不存在。")
        out["items"].append(item)
    out["indicators"] = []
    for n, row in enumerate(r.rows(data, "indicators"), 1):
        where = f"指标第 {n} 行（{row.get('code', '')}）"
        target = row.get("target") or {}
        if not isinstance(target, dict):
            r.problems.append(f"{where}：“target”应为一组字段。")
            target = {}
        operator = str(target.get("operator") or "").strip()
        target["operator"] = OPERATOR_ALIASES.get(operator, operator)
        decimals = r.number(row, "decimals", where)
        indicator = {
            "code": r.text(row, "code", where, required=True, limit=40),
            "area": r.text(row, "area", where, required=True, limit=40),
            "name_zh": r.text(row, "name_zh", where, required=True, limit=100),
            "name_en": r.text(row, "name_en", where, limit=200),
            "definition_zh": r.text(row, "definition_zh", where, limit=2000),
            "definition_en": r.text(row, "definition_en", where, limit=2000),
            "unit": r.text(row, "unit", where, limit=20),
            "direction": r.choice(row, "direction", where, list(Indicator.Direction.values), "up"),
            "frequency": r.choice(row, "frequency", where, FREQUENCIES, "A"),
            "source": r.text(row, "source", where, limit=100),
            "formula": r.text(row, "formula", where, required=True, limit=2000),
            "decimals": 1 if decimals is None else int(decimals) if 0 <= decimals <= 6 else 1,
            "target": {
                "kind": r.choice(target, "kind", where, list(Indicator.TargetKind.values), "none"),
                "operator": r.choice(
                    target, "operator", where, [""] + [op for op, _ in Indicator.TARGET_OPERATORS], ""
                ),
                "value": r.number(target, "value", where),
                "basis": r.choice(target, "basis", where, list(Indicator.TargetBasis.values), ""),
                "note_zh": r.text(target, "note_zh", where, limit=200),
                "note_en": r.text(target, "note_en", where, limit=300),
            },
        }
        if decimals is not None and not 0 <= decimals <= 6:
            r.problems.append(f"{where}：显示小数位“decimals”应为 0–6。")
        if indicator["area"] and indicator["area"] not in areas:
            r.problems.append(f"{where}：领域“{indicator['area']}”不存在。")
        out["indicators"].append(indicator)
    out["rules"] = []
    for n, row in enumerate(r.rows(data, "rules"), 1):
        where = f"校验规则第 {n} 行（{row.get('code', '')}）"
        out["rules"].append(
            {
                "code": r.text(row, "code", where, required=True, limit=40),
                "expression": r.text(row, "expression", where, required=True, limit=2000),
                "severity": r.choice(row, "severity", where, list(ValidationRule.Severity.values), "error"),
                "message_zh": r.text(row, "message_zh", where, required=True, limit=300),
                "message_en": r.text(row, "message_en", where, limit=400),
            }
        )
    for key, label in (
        ("areas", "领域"),
        ("forms", "填报表"),
        ("items", "填报项"),
        ("indicators", "指标"),
        ("rules", "校验规则"),
    ):
        r.unique(out[key], label)
    if r.problems:
        raise InterchangeError(r.problems)
    return out


# --- files ----------------------------------------------------------------------------------------


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Numbers as the YAML/JSON-friendly int-or-string form used by :func:`edition_to_dict`."""
    plain: dict[str, Any] = json.loads(
        json.dumps(data, default=lambda v: _number(v) if isinstance(v, Decimal) else str(v))
    )
    return plain


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(_plain(data), allow_unicode=True, sort_keys=False, width=120)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(_plain(data), ensure_ascii=False, indent=2)


class _AliasRefused(yaml.YAMLError):
    pass


class _PlainLoader(yaml.SafeLoader):
    """Plain data only (no Python objects), and no anchors or aliases: they are never needed in an edition
    file, and repeated aliases are how a small file expands into an enormous structure (billion laughs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused("alias")
        return super().compose_node(parent, index)


def from_text(text: str) -> Any:
    """Parse YAML (JSON is a subset) safely: plain data only, no Python objects, no aliases."""
    try:
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506 — _PlainLoader is a SafeLoader
    except _AliasRefused:
        raise InterchangeError(
            ["文件中使用了 YAML 锚点或别名（& 和 *），出于安全原因不予支持，请展开后再导入。"]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else ""
        raise InterchangeError([f"文件不是有效的 YAML/JSON{where and '（' + where + '）'}，请检查格式。"]) from None


# Excel layout: one sheet per part; row 1 Chinese labels, row 2 field keys (what import reads), data below.
SHEETS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("areas", "领域", [("code", "代码"), ("name_zh", "中文名称"), ("name_en", "英文名称")]),
    (
        "forms",
        "填报表",
        [("code", "代码"), ("name_zh", "中文名称"), ("name_en", "英文名称"), ("frequency", "频度 M/Q/H/A")],
    ),
    (
        "items",
        "填报项",
        [("code", "代码"), ("area", "领域"), ("form", "填报表"), ("name_zh", "中文名称"), ("name_en", "英文名称"),
         ("definition_zh", "定义"), ("definition_en", "英文定义"), ("unit", "单位"),
         ("type", "类型 integer/decimal/percent/boolean/text"), ("min", "下限"), ("max", "上限"),
         ("required", "必填"), ("source", "数据来源")],
    ),
    (
        "indicators",
        "指标",
        [("code", "代码"), ("area", "领域"), ("name_zh", "中文名称"), ("name_en", "英文名称"),
         ("definition_zh", "定义"), ("definition_en", "英文定义"), ("unit", "单位"), ("direction", "方向 up/down"),
         ("frequency", "频度 M/Q/H/A"), ("source", "数据来源"), ("formula", "公式"), ("decimals", "显示小数位"),
         ("target.kind", "目标类型 none/comparison/rising"), ("target.operator", "目标比较 > >= = <= <"),
         ("target.value", "目标值"), ("target.basis", "目标依据 G/E/P"), ("target.note_zh", "目标说明"),
         ("target.note_en", "英文目标说明")],
    ),
    (
        "rules",
        "校验规则",
        [("code", "代码"), ("expression", "条件"), ("severity", "级别 error/warning"), ("message_zh", "提示信息"),
         ("message_en", "英文提示信息")],
    ),
]  # fmt: skip
EDITION_FIELDS = [("format", "格式"), ("code", "版本代码"), ("year", "年度"), ("name_zh", "中文名称"),
                  ("name_en", "英文名称"), ("description_zh", "说明"), ("description_en", "英文说明")]  # fmt: skip
MAX_ROWS = 5000


def _set(cell: Any, value: Any) -> None:
    cell.value = value
    if isinstance(value, str):
        # Always text: an operator "=" or a formula "-A + B" must never become a spreadsheet formula.
        cell.data_type = "s"


def to_xlsx(data: dict[str, Any]) -> bytes:
    plain = _plain(data)
    workbook = Workbook()
    header = Font(bold=True)
    keys_fill = PatternFill("solid", fgColor="EEEEEE")
    info = workbook.active
    assert info is not None
    info.title = "版本"
    for row, (key, label) in enumerate(EDITION_FIELDS, 1):
        _set(info.cell(row, 1), label)
        _set(info.cell(row, 2), key)
        _set(info.cell(row, 3), plain.get(key))
        info.cell(row, 1).font = header
    info.column_dimensions["C"].width = 80
    for key, title, columns in SHEETS:
        sheet = workbook.create_sheet(title)
        for col, (field, label) in enumerate(columns, 1):
            _set(sheet.cell(1, col), label)
            _set(sheet.cell(2, col), field)
            sheet.cell(1, col).font = header
            sheet.cell(2, col).fill = keys_fill
            sheet.column_dimensions[get_column_letter(col)].width = 14 if field != "formula" else 50
        for row, entry in enumerate(plain.get(key, []), 3):
            for col, (field, _) in enumerate(columns, 1):
                value: Any = entry
                for part in field.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if isinstance(value, bool):
                    value = "是" if value else "否"
                _set(sheet.cell(row, col), value)
        sheet.freeze_panes = "B3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def from_xlsx(content: bytes) -> dict[str, Any]:
    """Read a workbook written by :func:`to_xlsx` (or edited from one) back into an interchange dict."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for damaged files
        raise InterchangeError(["无法读取该 Excel 文件：文件已损坏或不是 .xlsx 格式。"]) from None
    problems: list[str] = []
    data: dict[str, Any] = {}
    try:
        if "版本" not in workbook.sheetnames:
            raise InterchangeError(["Excel 文件缺少“版本”工作表，请使用平台导出的模板。"])
        for row in workbook["版本"].iter_rows(min_row=1, max_row=50, values_only=True):
            if len(row) >= 3 and isinstance(row[1], str):
                data[row[1].strip()] = row[2]
        for key, title, _columns in SHEETS:
            if title not in workbook.sheetnames:
                problems.append(f"Excel 文件缺少“{title}”工作表。")
                continue
            rows = workbook[title].iter_rows(min_row=2, values_only=True)
            fields = [str(c).strip() if c is not None else "" for c in next(rows, ())]
            entries = []
            for n, values in enumerate(rows, 3):
                if n > MAX_ROWS:
                    problems.append(f"“{title}”工作表超过 {MAX_ROWS} 行。")
                    break
                if all(v is None or v == "" for v in values):
                    continue
                entry: dict[str, Any] = {}
                for field, value in zip(fields, values, strict=False):
                    if not field:
                        continue
                    if isinstance(value, str) and value in {"是", "否"} and field == "required":
                        value = value == "是"
                    target = entry
                    *parents, last = field.split(".")
                    for parent in parents:
                        target = target.setdefault(parent, {})
                    target[last] = value
                entries.append(entry)
            data[key] = entries
    finally:
        workbook.close()
    if problems:
        raise InterchangeError(problems)
    return data
