"""What an expression can evaluate to, found before any run: interval arithmetic.

A probability that reaches 1.5 only in some replications would stop a long run partway.
When every name an expression reads is bounded (an on/off lever, a lever with a range, a
parameter whose distribution has finite support, a state variable with ``min``/``max``,
the rung, the day), :func:`expr_range` computes an interval that surely contains every
value the expression can take. If that interval leaves the allowed one ([0, 1] for a
probability, [0, inf) for a rate or a weight), the loader says so at load time, with the
range and how to fix it. Interval arithmetic may overestimate (``x * (1 - x)`` with x in
[0, 1] gives [0, 1], not [0, 0.25]), so it checks only where the range is finite, and the
fix it suggests (``min(1, ...)``) is always harmless. Unbounded expressions are left to
the run-time check.

Pure: no printing, no files.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from .expr import Expr
from .model import Model

INF = math.inf
Range = tuple[float, float]
UNKNOWN: Range = (-INF, INF)
TRUTH: Range = (0.0, 1.0)  # a condition that may be either


def _mul(a: Range, b: Range) -> Range:
    products = []
    for x in a:
        for y in b:
            p = x * y
            products.append(0.0 if math.isnan(p) else p)  # 0 * inf: the 0 is exact
    return min(products), max(products)


def _div(a: Range, b: Range) -> Range:
    if b[0] <= 0 <= b[1]:
        return UNKNOWN
    return _mul(a, (1 / b[1], 1 / b[0]))


def _monotone(f: Callable[[float], float], r: Range) -> Range:
    try:
        return f(r[0]), f(r[1])
    except (ValueError, OverflowError):
        return UNKNOWN


def _safe(f: Callable[[float], float]) -> Callable[[float], float]:
    def g(x: float) -> float:
        return INF if x == INF else -INF if x == -INF else f(x)
    return g


def _call(name: str, args: list[Range]) -> Range:
    if name == "min":
        return min(a[0] for a in args), min(a[1] for a in args)
    if name == "max":
        return max(a[0] for a in args), max(a[1] for a in args)
    if name == "clip" and len(args) == 3:
        x, floor, ceiling = args
        return (max(min(x[0], ceiling[1]), floor[0]),
                min(max(x[1], floor[0]), ceiling[1]))
    if name == "abs":
        lo, hi = args[0]
        if lo >= 0:
            return lo, hi
        if hi <= 0:
            return -hi, -lo
        return 0.0, max(-lo, hi)
    if name == "exp":
        return _monotone(lambda x: math.exp(min(x, 700.0)) if x > -INF else 0.0, args[0])
    if name == "logistic":
        return _monotone(lambda x: 1 / (1 + math.exp(-min(max(x, -700), 700))), args[0])
    if name in ("log", "sqrt") and args[0][0] > 0:
        return _monotone(_safe(math.log if name == "log" else math.sqrt), args[0])
    return UNKNOWN


def _constant(node: ast.Constant, names: Mapping[str, Range]) -> Range:
    if isinstance(node.value, (bool, int, float)):
        v = float(node.value)
        return v, v
    return UNKNOWN


def _name(node: ast.Name, names: Mapping[str, Range]) -> Range:
    return names.get(node.id, UNKNOWN)


def _unary(node: ast.UnaryOp, names: Mapping[str, Range]) -> Range:
    r = _range(node.operand, names)
    if isinstance(node.op, ast.USub):
        return -r[1], -r[0]
    if isinstance(node.op, ast.Not):
        return 1 - r[1], 1 - r[0]
    return r


_BINARY: dict[type[ast.operator], Callable[[Range, Range], Range]] = {
    ast.Add: lambda a, b: (a[0] + b[0], a[1] + b[1]),
    ast.Sub: lambda a, b: (a[0] - b[1], a[1] - b[0]),
    ast.Mult: _mul,
    ast.Div: _div,
}


def _binary(node: ast.BinOp, names: Mapping[str, Range]) -> Range:
    a, b = _range(node.left, names), _range(node.right, names)
    op = _BINARY.get(type(node.op))
    return UNKNOWN if op is None else op(a, b)


def _if(node: ast.IfExp, names: Mapping[str, Range]) -> Range:
    test = _range(node.test, names)
    if test == (1.0, 1.0):
        return _range(node.body, names)
    if test == (0.0, 0.0):
        return _range(node.orelse, names)
    body, orelse = _range(node.body, names), _range(node.orelse, names)
    return min(body[0], orelse[0]), max(body[1], orelse[1])


def _bool(node: ast.BoolOp, names: Mapping[str, Range]) -> Range:
    parts = [_range(v, names) for v in node.values]
    if isinstance(node.op, ast.And):
        return min(p[0] for p in parts), min(p[1] for p in parts)
    return max(p[0] for p in parts), max(p[1] for p in parts)


def _function(node: ast.Call, names: Mapping[str, Range]) -> Range:
    if not isinstance(node.func, ast.Name):
        return UNKNOWN
    args = [_range(a, names) for a in node.args]
    if node.func.id == "__pow__" and len(args) == 2:
        return _power(*args)
    return _call(node.func.id, args)


def _compare(node: ast.Compare, names: Mapping[str, Range]) -> Range:
    return TRUTH


# One handler per kind of node the expression language compiles to; any other is unbounded.
_RANGES: dict[type[ast.AST], Callable[[Any, Mapping[str, Range]], Range]] = {
    ast.Constant: _constant, ast.Name: _name, ast.UnaryOp: _unary, ast.BinOp: _binary,
    ast.IfExp: _if, ast.BoolOp: _bool, ast.Call: _function, ast.Compare: _compare,
}


def _range(node: ast.AST, names: Mapping[str, Range]) -> Range:
    handler = _RANGES.get(type(node))
    return UNKNOWN if handler is None else handler(node, names)


def _power(base: Range, exponent: Range) -> Range:
    if exponent[0] != exponent[1] or base[0] < 0:
        return UNKNOWN
    k = exponent[0]
    ends = []
    for b in base:
        try:
            ends.append(b ** k if b != 0 or k >= 0 else INF)
        except (OverflowError, ZeroDivisionError):
            ends.append(INF)
    return min(ends), max(ends)


def expr_range(expr: Expr, names: Mapping[str, Range]) -> Range:
    """An interval containing every value ``expr`` can take when each name stays in its
    range (names not given are unbounded)."""
    if expr.const is not None:
        v = float(expr.const)
        return v, v
    return _range(ast.parse(expr.python, mode="eval").body, names)


def name_ranges(model: Model) -> dict[str, Range]:
    """The range of every name an expression can read, as far as the scenario bounds it."""
    out: dict[str, Range] = {"rung": (0.0, len(model.rungs) - 1.0),
                             "peak": (0.0, len(model.rungs) - 1.0),
                             "day": (0.0, float(model.horizon))}
    for lever in model.levers:
        if lever.is_bool or lever.is_choice:
            out[lever.id] = (float(lever.number), float(lever.number))
        elif lever.low is not None and lever.high is not None:
            out[lever.id] = (lever.low, lever.high)
        else:
            out[lever.id] = (float(lever.value), float(lever.value))
    for p in model.parameters:
        try:
            out[p.id] = (float(p.dist.ppf(0.0)), float(p.dist.ppf(1.0)))
        except (ValueError, ZeroDivisionError, OverflowError):
            out[p.id] = UNKNOWN
    for s in model.state:
        out[s.id] = (-INF if s.low is None else s.low, INF if s.high is None else s.high)
    return out


class OutOfRange(NamedTuple):
    """An expression whose every possible value is known and some of it is not allowed."""

    path: str  # YAML path, e.g. rules.red_answers.probability (schedule.<id>.probability)
    text: str
    low: float
    high: float
    allowed: Range
    reads: tuple[tuple[str, Range], ...]


def _checked(model: Model) -> Iterator[tuple[str, Expr | None, Range]]:
    for rule in model.rules:
        yield f"rules.{rule.id}.probability", rule.probability, (0.0, 1.0)
        for a, w in zip(rule.choice.actions, rule.choice.weights, strict=False):
            yield f"rules.{rule.id}.choose.{model.actions[a].id}", w, (0.0, INF)
    for item in model.schedule:  # the loader turns the id into the entry's position
        yield f"schedule.{item.id}.probability", item.probability, (0.0, 1.0)
    for process in model.processes:
        yield f"processes.{process.id}.rate", process.rate, (0.0, INF)
        for a, w in zip(process.choice.actions, process.choice.weights, strict=False):
            yield f"processes.{process.id}.choose.{model.actions[a].id}", w, (0.0, INF)


def out_of_range(model: Model) -> list[OutOfRange]:
    """Probabilities, rates and weights that can leave their allowed range, found from the
    ranges of the names they read (only where the offending side is finite)."""
    names = name_ranges(model)
    found = []
    for path, expr, allowed in _checked(model):
        if expr is None or expr.const is not None:
            continue  # constants are checked where they are read
        low, high = expr_range(expr, names)
        over = math.isfinite(high) and high > allowed[1] + 1e-12
        under = math.isfinite(low) and low < allowed[0] - 1e-12
        if over or under:
            reads = tuple((n, names.get(n, UNKNOWN)) for n in sorted(expr.names))
            found.append(OutOfRange(path, expr.text, low, high, allowed, reads))
    return found


def message(problem: OutOfRange) -> str:
    """The author-facing message: the range, what makes it, and how to fix it."""
    lo, hi = problem.allowed
    what = "a probability" if hi == 1.0 else "a rate or weight"
    reads = ", ".join(f"{n} in [{a:g}, {b:g}]" for n, (a, b) in problem.reads
                      if math.isfinite(a) and math.isfinite(b))
    fix = ("wrap it as min(1, ...) (and max(0, ...) if it can go negative)" if hi == 1.0
           else "wrap it as max(0, ...)")
    return (f"can be as low as {problem.low:g} and as high as {problem.high:g}"
            + (f" (with {reads})" if reads else "")
            + f", but {what} must stay in [{lo:g}, {hi:g}]: {fix}, or change the numbers "
            "or bounds it reads")
