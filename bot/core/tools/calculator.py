"""Safe arithmetic: parsed with ``ast`` and evaluated over exact fractions — no eval, no names, no attributes.

Every step is bounded before it is computed, so no input can make it slow: at most 500 characters and 200 syntax
nodes; every intermediate value's numerator and denominator under ``MAX_BITS`` bits (about 420 digits); a power
is refused when exponent × operand size would exceed that, whatever the base (``(1+10**-399)**1000`` included);
``round`` takes at most ``MAX_ROUND_DIGITS`` digits; ``sqrt`` works at a fixed precision; formatting prints at
most ``MAX_FRACTION_DIGITS`` decimals. The tool still runs off the event loop with a time limit (see ``Compute``).
"""

from __future__ import annotations

import ast
import math
import re
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction

from bot.core import text
from bot.core.errors import ToolDenied, ToolFailed

MAX_CHARS, MAX_NODES, MAX_EXPONENT = 500, 200, 1000
MAX_BITS = 1400
MAX_ROUND_DIGITS = 100
MAX_FRACTION_DIGITS = 10
SQRT_DIGITS = 30
MAX_GOAL_SCAN = 1000
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_FUNCS = {"sqrt", "round", "abs", "min", "max"}
_PERCENT_OF = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:%|percent)\s*(?:of|de)\s*(\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_FUNC_NAME = r"\b(?:sqrt|round|abs|min|max)\b"
_EXPR = re.compile(rf"(?:(?<![\w)])-)?(?:{_FUNC_NAME}\s*)?[\d(](?:[\d\s.,+\-*/%^()]|{_FUNC_NAME})*[\d)]|\d")
_TIMES_X = re.compile(r"(?<=\d)\s*[x×]\s*(?=\d)")
_WORDS = (("multiplied by", "*"), ("divided by", "/"), ("times", "*"), ("plus", "+"), ("minus", "-"),
          ("×", "*"), ("÷", "/"), ("^", "**"))


def extract_expression(goal: str) -> str | None:
    """The arithmetic in a natural sentence: "what is 17.5% of 2,340?" → "17.5/100*2340"."""
    source = goal[:MAX_GOAL_SCAN].lower()
    source = _PERCENT_OF.sub(lambda m: f"({m.group(1).replace(',', '')}/100*{m.group(2).replace(',', '')})", source)
    source = _TIMES_X.sub("*", source)
    for word, op in _WORDS:
        source = source.replace(word, op)
    source = re.sub(r"(?<=\d),(?=\d{3}\b)", "", source)
    candidates = [m.group(0).strip() for m in _EXPR.finditer(source.replace("**", "^"))]
    best = max(candidates, key=len, default="")
    best = best.replace("^", "**")
    return best if best and any(op in best for op in "+-*/()") else None


def calculate(expression: str) -> Fraction:
    """The exact value of ``expression``; raises only ToolDenied (refused input) or ToolFailed (e.g. 1/0)."""
    if len(expression) > MAX_CHARS:
        raise ToolDenied(text.calc_too_long(MAX_CHARS))
    try:
        tree = ast.parse(_THOUSANDS.sub("", expression.replace("^", "**")), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise ToolDenied(text.CALC_NOT_ARITHMETIC) from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolDenied(text.CALC_TOO_COMPLEX)
    return _eval(tree.body)


def _bits(value: Fraction) -> int:
    return max(value.numerator.bit_length(), value.denominator.bit_length())


def _bounded(value: Fraction) -> Fraction:
    if _bits(value) > MAX_BITS:
        raise ToolDenied(text.CALC_TOO_LARGE)
    return value


def _constant(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolDenied(text.calc_allowed(sorted(_FUNCS)))
    if isinstance(value, int):
        if value.bit_length() > MAX_BITS:
            raise ToolDenied(text.CALC_TOO_LARGE)
        return Fraction(value)
    if not math.isfinite(value):
        raise ToolDenied(text.CALC_TOO_LARGE)
    return _bounded(Fraction(Decimal(repr(value))))


def _eval(node: ast.expr) -> Fraction:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _eval(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _eval(node.left), _eval(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _call(node.func.id, [_eval(a) for a in node.args])
    raise ToolDenied(text.calc_allowed(sorted(_FUNCS)))


def _binary(op: ast.operator, a: Fraction, b: Fraction) -> Fraction:
    if isinstance(op, ast.Add):
        return _bounded(a + b)
    if isinstance(op, ast.Sub):
        return _bounded(a - b)
    if isinstance(op, ast.Mult):
        return _bounded(a * b)
    if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
        if b == 0:
            raise ToolFailed(text.CALC_DIVISION_BY_ZERO)
        if isinstance(op, ast.Div):
            return _bounded(a / b)
        return _bounded(Fraction(a // b)) if isinstance(op, ast.FloorDiv) else _bounded(a % b)
    if isinstance(op, ast.Pow):
        return _power(a, b)
    raise ToolDenied(text.calc_allowed(sorted(_FUNCS)))


def _power(a: Fraction, b: Fraction) -> Fraction:
    """``a ** b`` for a whole ``b``. The result's size is at least ``|b| × (bits(a) - 1)`` bits, so anything above
    the bound is refused before computing; what is computed is at most about twice the bound."""
    if b.denominator != 1 or abs(b) > MAX_EXPONENT:
        raise ToolDenied(text.calc_exponent(MAX_EXPONENT))
    if a == 0 and b < 0:
        raise ToolFailed(text.CALC_DIVISION_BY_ZERO)
    if abs(b.numerator) * (_bits(a) - 1) > MAX_BITS:
        raise ToolDenied(text.CALC_TOO_LARGE)
    return _bounded(a ** b.numerator)


def _call(name: str, args: list[Fraction]) -> Fraction:
    if not args or (name in {"sqrt", "abs"} and len(args) != 1) or (name == "round" and len(args) > 2):
        raise ToolDenied(text.calc_arguments(name))
    if name == "sqrt":
        return _sqrt(args[0])
    if name == "abs":
        return abs(args[0])
    if name == "round":
        return _round(args)
    return min(args) if name == "min" else max(args)


def _round(args: list[Fraction]) -> Fraction:
    digits = args[1] if len(args) == 2 else Fraction(0)
    if digits.denominator != 1 or abs(digits) > MAX_ROUND_DIGITS:
        raise ToolDenied(text.calc_round_digits(MAX_ROUND_DIGITS))
    return _bounded(Fraction(round(args[0], int(digits))))


def _sqrt(value: Fraction) -> Fraction:
    """Exact for perfect squares (``sqrt(16/9) = 4/3``), else ``SQRT_DIGITS`` significant digits."""
    if value < 0:
        raise ToolFailed(text.CALC_NEGATIVE_SQRT)
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    ctx = Context(prec=SQRT_DIGITS)
    try:
        root = ctx.sqrt(ctx.divide(Decimal(value.numerator), Decimal(value.denominator)))
    except (InvalidOperation, OverflowError) as exc:
        raise ToolDenied(text.CALC_TOO_LARGE) from exc
    return _bounded(Fraction(root))


def format_number(value: Fraction) -> str:
    """``1,356``, ``208.3333333333`` (at most ``MAX_FRACTION_DIGITS`` decimals, rounded half to even)."""
    _bounded(value)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    scaled = round(abs(value) * 10**MAX_FRACTION_DIGITS)
    whole, fraction = divmod(scaled, 10**MAX_FRACTION_DIGITS)
    sign = "-" if value < 0 and scaled else ""
    decimals = f"{fraction:0{MAX_FRACTION_DIGITS}d}".rstrip("0")
    return f"{sign}{whole:,}" + (f".{decimals}" if decimals else "")
