"""Checking what a city typed (填报校验): number formats, types, bounds, required items, the edition's rules,
and the change against the previous period. Errors block submission; warnings need a written explanation.
Every message is in Chinese and names the item, the rule and the numbers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from infocity.frameworks.compute import CompiledEdition, format_value
from infocity.frameworks.formula import Value, references
from infocity.frameworks.models import DataItem, ValidationRule

# A change against the previous period beyond this share needs an explanation (BRIEF §5).
CHANGE_THRESHOLD = Fraction(3, 10)
TRUE_WORDS = {"是", "有", "yes", "y", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "无", "no", "n", "false", "0", "×"}
# Thousands separators as people type them: 1,234.5 / 1，234.5 / 1 234.5 (not inside a decimal part).
_GROUPED = re.compile(r"^[+-]?\d{1,3}([,，  ]\d{3})+(\.\d+)?$")


@dataclass(frozen=True)
class Message:
    code: str
    severity: str  # "error" or "warning"
    text: str
    source: str  # "type", "bounds", "required", "change", or a rule code


@dataclass
class CheckResult:
    values: dict[str, Value | None] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)

    def for_item(self, code: str) -> list[Message]:
        return [m for m in self.messages if m.code == code]

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "warning"]

    def unexplained(self, explanations: Mapping[str, str]) -> list[Message]:
        return [m for m in self.warnings if not explanations.get(m.code, "").strip()]


class ParseError(ValueError):
    pass


def parse_value(item: DataItem, raw: str) -> Value | None:
    """What the user typed, as a value of the item's type; '' is no value. Accepts full-width digits,
    thousands separators (1,234.5) and, for percentages, a trailing %."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if text == "":
        return None
    kind = item.value_type
    if kind == DataItem.Type.TEXT:
        return text[:500]
    if kind == DataItem.Type.BOOLEAN:
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ParseError(f"{item.name_zh}须填写“是”或“否”，而不是“{raw}”。")
    if kind == DataItem.Type.PERCENT and text.endswith("%"):
        text = text[:-1].strip()
    elif text.endswith("%"):
        raise ParseError(f"{item.name_zh}的单位是{item.unit or '数值'}，不是百分比，请去掉“%”。")
    if _GROUPED.match(text):
        text = re.sub(r"[,，  ]", "", text)
    try:
        number = Decimal(text)
    except (InvalidOperation, ArithmeticError):
        raise ParseError(f"{item.name_zh}须填写数字，“{raw}”不是有效的数字。") from None
    if not number.is_finite():
        raise ParseError(f"{item.name_zh}须填写数字，“{raw}”不是有效的数字。")
    # Bounds checked on the exponent, without arithmetic that could overflow on hostile input like 1e999999999.
    digits = number.as_tuple()
    if number and (number.adjusted() >= 14 or digits.exponent < -6):  # type: ignore[operator]
        raise ParseError(f"{item.name_zh}的数值“{raw}”超出可填写的范围（小于 10¹⁴，最多 6 位小数）。")
    if len(number.normalize().as_tuple().digits) > 15:
        raise ParseError(f"{item.name_zh}的数值“{raw}”有效数字过多（最多 15 位），请核对。")
    if kind == DataItem.Type.INTEGER and number != number.to_integral_value():
        raise ParseError(f"{item.name_zh}须为整数（单位：{item.unit or '个'}），“{raw}”带有小数。")
    return Fraction(number)


def check_values(
    compiled: CompiledEdition,
    items: list[DataItem],
    raw: Mapping[str, str],
    previous: Mapping[str, Value | None],
    *,
    previous_label: str = "上期",
) -> CheckResult:
    """Check one form's values. ``raw`` maps item codes to what was typed; ``previous`` holds the
    previous comparable period's values (for the ±30 % check and ``prev()`` in rules)."""
    result = CheckResult()
    codes = {item.code for item in items}
    for item in items:
        try:
            value = parse_value(item, raw.get(item.code, ""))
        except ParseError as error:
            result.messages.append(Message(item.code, "error", str(error), "type"))
            result.values[item.code] = None
            continue
        result.values[item.code] = value
        if value is None:
            if item.required:
                result.messages.append(Message(item.code, "error", f"{item.name_zh}为必填项，请填写。", "required"))
            continue
        if isinstance(value, Fraction):
            result.messages.extend(_bounds(item, value))
            result.messages.extend(_change(item, value, previous.get(item.code), previous_label))

    # Rules that read only this form's items (rules about other forms are checked with those forms).
    for compiled_rule in compiled.rules:
        read = {code for code, _ in references(compiled_rule.tree)}
        if not read <= codes:
            continue
        for violation in compiled.check_rules(result.values, previous, [compiled_rule]):
            anchor = _anchor(compiled_rule.tree, items)
            severity = "error" if violation.rule.severity == ValidationRule.Severity.ERROR else "warning"
            result.messages.append(Message(anchor, severity, violation.message, violation.rule.code))
    return result


def _anchor(tree: object, items: list[DataItem]) -> str:
    """The item a rule's message is shown beside: the first of the form's items the rule reads."""
    read = {code for code, _ in references(tree)}  # type: ignore[arg-type]
    for item in items:
        if item.code in read:
            return item.code
    return items[0].code


def _bounds(item: DataItem, value: Fraction) -> list[Message]:
    shown = format_value(value, item)
    if item.min_value is not None and value < Fraction(item.min_value):
        lower = format_value(item.min_value)
        text = (
            f"{item.name_zh}不能为负数（填写的是 {shown}）。"
            if item.min_value == 0
            else f"{item.name_zh}不能小于 {lower}（填写的是 {shown}）。"
        )
        return [Message(item.code, "error", text, "bounds")]
    if item.max_value is not None and value > Fraction(item.max_value):
        upper = format_value(item.max_value)
        return [Message(item.code, "error", f"{item.name_zh}不能大于 {upper}（填写的是 {shown}）。", "bounds")]
    if item.value_type == DataItem.Type.PERCENT and not 0 <= value <= 100:
        return [
            Message(item.code, "error", f"{item.name_zh}是百分比，应在 0 到 100 之间（填写的是 {shown}）。", "bounds")
        ]
    return []


def _change(item: DataItem, value: Fraction, before: Value | None, label: str) -> list[Message]:
    if not isinstance(before, Fraction) or before == 0:
        return []
    change = value / before - 1
    if abs(change) <= CHANGE_THRESHOLD:
        return []
    percent = f"{float(change) * 100:+.1f}%"
    text = (
        f"{item.name_zh}较{label}（{format_value(before, item)}）变化 {percent}，超过 ±30%，"
        f"请核实；如数据无误，请填写说明。"
    )
    return [Message(item.code, "warning", text, "change")]
