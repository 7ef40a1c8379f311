"""Computing with an edition: indicator values from data items, target attainment, validation rules.

:class:`CompiledEdition` parses every formula once; reporting, analytics and evaluation all compute
through it, so an indicator means the same thing everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .checks import check_edition
from .formula import Input, Missing, Node, Result, Value, evaluate, parse, references, to_decimal
from .messages import render
from .models import DataItem, Edition, Indicator, ValidationRule


@dataclass(frozen=True)
class CompiledIndicator:
    indicator: Indicator
    tree: Node


@dataclass(frozen=True)
class CompiledRule:
    rule: ValidationRule
    tree: Node


class CompiledEdition:
    """A checked edition with its formulas parsed, ready to evaluate many times."""

    def __init__(self, edition: Edition) -> None:
        result = check_edition(edition)
        if not result.ok:
            raise ValueError("；".join(result.problems))
        self.edition = edition
        self.items: dict[str, DataItem] = {i.code: i for i in edition.items.select_related("area", "form")}
        indicators = {i.code: i for i in edition.indicators.select_related("area")}
        self.indicators = [
            CompiledIndicator(indicators[c], parse(indicators[c].formula)) for c in result.evaluation_order
        ]
        self.rules = [CompiledRule(r, parse(r.expression)) for r in edition.rules.all()]
        self.names = {code: item.name_zh for code, item in self.items.items()} | {
            code: i.name_zh for code, i in indicators.items()
        }
        # The indicators each one needs (itself and, transitively, those its formula reads in either period).
        self.needs: dict[str, set[str]] = {}
        for compiled in self.indicators:
            needed = {compiled.indicator.code}
            for ref, _previous in references(compiled.tree):
                needed |= self.needs.get(ref, set())
            self.needs[compiled.indicator.code] = needed

    def compute(
        self,
        values: Mapping[str, Value | None],
        previous: Mapping[str, Value | None] | None = None,
        only: set[str] | None = None,
    ) -> dict[str, Result]:
        """Indicators for one city and period — every one, or those in ``only`` (and what they need).
        ``previous`` holds the previous comparable period's item values; indicators of that period are computed
        from them for ``prev(INDICATOR)``."""
        wanted = None if only is None else set().union(*(self.needs[code] for code in only))
        chain = [c for c in self.indicators if wanted is None or c.indicator.code in wanted]
        previous_results: dict[str, Input] = dict(previous or {})
        if previous is not None:
            for compiled in chain:
                previous_results[compiled.indicator.code] = evaluate(compiled.tree, previous_results, {}, self.names)
        current: dict[str, Input] = dict(values)
        results: dict[str, Result] = {}
        for compiled in chain:
            result = evaluate(compiled.tree, current, previous_results, self.names)
            results[compiled.indicator.code] = result
            current[compiled.indicator.code] = result
        return results

    def check_rules(
        self,
        values: Mapping[str, Value | None],
        previous: Mapping[str, Value | None] | None = None,
        rules: list[CompiledRule] | None = None,
    ) -> list[RuleViolation]:
        """The rules (all, or those given) that do not hold. A rule whose inputs are missing is not judged
        (required items are checked separately), so it is never reported as broken for lack of data."""
        violations = []
        for compiled in self.rules if rules is None else rules:
            outcome = evaluate(compiled.tree, values, previous or {}, self.names)
            if outcome is False:
                message = self.message(compiled.rule, values, previous or {})
                violations.append(RuleViolation(compiled.rule, message))
        return violations

    def message(
        self, rule: ValidationRule, values: Mapping[str, Value | None], previous: Mapping[str, Value | None]
    ) -> str:
        template = rule.message_en if get_language() == "en" and rule.message_en else rule.message_zh
        names = self.names if get_language() != "en" else {c: i.name_en or i.name_zh for c, i in self.items.items()}
        return render(
            template,
            names,
            lambda code: format_value(values.get(code), self.items.get(code)),
            lambda code: format_value(previous.get(code), self.items.get(code)),
        )


@dataclass(frozen=True)
class RuleViolation:
    rule: ValidationRule
    message: str

    @property
    def blocks_submission(self) -> bool:
        return self.rule.severity == ValidationRule.Severity.ERROR


def format_value(value: object, item: DataItem | None = None) -> str:
    """A value as a Chinese reader expects it: thousands separators, no trailing zeros, 是/否."""
    if value is None or isinstance(value, Missing):
        return "（未填）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Fraction | Decimal | int):
        number = to_decimal(Fraction(value), 6).normalize() if not isinstance(value, Decimal) else value.normalize()
        text = f"{number:,f}"
        if item is not None and item.value_type == DataItem.Type.PERCENT:
            text += "%"
        return text
    return str(value)


class Attainment(enum.Enum):
    MET = "met"
    NOT_MET = "not_met"
    NO_VALUE = "no_value"
    NO_TARGET = "no_target"


@dataclass(frozen=True)
class TargetAssessment:
    status: Attainment
    # Distance still to go in the indicator's unit (positive when not met, zero when met); None when unknown.
    gap: Decimal | None = None
    reason: str = ""


def assess_target(indicator: Indicator, value: Result, previous: Result | None = None) -> TargetAssessment:
    """目标达成: met / not met / no value, with the gap, for one indicator value."""
    kind = indicator.target_kind
    if kind == Indicator.TargetKind.NONE:
        return TargetAssessment(Attainment.NO_TARGET)
    if isinstance(value, Missing):
        return TargetAssessment(Attainment.NO_VALUE, reason=value.reason)
    if kind == Indicator.TargetKind.RISING:
        if previous is None or isinstance(previous, Missing):
            reason = previous.reason if isinstance(previous, Missing) else "无上期数据，无法判断是否提升"
            return TargetAssessment(Attainment.NO_VALUE, reason=reason)
        a, b = Fraction(value), Fraction(previous)
        improved = a > b if indicator.direction == Indicator.Direction.UP else a < b
        gap = Decimal(0) if improved else to_decimal(abs(b - a))
        return TargetAssessment(Attainment.MET if improved else Attainment.NOT_MET, gap)
    assert indicator.target_value is not None
    target = Fraction(indicator.target_value)
    actual = Fraction(value)
    op = indicator.target_operator
    met = {">": actual > target, ">=": actual >= target, "=": actual == target, "<=": actual <= target,
           "<": actual < target}[op]  # fmt: skip
    gap = Decimal(0) if met else to_decimal(abs(target - actual))
    return TargetAssessment(Attainment.MET if met else Attainment.NOT_MET, gap)


def target_text(indicator: Indicator) -> str:
    """The target in words in the active language, e.g. "＞ 50%（指南明确）" or "> 50% (Stated in the guide)"."""
    english = get_language() == "en"
    kind = indicator.target_kind
    if kind == Indicator.TargetKind.NONE:
        return _("无")
    label = str(Indicator.TargetBasis(indicator.target_basis).label) if indicator.target_basis else ""
    basis = (f" ({label})" if english else f"（{label}）") if label else ""
    if kind == Indicator.TargetKind.RISING:
        text = _("较上期提升") if indicator.direction == Indicator.Direction.UP else _("较上期下降")
        return f"{text}{basis}"
    assert indicator.target_value is not None
    if indicator.unit == "" and indicator.target_value in (0, 1) and indicator.target_operator == "=":
        return f"{_('是') if indicator.target_value == 1 else _('否')}{basis}"
    symbol = indicator.target_operator if english else dict(Indicator.TARGET_OPERATORS)[indicator.target_operator]
    return f"{symbol} {format_value(indicator.target_value)}{indicator.unit}{basis}"
