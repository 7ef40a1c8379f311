"""The formula language: precedence, missing values, division by zero, and safety whatever the input."""

from __future__ import annotations

import builtins
from fractions import Fraction
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infocity.frameworks.formula import (
    Binary,
    FormulaError,
    Kind,
    Missing,
    Node,
    Num,
    Ref,
    Unary,
    check,
    evaluate,
    in_words,
    parse,
    references,
)

F = Fraction


# --- hand-written cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", F(7)),
        ("(1 + 2) * 3", F(9)),
        ("10 - 4 - 3", F(3)),
        ("100 / 10 / 5", F(2)),
        ("-2 * 3", F(-6)),
        ("- -2", F(2)),
        ("2 × 3 ÷ 4 − 1", F(1, 2)),
        ("1 + 2 > 2 and 3 <= 3", True),
        ("not 1 > 2 or false", True),
        ("1 ≥ 1 and 2 ≠ 3", True),
        ("if(2 > 1, 10, 20)", F(10)),
        ("min(3, 1, 2) + max(3, 1, 2) + abs(-4)", F(8)),
        ("0.1 + 0.2 = 0.3", True),
    ],
)
def test_arithmetic(text: str, expected: object) -> None:
    assert evaluate(parse(text), {}) == expected


def test_a02_hand_computed() -> None:
    result = evaluate(parse("FBB_20M_USERS / FBB_USERS * 100"), {"FBB_20M_USERS": F(6200), "FBB_USERS": F(10000)})
    assert result == F(62)


def test_growth_rate_reads_the_previous_period() -> None:
    tree = parse("(F04 / prev(F04) - 1) * 100")
    assert evaluate(tree, {"F04": F(1200)}, {"F04": F(1000)}) == F(20)
    missing = evaluate(tree, {"F04": F(1200)}, {}, {"F04": "信息消费规模"})
    assert isinstance(missing, Missing)
    assert missing.reason == "上期信息消费规模（F04）无数据"


def test_missing_part_gives_no_value_never_zero() -> None:
    result = evaluate(parse("A + B"), {"A": F(5)}, names={"B": "乙"})
    assert result == Missing("本期乙（B）无数据")
    # min/max do not quietly skip a missing argument either.
    assert isinstance(evaluate(parse("max(A, B)"), {"A": F(5)}), Missing)
    assert isinstance(evaluate(parse("if(B > 1, 1, 2)"), {"A": F(5)}), Missing)


def test_division_by_zero_gives_no_value_with_the_reason() -> None:
    assert evaluate(parse("A / (B - B)"), {"A": F(1), "B": F(3)}) == Missing("除数为零")


def test_if_evaluates_only_the_chosen_branch() -> None:
    assert evaluate(parse("if(B > 0, A / B, 0)"), {"A": F(1), "B": F(0)}) == F(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "公式为空"),
        ("A +", "公式不完整"),
        ("(A", "公式不完整"),
        ("A ) B", "第 3 个字符处不应出现“)”"),
        ("fbb_users / 2", "“fbb_users”不是有效的代码"),
        ("a_lower(1)", "未知的函数“a_lower”"),
        ("__import__('os')", "不是有效的代码"),
        ("__import__", "无法识别的字符“_”"),
        ("A.__class__", "无法识别的字符"),
        ("eval(1)", "未知的函数“eval”"),
        ("prev(A + B)", "prev() 只能带一个"),
        ("if(1, 2)", "需要3 个"),
        ("min(1)", "至少 2 个"),
        ("1" * 2001, "公式过长"),
    ],
)
def test_parse_errors_are_chinese_and_specific(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_type_checking_reports_every_problem() -> None:
    problems: list[str] = []
    kinds = {"N": Kind.NUMBER, "B": Kind.BOOLEAN, "T": Kind.TEXT}
    check(parse("N + B > T and N and UNKNOWN"), kinds, problems)
    assert len(problems) == 4
    assert any("未知的代码“UNKNOWN”" in p for p in problems)
    assert any("两边须为数值" in p for p in problems)


def test_in_words_uses_names_and_keeps_needed_parentheses() -> None:
    names = {"A": "智能表数", "B": "表具总数"}
    assert in_words(parse("A / B * 100"), names) == "智能表数 ÷ 表具总数 × 100"
    assert in_words(parse("(A - B) / (A + B)"), names) == "（智能表数 － 表具总数） ÷ （智能表数 ＋ 表具总数）"
    assert in_words(parse("A - (B - 1)"), names) == "智能表数 － （表具总数 － 1）"


# --- properties -----------------------------------------------------------------------------------

codes = st.sampled_from(["A", "B", "C", "FBB_USERS"])
numbers = st.fractions(min_value=-1000, max_value=1000, max_denominator=50)
PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def trees(leaves: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), children, children),
            st.builds(Unary, st.just("neg"), children),
        ),
        max_leaves=12,
    )


def render(node: Node, parent: int = 0, right: bool = False) -> str:
    """Print with the fewest parentheses that standard precedence allows."""
    if isinstance(node, Num):
        text = (
            str(node.value.numerator)
            if node.value.denominator == 1
            else f"{node.value.numerator} / {node.value.denominator}"
        )
        needs = node.value.denominator != 1 or node.value < 0
        return f"({text})" if needs else text
    if isinstance(node, Ref):
        return node.code
    if isinstance(node, Unary):
        return f"(-{render(node.operand, 3)})"
    assert isinstance(node, Binary)
    p = PREC[node.op]
    text = f"{render(node.left, p)} {node.op} {render(node.right, p, right=True)}"
    return f"({text})" if p < parent or (right and p == parent) else text


def reference(node: Node, values: dict[str, Fraction]) -> Fraction | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return values.get(node.code)
    if isinstance(node, Unary):
        inner = reference(node.operand, values)
        return None if inner is None else -inner
    assert isinstance(node, Binary)
    left, right = reference(node.left, values), reference(node.right, values)
    if left is None or right is None:
        return None
    if node.op == "/":
        return None if right == 0 else left / right
    return {"+": left + right, "-": left - right, "*": left * right}[node.op]


leaves = st.one_of(st.builds(Num, numbers.map(lambda f: abs(f))), st.builds(Ref, codes))


@settings(max_examples=300, deadline=None)
@given(tree=trees(leaves), values=st.dictionaries(codes, numbers, max_size=4))
def test_precedence_and_missing_values_match_the_reference(tree: Node, values: dict[str, Fraction]) -> None:
    text = render(tree)
    result = evaluate(parse(text), values)
    expected = reference(tree, values)
    if expected is None:
        # A missing input or a division by zero: no value, never a number (in particular never 0).
        assert isinstance(result, Missing)
    else:
        assert result == expected


@settings(max_examples=300, deadline=None)
@given(tree=trees(leaves), values=st.dictionaries(codes, numbers, max_size=4), missing=codes)
def test_any_missing_input_the_formula_reads_gives_no_value(
    tree: Node, values: dict[str, Fraction], missing: str
) -> None:
    parsed = parse(render(tree))
    values.pop(missing, None)
    if ("A", False) in {(c, p) for c, p in _refs(parsed)} and "A" not in values:
        assert isinstance(evaluate(parsed, values), Missing)


def _refs(node: Node) -> set[tuple[str, bool]]:
    return references(node)


def _trap(*args: object, **kwargs: object) -> None:
    raise AssertionError("the formula engine called a forbidden builtin")


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80) | st.sampled_from(["__import__('os').system('id')", "A.__class__", "().__class__"]))
def test_arbitrary_text_never_reaches_python(text: str) -> None:
    """Whatever the input, parsing and evaluating never calls eval, exec or compile, and gives either a
    formula error or a plain value: there is no path to Python objects, attributes or builtins."""
    parse.cache_clear()
    with (
        mock.patch.object(builtins, "eval", _trap),
        mock.patch.object(builtins, "exec", _trap),
        mock.patch.object(builtins, "compile", _trap),
    ):
        try:
            tree = parse(text)
        except FormulaError:
            return
        result = evaluate(tree, {"A": F(1), "B": F(2)})
    assert isinstance(result, Fraction | bool | str | Missing)


@settings(max_examples=200, deadline=None)
@given(
    text=st.from_regex(r"[A-Z_a-z0-9 ().,+\-*/<>=!]{1,40}", fullmatch=True),
)
def test_formula_like_text_parses_or_fails_with_a_formula_error(text: str) -> None:
    try:
        parse(text)
    except FormulaError as error:
        assert str(error)
