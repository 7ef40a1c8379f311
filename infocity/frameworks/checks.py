"""Checking an edition as a whole (发布前检查): every formula and rule parses, refers only to known codes,
has the right types, and no indicator depends on itself. All problems are reported at once, in Chinese."""

from __future__ import annotations

from dataclasses import dataclass, field

from .formula import FormulaError, Kind, Node, check, parse, references
from .messages import placeholders
from .models import DataItem, Edition, Indicator

ITEM_KINDS = {
    DataItem.Type.INTEGER: Kind.NUMBER,
    DataItem.Type.DECIMAL: Kind.NUMBER,
    DataItem.Type.PERCENT: Kind.NUMBER,
    DataItem.Type.BOOLEAN: Kind.BOOLEAN,
    DataItem.Type.TEXT: Kind.TEXT,
}


@dataclass
class EditionCheck:
    problems: list[str] = field(default_factory=list)
    indicator_kinds: dict[str, Kind | None] = field(default_factory=dict)
    # Indicators in an order where every indicator comes after those its formula reads.
    evaluation_order: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse(owner: str, text: str, problems: list[str]) -> Node | None:
    try:
        return parse(text)
    except FormulaError as error:
        problems.append(f"{owner}：{error}")
        return None


def check_edition(edition: Edition) -> EditionCheck:
    result = EditionCheck()
    problems = result.problems
    items = list(edition.items.all())
    indicators = list(edition.indicators.all())
    kinds: dict[str, Kind] = {item.code: ITEM_KINDS[DataItem.Type(item.value_type)] for item in items}

    duplicate = {i.code for i in indicators} & set(kinds)
    for code in sorted(duplicate):
        problems.append(f"代码“{code}”同时用作填报项和指标，请改用不同的代码。")
    for item in items:
        if item.min_value is not None and item.max_value is not None and item.min_value > item.max_value:
            problems.append(f"填报项 {item.code}：下限 {item.min_value} 大于上限 {item.max_value}。")

    trees: dict[str, Node] = {}
    for indicator in indicators:
        tree = _parse(f"指标 {indicator.code} 的公式", indicator.formula, problems)
        if tree is not None:
            trees[indicator.code] = tree
        problems.extend(_target_problems(indicator))

    result.evaluation_order = _order(trees, problems)
    # Type-check in dependency order, so an indicator's kind is known before another reads it. Indicators
    # caught in a cycle (or with a broken formula) are known codes of unknown kind.
    known: dict[str, Kind | None] = {**kinds, **{i.code: None for i in indicators}}
    for code in result.evaluation_order:
        own: list[str] = []
        kind = check(trees[code], known, own)
        problems.extend(f"指标 {code} 的公式：{p}" for p in own)
        result.indicator_kinds[code] = kind
        known[code] = kind
    for indicator in indicators:
        kind = result.indicator_kinds.get(indicator.code)
        if kind == Kind.TEXT:
            problems.append(f"指标 {indicator.code} 的公式结果是文本，指标须为数值或是/否。")
        if (
            kind == Kind.BOOLEAN
            and indicator.target_kind == Indicator.TargetKind.COMPARISON
            and (indicator.target_operator != "=" or indicator.target_value not in (0, 1))
        ):
            problems.append(f"指标 {indicator.code} 是“是/否”指标，目标只能是“＝ 1（是）”或“＝ 0（否）”。")

    for rule in edition.rules.all():
        tree = _parse(f"校验规则 {rule.code}", rule.expression, problems)
        if tree is None:
            continue
        own = []
        kind = check(tree, known, own)
        problems.extend(f"校验规则 {rule.code}：{p}" for p in own)
        if kind is not None and kind != Kind.BOOLEAN:
            problems.append(f"校验规则 {rule.code} 的条件须为“成立/不成立”的比较，例如 A <= B。")
        problems.extend(_template_problems(rule.code, rule.message_zh, kinds))
        problems.extend(_template_problems(rule.code, rule.message_en, kinds))
    return result


def _target_problems(indicator: Indicator) -> list[str]:
    kind = indicator.target_kind
    if kind == Indicator.TargetKind.COMPARISON:
        if not indicator.target_operator or indicator.target_value is None:
            return [f"指标 {indicator.code}：目标类型为“目标值”时须填写比较方式和目标值。"]
    elif indicator.target_operator or indicator.target_value is not None:
        return [f"指标 {indicator.code}：目标类型不是“目标值”，请清空比较方式和目标值。"]
    return []


def _order(trees: dict[str, Node], problems: list[str]) -> list[str]:
    """Topological order of indicators by the current-period references between them; cycles are problems.
    (A reference to an indicator's previous period is not a dependency within the period.)"""
    depends = {code: {c for c, prev in references(tree) if not prev and c in trees} for code, tree in trees.items()}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(code: str, path: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            cycle = [*path[path.index(code) :], code]
            problems.append(f"指标公式循环引用：{' → '.join(cycle)}。")
            return
        state[code] = 1
        for dep in sorted(depends[code]):
            visit(dep, [*path, code])
        state[code] = 2
        order.append(code)

    for code in trees:
        visit(code, [])
    return order


def _template_problems(code: str, template: str, kinds: dict[str, Kind]) -> list[str]:
    return [
        f"校验规则 {code} 的提示信息引用了未知的填报项“{name}”。"
        for name in placeholders(template)
        if name not in kinds
    ]
