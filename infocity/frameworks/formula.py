"""The formula language of the indicator framework (指标公式).

Formulas and validation rules are parsed by a Lark LALR grammar into a small tree of dataclasses and
evaluated by walking that tree: nothing is ever handed to Python's ``eval``, and a formula can reach
nothing but the values it is given.

Language:

- numbers ``100``, ``0.5``; ``true`` / ``false``; item and indicator codes ``FBB_USERS``, ``A02``;
- ``+ - * /`` (also ``× ÷ −``), unary minus, parentheses, the usual precedence;
- comparisons ``> >= < <= = !=`` (also ``≥ ≤ ≠ ==``), and ``and``, ``or``, ``not``;
- functions ``min(a, b, …)``, ``max(a, b, …)``, ``abs(x)``, ``if(condition, then, else)`` and
  ``prev(CODE)`` — the value of an item or indicator in the previous comparable period.

Missing values: a missing input gives **no value** (:class:`Missing`, with the reason), never 0, and
every operation on it gives no value; division by zero gives no value with the reason "除数为零".
Numbers are exact fractions, so results do not depend on floating-point rounding.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Union

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

GRAMMAR = r"""
?start: expr

?expr: or_expr
?or_expr: and_expr
        | or_expr _OR and_expr          -> or_
?and_expr: not_expr
         | and_expr _AND not_expr       -> and_
?not_expr: _NOT not_expr                -> not_
         | comparison
?comparison: sum
           | sum COMP_OP sum            -> compare
?sum: product
    | sum _PLUS product                 -> add
    | sum _MINUS product                -> sub
?product: unary
        | product _TIMES unary          -> mul
        | product _DIVIDE unary         -> div
?unary: _MINUS unary                    -> neg
      | atom
?atom: NUMBER                           -> number
     | _TRUE                            -> true
     | _FALSE                           -> false
     | CODE                             -> ref
     | FUNC "(" [expr ("," expr)*] ")"  -> call
     | "(" expr ")"

_OR.2: "or"
_AND.2: "and"
_NOT.2: "not"
_TRUE.2: "true"
_FALSE.2: "false"
_PLUS: "+"
_MINUS: "-" | "−"
_TIMES: "*" | "×"
_DIVIDE: "/" | "÷"
COMP_OP: ">=" | "<=" | "==" | "!=" | ">" | "<" | "=" | "≥" | "≤" | "≠"
NUMBER: /\d+(\.\d+)?/
CODE: /[A-Z][A-Z0-9_]*/
FUNC: /[a-z][a-z_]*/

%ignore /[ \t\r\n\u3000]+/
"""

MAX_LENGTH = 2000
# A lower-case word that is not a keyword and not followed by "(": almost always a code typed in lower case.
_LOWER_WORD = re.compile(r"(?<![A-Za-z0-9_])([a-z][a-z_0-9]*)(?![A-Za-z0-9_])(?!\s*\()")
_KEYWORDS = {"and", "or", "not", "true", "false"}


class FormulaError(ValueError):
    """A formula that cannot be parsed; the message is in Chinese and says where and what to do."""


class Kind(enum.Enum):
    NUMBER = "数值"
    BOOLEAN = "是/否"
    TEXT = "文本"


# --- the tree -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Ref:
    code: str
    previous: bool = False


@dataclass(frozen=True)
class Unary:
    op: str  # "neg" | "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # "+", "-", "*", "/", "and", "or", or a comparison ">", ">=", "<", "<=", "=", "!="
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Union[Num, Bool, Ref, Unary, Binary, Call]  # noqa: UP007 — a runtime alias used in dataclass fields

COMPARISONS = {">": ">", ">=": ">=", "≥": ">=", "<": "<", "<=": "<=", "≤": "<=", "=": "=", "==": "=",
               "!=": "!=", "≠": "!="}  # fmt: skip
FUNCTIONS = {"min", "max", "abs", "if", "prev"}


@v_args(inline=True)
class _ToTree(Transformer[Token, Node]):
    def number(self, token: Token) -> Num:
        return Num(Fraction(Decimal(str(token))))

    def true(self) -> Bool:
        return Bool(True)

    def false(self) -> Bool:
        return Bool(False)

    def ref(self, token: Token) -> Ref:
        return Ref(str(token))

    def neg(self, operand: Node) -> Unary:
        return Unary("neg", operand)

    def not_(self, operand: Node) -> Unary:
        return Unary("not", operand)

    def add(self, left: Node, right: Node) -> Binary:
        return Binary("+", left, right)

    def sub(self, left: Node, right: Node) -> Binary:
        return Binary("-", left, right)

    def mul(self, left: Node, right: Node) -> Binary:
        return Binary("*", left, right)

    def div(self, left: Node, right: Node) -> Binary:
        return Binary("/", left, right)

    def and_(self, left: Node, right: Node) -> Binary:
        return Binary("and", left, right)

    def or_(self, left: Node, right: Node) -> Binary:
        return Binary("or", left, right)

    def compare(self, left: Node, op: Token, right: Node) -> Binary:
        return Binary(COMPARISONS[str(op)], left, right)

    def call(self, name: Token, *args: Node | None) -> Node:
        fn = str(name)
        arguments = tuple(a for a in args if a is not None)
        if fn not in FUNCTIONS:
            raise FormulaError(f"未知的函数“{fn}”。可用的函数：min、max、abs、if、prev。")
        if fn == "prev":
            if len(arguments) != 1 or not isinstance(arguments[0], Ref) or arguments[0].previous:
                raise FormulaError("prev() 只能带一个填报项或指标代码，例如 prev(F04)。")
            return Ref(arguments[0].code, previous=True)
        expected = {"abs": (1, 1), "if": (3, 3), "min": (2, 99), "max": (2, 99)}[fn]
        if not expected[0] <= len(arguments) <= expected[1]:
            wanted = {
                "abs": "1 个",
                "if": "3 个（条件, 成立时的值, 不成立时的值）",
                "min": "至少 2 个",
                "max": "至少 2 个",
            }
            raise FormulaError(f"函数 {fn}() 需要{wanted[fn]}参数，实际给了 {len(arguments)} 个。")
        return Call(fn, arguments)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)


def _describe(error: UnexpectedInput, text: str) -> str:
    column = getattr(error, "column", None)
    where = f"第 {column} 个字符处" if isinstance(column, int) and column > 0 else "公式末尾"
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream is not None else ""
        return f"{where}有无法识别的字符“{char}”。代码须为大写字母开头，如 FBB_USERS。"
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        return "公式不完整：末尾缺少运算数或右括号。"
    if isinstance(error, UnexpectedToken):
        return f"{where}不应出现“{error.token}”，请检查运算符和括号是否配对。"
    return f"{where}语法错误。"


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse a formula or rule into its tree, or raise :class:`FormulaError` with a Chinese message."""
    if not text or not text.strip():
        raise FormulaError("公式为空，请填写公式。")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"公式过长（{len(text)} 个字符），最多 {MAX_LENGTH} 个字符。")
    for match in _LOWER_WORD.finditer(text):
        if match.group(1) not in _KEYWORDS:
            raise FormulaError(
                f"“{match.group(1)}”不是有效的代码：填报项和指标代码须为大写字母（如 FBB_USERS），函数名后须带括号。"
            )
    try:
        tree = _parser().parse(text)
        result = _ToTree().transform(tree)
    except FormulaError:
        raise
    except UnexpectedInput as error:
        raise FormulaError(_describe(error, text)) from None
    except LarkError as error:
        # A FormulaError raised inside the transformer arrives wrapped in VisitError.
        original = getattr(error, "orig_exc", None)
        if isinstance(original, FormulaError):
            raise original from None
        raise FormulaError("公式无法解析，请检查语法。") from None
    except RecursionError:
        raise FormulaError("公式嵌套过深，请简化公式。") from None
    assert isinstance(result, Num | Bool | Ref | Unary | Binary | Call)
    return result


def references(node: Node) -> set[tuple[str, bool]]:
    """Every (code, previous-period?) the formula reads."""
    if isinstance(node, Ref):
        return {(node.code, node.previous)}
    if isinstance(node, Unary):
        return references(node.operand)
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, Call):
        found: set[tuple[str, bool]] = set()
        for arg in node.args:
            found |= references(arg)
        return found
    return set()


# --- type checking --------------------------------------------------------------------------------


def check(node: Node, kinds: Mapping[str, Kind | None], problems: list[str]) -> Kind | None:
    """The kind of the formula's result, appending a Chinese description of every problem found.

    ``kinds`` maps every known code to its kind (None: known, but its kind could not be determined
    because of a problem reported elsewhere). Returns None when the kind cannot be known.
    """
    if isinstance(node, Num):
        return Kind.NUMBER
    if isinstance(node, Bool):
        return Kind.BOOLEAN
    if isinstance(node, Ref):
        if node.code not in kinds:
            problems.append(f"未知的代码“{node.code}”：既不是本版本的填报项，也不是指标。")
            return None
        return kinds[node.code]
    if isinstance(node, Unary):
        inner = check(node.operand, kinds, problems)
        wanted = Kind.NUMBER if node.op == "neg" else Kind.BOOLEAN
        if inner is not None and inner != wanted:
            sign = "负号" if node.op == "neg" else "not"
            problems.append(f"{sign} 只能用于{wanted.value}，而此处是{inner.value}。")
        return wanted
    if isinstance(node, Binary):
        left = check(node.left, kinds, problems)
        right = check(node.right, kinds, problems)
        if node.op in {"and", "or"}:
            for side in (left, right):
                if side is not None and side != Kind.BOOLEAN:
                    problems.append(f"{node.op} 两边须为是/否条件，而此处是{side.value}。")
            return Kind.BOOLEAN
        if node.op in {"=", "!="}:
            if left is not None and right is not None and left != right:
                problems.append(f"不能比较{left.value}和{right.value}。")
            return Kind.BOOLEAN
        for side in (left, right):
            if side is not None and side != Kind.NUMBER:
                problems.append(f"运算“{node.op}”两边须为数值，而此处是{side.value}。")
        return Kind.BOOLEAN if node.op in COMPARISONS.values() else Kind.NUMBER
    assert isinstance(node, Call)
    kinds_of_args = [check(arg, kinds, problems) for arg in node.args]
    if node.name == "if":
        condition, then, otherwise = kinds_of_args
        if condition is not None and condition != Kind.BOOLEAN:
            problems.append(f"if() 的第一个参数须为是/否条件，而此处是{condition.value}。")
        if then is not None and otherwise is not None and then != otherwise:
            problems.append(f"if() 两个分支的类型须相同，而此处是{then.value}和{otherwise.value}。")
        return then or otherwise
    for kind in kinds_of_args:
        if kind is not None and kind != Kind.NUMBER:
            problems.append(f"{node.name}() 的参数须为数值，而此处是{kind.value}。")
    return Kind.NUMBER


# --- evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """No value, and why."""

    reason: str

    def __bool__(self) -> bool:
        return False


Value = Fraction | bool | str
Result = Union[Fraction, bool, str, Missing]  # noqa: UP007
# What evaluation reads: a value, None (not reported), or an earlier result that had no value.
Input = Union[Fraction, bool, str, Missing, None]  # noqa: UP007


def to_fraction(value: object) -> Value | None:
    """Turn a stored value (int, Decimal, str, bool, None) into what the evaluator works with."""
    if value is None or isinstance(value, bool | Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, str):
        try:
            return Fraction(Decimal(value))
        except (InvalidOperation, ValueError):
            return value
    raise TypeError(f"unsupported value {value!r}")


def evaluate(
    node: Node,
    values: Mapping[str, Input],
    previous: Mapping[str, Input] | None = None,
    names: Mapping[str, str] | None = None,
) -> Result:
    """Evaluate ``node``. ``values`` maps codes to this period's values (None = not reported),
    ``previous`` the previous comparable period's, ``names`` codes to names for the reasons."""
    previous = previous or {}
    names = names or {}

    def label(code: str) -> str:
        return f"{names[code]}（{code}）" if code in names else code

    def ev(n: Node) -> Result:
        if isinstance(n, Num | Bool):
            return n.value
        if isinstance(n, Ref):
            source = previous if n.previous else values
            value = source.get(n.code)
            if value is None or isinstance(value, Missing):
                if isinstance(value, Missing):
                    return value
                period = "上期" if n.previous else "本期"
                return Missing(f"{period}{label(n.code)}无数据")
            return value
        if isinstance(n, Unary):
            inner = ev(n.operand)
            if isinstance(inner, Missing):
                return inner
            if n.op == "not":
                return not inner
            assert isinstance(inner, Fraction)
            return -inner
        if isinstance(n, Binary):
            left = ev(n.left)
            if isinstance(left, Missing):
                return left
            right = ev(n.right)
            if isinstance(right, Missing):
                return right
            return _binary(n.op, left, right)
        assert isinstance(n, Call)
        if n.name == "if":
            condition = ev(n.args[0])
            if isinstance(condition, Missing):
                return condition
            return ev(n.args[1] if condition else n.args[2])
        args = [ev(a) for a in n.args]
        for arg in args:
            if isinstance(arg, Missing):
                return arg
        numbers = [a for a in args if isinstance(a, Fraction)]
        assert len(numbers) == len(args), "type checking admits numbers only"
        if n.name == "abs":
            return abs(numbers[0])
        return min(numbers) if n.name == "min" else max(numbers)

    return ev(node)


def _binary(op: str, left: Value, right: Value) -> Result:
    if op == "and":
        return bool(left) and bool(right)
    if op == "or":
        return bool(left) or bool(right)
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    a, b = left, right
    assert isinstance(a, Fraction) and isinstance(b, Fraction), (left, right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return Missing("除数为零")
        return a / b
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def to_decimal(value: Fraction, places: int = 6) -> Decimal:
    """Round an exact result for storage and display (half away from zero, as in statistics)."""
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding="ROUND_HALF_UP")


# --- in words -------------------------------------------------------------------------------------

_PRECEDENCE = {"or": 1, "and": 2, ">": 4, ">=": 4, "<": 4, "<=": 4, "=": 4, "!=": 4, "+": 5, "-": 5,
               "*": 6, "/": 6}  # fmt: skip
_WORDS = {"+": "＋", "-": "－", "*": "×", "/": "÷", ">": "＞", ">=": "≥", "<": "＜", "<=": "≤", "=": "＝",
          "!=": "≠", "and": "并且", "or": "或者"}  # fmt: skip


def in_words(node: Node, names: Mapping[str, str]) -> str:
    """The formula with codes replaced by names, e.g. "20M以上宽带用户数 ÷ 固定宽带用户数 × 100"."""

    def w(n: Node, parent: int = 0) -> str:
        if isinstance(n, Num):
            return format(to_decimal(n.value, 6).normalize(), "f")
        if isinstance(n, Bool):
            return "是" if n.value else "否"
        if isinstance(n, Ref):
            name = names.get(n.code, n.code)
            return f"上期{name}" if n.previous else name
        if isinstance(n, Unary):
            return f"－{w(n.operand, 7)}" if n.op == "neg" else f"并非（{w(n.operand)}）"
        if isinstance(n, Binary):
            p = _PRECEDENCE[n.op]
            # Right operands of - and / keep their parentheses at equal precedence.
            text = f"{w(n.left, p)} {_WORDS[n.op]} {w(n.right, p + (1 if n.op in {'-', '/'} else 0))}"
            return f"（{text}）" if p < parent else text
        args = "，".join(w(a) for a in n.args)
        label = {"min": "较小值", "max": "较大值", "abs": "绝对值", "if": "如果"}[n.name]
        return f"{label}（{args}）"

    return w(node)
