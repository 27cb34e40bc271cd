"""Safe arithmetic: parsed with ``ast`` and evaluated over exact fractions — no eval, no names, no attributes.

Bounded: at most 500 characters and 200 syntax nodes, exponents within ±1000, intermediate results under 10^400,
so ``9**9**9`` is refused at once instead of exhausting the machine."""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal
from fractions import Fraction

from bot.core.errors import ToolDenied, ToolFailed

MAX_CHARS, MAX_NODES, MAX_EXPONENT = 500, 200, 1000
MAX_MAGNITUDE = Fraction(10) ** 400
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_FUNCS = {"sqrt", "round", "abs", "min", "max"}
_PERCENT_OF = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:%|percent)\s*(?:of|de)\s*(\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_EXPR = re.compile(r"[\d(][\d\s.,+\-*/%^()x×÷]*[\d)]|\d")
_WORDS = (("multiplied by", "*"), ("divided by", "/"), ("times", "*"), ("plus", "+"), ("minus", "-"),
          ("×", "*"), ("÷", "/"), ("^", "**"))


def extract_expression(goal: str) -> str | None:
    """The arithmetic in a natural sentence: "what is 17.5% of 2,340?" → "17.5/100*2340"."""
    text = goal.lower()
    text = _PERCENT_OF.sub(lambda m: f"({m.group(1).replace(',', '')}/100*{m.group(2).replace(',', '')})", text)
    for word, op in _WORDS:
        text = text.replace(word, op)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    candidates = [m.group(0).strip() for m in _EXPR.finditer(text.replace("**", "^"))]
    best = max(candidates, key=len, default="")
    best = best.replace("^", "**")
    return best if best and any(op in best for op in "+-*/()") else None


def calculate(expression: str) -> Fraction:
    if len(expression) > MAX_CHARS:
        raise ToolDenied(f"the expression is longer than {MAX_CHARS} characters")
    try:
        tree = ast.parse(_THOUSANDS.sub("", expression.replace("^", "**")), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise ToolDenied("that is not an arithmetic expression") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolDenied("the expression is too complex")
    return _eval(tree.body)


def _bounded(value: Fraction) -> Fraction:
    if abs(value) > MAX_MAGNITUDE:
        raise ToolDenied("the result is too large")
    return value


def _eval(node: ast.expr) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _bounded(Fraction(Decimal(str(node.value))))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _eval(node.operand)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _eval(node.left), _eval(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _call(node.func.id, [_eval(a) for a in node.args])
    raise ToolDenied(f"only numbers, + - * / // % ** and {', '.join(sorted(_FUNCS))} are allowed")


def _binary(op: ast.operator, a: Fraction, b: Fraction) -> Fraction:
    if isinstance(op, ast.Add):
        return _bounded(a + b)
    if isinstance(op, ast.Sub):
        return _bounded(a - b)
    if isinstance(op, ast.Mult):
        return _bounded(a * b)
    if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)):
        if b == 0:
            raise ToolFailed("division by zero")
        if isinstance(op, ast.Div):
            return _bounded(a / b)
        return Fraction(a // b) if isinstance(op, ast.FloorDiv) else _bounded(a % b)
    if isinstance(op, ast.Pow):
        return _power(a, b)
    raise ToolDenied("that operator is not allowed")


def _power(a: Fraction, b: Fraction) -> Fraction:
    if b.denominator != 1 or abs(b) > MAX_EXPONENT:
        raise ToolDenied(f"exponents must be whole numbers within ±{MAX_EXPONENT}")
    if a == 0 and b < 0:
        raise ToolFailed("division by zero")
    if abs(a) > 1 and abs(b) * math.log10(float(abs(a))) > 400:
        raise ToolDenied("the result is too large")
    return _bounded(a ** int(b))


def _call(name: str, args: list[Fraction]) -> Fraction:
    if not args or (name in {"sqrt", "abs"} and len(args) != 1) or (name == "round" and len(args) > 2):
        raise ToolDenied(f"{name} takes {'one argument' if name in {'sqrt', 'abs'} else 'more arguments'}")
    if name == "sqrt":
        if args[0] < 0:
            raise ToolFailed("square root of a negative number")
        return Fraction(Decimal(float(args[0])).sqrt())
    if name == "abs":
        return abs(args[0])
    if name == "round":
        digits = int(args[1]) if len(args) == 2 else 0
        return Fraction(round(args[0], digits))
    return min(args) if name == "min" else max(args)


def format_number(value: Fraction) -> str:
    if value.denominator == 1:
        return f"{value.numerator:,}"
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):,.10f}".rstrip("0").rstrip(".")
    return text
