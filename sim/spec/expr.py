"""The scenario expression language: a small, safe, typed subset of Python expressions.

Expressions are parsed with :mod:`ast`, checked node by node against a whitelist, type
checked (numbers vs true/false), and only then compiled. Nothing outside the whitelist can
appear: no attribute access, subscripts, lambdas, comprehensions, keyword arguments or calls
other than the named functions below, so an expression can never reach Python objects.
Every numeric literal is turned into a float so that ``10 ** 10 ** 10`` overflows at once
instead of building an enormous integer.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType, FunctionType
from typing import Any

NUM = "number"
BOOL = "true/false"
MAX_LENGTH = 1000
MAX_NODES = 400


def _logistic(x: float) -> float:
    # Written to stay finite for large |x| instead of overflowing in exp().
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _exp(x: float) -> float:
    # Saturate instead of raising OverflowError: a rate of 1e304/day is already "now".
    return math.exp(min(x, 700.0))


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log of a non-positive number ({x:g})")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt of a negative number ({x:g})")
    return math.sqrt(x)


def _pow(base: float, exponent: float) -> float:
    # Python would return a complex number for (-8) ** (1/3); the language has only reals.
    if base < 0 and not float(exponent).is_integer():
        raise ValueError(f"a negative number ({base:g}) to a fractional power ({exponent:g})")
    return float(base) ** exponent


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


# name -> (callable, minimum arguments, maximum arguments or None for "any")
FUNCTIONS: dict[str, tuple[Any, int, int | None]] = {
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "exp": (_exp, 1, 1),
    "log": (_log, 1, 1),
    "sqrt": (_sqrt, 1, 1),
    "logistic": (_logistic, 1, 1),
    "clip": (_clip, 3, 3),
}

# The globals every compiled expression runs with: the whitelisted functions, no builtins.
_GLOBALS: dict[str, Any] = {"__builtins__": {}, "__pow__": _pow,
                            **{k: v[0] for k, v in FUNCTIONS.items()}}



def safe_globals() -> dict[str, Any]:
    """A fresh copy of the globals every compiled expression runs with: the whitelisted
    functions and no builtins.

    For code that calls ``eval`` itself on code compiled from checked ``Expr.python``
    texts: the engine evaluates all of an action's effects (or all the rates that read a
    changed value) as one tuple, and ``sim.run.rare`` a rate at many parameter values in
    one comprehension. Use it as the ``globals`` of ``eval`` (or merge variables into it
    when inner scopes must read them); never add builtins to it."""
    return dict(_GLOBALS)


def tuple_text(pythons: Collection[str]) -> str:
    """Checked expression texts as the text of one tuple expression (of their values)."""
    return "(" + "".join(f"({p})," for p in pythons) + ")"


class Program:
    """A checked expression text (``Expr.python``, or a tuple of them: :func:`tuple_text`)
    compiled once into the body of a function that reads the variables as its globals;
    :meth:`bind` makes that function for one namespace.

    The engine evaluates the same few tuples of expressions hundreds of times per
    replication. A call of the bound function costs about half of ``eval(code, globals,
    ns)`` (no frame set up from C, and the variables are read with the interpreter's fast
    global loads), and the values are the same, operation for operation. Safe as
    ``eval`` with :func:`safe_globals` is: the whitelisted functions are closure cells,
    and every other name the code reads must be one of ``names`` (checked here), the
    variables the namespace always holds, so no lookup ever falls through to builtins.
    """

    __slots__ = ("code", "closure", "text")

    def __init__(self, text: str, names: Collection[str], label: str, *,
                 statements: bool = False, cells: Mapping[str, Any] | None = None,
                 params: Sequence[str] = ()) -> None:
        # ``statements``: ``text`` is the function's body, one statement a line, which the
        # engine generates around checked expression texts (sim.run.engine.effects_body),
        # instead of one expression; ``cells`` are further closure cells it reads, and
        # ``params`` the function's parameters (names no variable has, either).
        self.text = text
        cells = dict(cells or {})
        clash = (cells.keys() | set(params)) & set(names)
        if clash:
            raise ValueError(f"cells or parameters {sorted(clash)} are variables")
        # A variable that shadows a function name stays a variable, as under eval.
        free = [f for f in _GLOBALS if f != "__builtins__" and f not in names] + list(cells)
        values = {**_GLOBALS, **cells}
        body = "".join(f"  {line}\n" for line in text.split("\n")) if statements else \
            f"  return {text}\n"
        source = (f"def _outer({', '.join(free)}):\n"
                  f" def {label}({', '.join(params)}):\n{body}"
                  f" return {label}\n")
        scope: dict[str, Any] = {"__builtins__": {}}
        exec(compile(source, f"<{label}>", "exec"), scope)  # noqa: S102 - checked texts
        inner = scope["_outer"](*(values[f] for f in free))
        stray = set(inner.__code__.co_names) - set(names)
        if stray:
            raise ValueError(f"expression code reads {sorted(stray)}, not variables")
        self.code: CodeType = inner.__code__
        self.closure: tuple[Any, ...] | None = inner.__closure__

    def bind(self, ns: dict[str, Any]) -> Callable[..., Any]:
        """The function giving the value of ``text`` on ``ns`` (read live: later changes
        to ``ns`` are seen), taking ``params``."""
        return FunctionType(self.code, ns, None, None, self.closure)


_BOOL_WORDS = {"true": True, "True": True, "false": False, "False": False}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv)
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_EQUALITY = (ast.Eq, ast.NotEq)


class ExprError(Exception):
    """An expression is invalid; the message is ready to show to the author."""


class EvalError(Exception):
    """An expression failed while the model ran (division by zero, log of 0, ...)."""


@dataclass(frozen=True)
class Expr:
    """A compiled, type-checked expression.

    ``names`` are the variables it reads (used to know which rates to re-evaluate when
    state changes). ``const`` holds the value when the expression reads no variable.
    ``where`` locates it in its scenario (``file:line 'yaml.path'``) for run-time errors.
    """

    text: str
    kind: str
    names: frozenset[str]
    python: str
    const: float | bool | None = None
    code: Any = field(default=None, compare=False, repr=False)
    where: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """The expression's text and, when known, where the scenario gives it."""
        return f"{self.text!r} ({self.where})" if self.where else repr(self.text)

    def __call__(self, ns: Mapping[str, Any]) -> Any:
        if self.const is not None:
            return self.const
        try:
            return eval(self.code, _GLOBALS, ns)  # noqa: S307 - whitelisted AST, no builtins
        except OverflowError:
            raise EvalError(f"expression {self.label} overflowed") from None
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise EvalError(f"expression {self.label} failed: {exc}") from None

    # Code objects do not pickle; workers recompile from the checked Python text.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["code"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["code"] = compile(state["python"], "<expr>", "eval")
        self.__dict__.update(state)


def constant(value: float | bool) -> Expr:
    """An expression that is a fixed number or truth value."""
    kind = BOOL if isinstance(value, bool) else NUM
    val: float | bool = value if isinstance(value, bool) else float(value)
    return Expr(repr(val), kind, frozenset(), repr(val), val, compile(repr(val), "<expr>", "eval"))


def suggest(name: str, known: Any) -> str:
    """' (did you mean 'x'?)' for a misspelt name, or ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Checker:
    """Walks the AST: whitelist, names and types. Replaces constants as it goes."""

    def __init__(self, names: Mapping[str, str], constants: Mapping[str, float],
                 forbidden: Mapping[str, str]) -> None:
        self.names = names
        self.constants = constants
        self.forbidden = forbidden
        self.used: set[str] = set()

    def check(self, node: ast.AST) -> tuple[ast.expr, str]:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return node, BOOL
            if isinstance(node.value, (int, float)):
                value = _finite(node.value)
                return ast.copy_location(ast.Constant(value), node), NUM
            raise ExprError(f"only numbers and true/false are allowed, not {node.value!r}")
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise ExprError(_FOREIGN_OPS.get(type(node.op).__name__,
                                                 f"operator {type(node.op).__name__} is "
                                                 "not allowed"))
            node.left = self._want(node.left, NUM, "arithmetic")
            node.right = self._want(node.right, NUM, "arithmetic")
            if isinstance(node.op, ast.Pow):
                # '**' goes through a checked function so it can never yield a complex.
                call = ast.Call(ast.Name("__pow__", ast.Load()), [node.left, node.right], [])
                return ast.copy_location(call, node), NUM
            return node, NUM
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                node.operand = self._want(node.operand, BOOL, "'not'")
                return node, BOOL
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                node.operand = self._want(node.operand, NUM, "a sign")
                return node, NUM
            raise ExprError("operator '~' is not allowed")
        if isinstance(node, ast.BoolOp):
            word = "'and'" if isinstance(node.op, ast.And) else "'or'"
            node.values = [self._want(v, BOOL, word) for v in node.values]
            return node, BOOL
        if isinstance(node, ast.Compare):
            left, kind = self.check(node.left)
            node.left = left
            comparators = []
            for op, right in zip(node.ops, node.comparators, strict=True):
                if not isinstance(op, _ORDER + _EQUALITY):
                    raise ExprError(f"comparison {type(op).__name__} is not allowed")
                right_node, right_kind = self.check(right)
                if isinstance(op, _ORDER) and (kind != NUM or right_kind != NUM):
                    raise ExprError("'<', '<=', '>' and '>=' compare numbers, "
                                    "not true/false values")
                if kind != right_kind:
                    raise ExprError(f"cannot compare a {kind} with a {right_kind}")
                comparators.append(right_node)
                kind = right_kind
            node.comparators = comparators
            return node, BOOL
        if isinstance(node, ast.IfExp):
            node.test = self._want(node.test, BOOL, "the condition of 'if'")
            body, body_kind = self.check(node.body)
            orelse, else_kind = self.check(node.orelse)
            if body_kind != else_kind:
                raise ExprError(f"both branches of 'if ... else' must give the same type "
                                f"(got a {body_kind} and a {else_kind})")
            node.body, node.orelse = body, orelse
            return node, body_kind
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ExprError(f"{_describe(node)} is not allowed in expressions")

    def _want(self, node: ast.AST, kind: str, where: str) -> ast.expr:
        shown = ast.unparse(node)  # before checking rewrites it
        new, got = self.check(node)
        if got != kind:
            if kind == BOOL:
                hint = f" (compare it, e.g. '{shown} > 0')"
            else:
                hint = (f": '{shown}' is true/false, not a number; to count it as 1 or 0 "
                        f"write '(1 if {shown} else 0)', or choose between two numbers with "
                        f"'a if {shown} else b'")
            raise ExprError(f"{where} needs a {kind}, got a {got}{hint}")
        return new

    def _name(self, node: ast.Name) -> tuple[ast.expr, str]:
        name = node.id
        if name in _BOOL_WORDS:
            return ast.copy_location(ast.Constant(_BOOL_WORDS[name]), node), BOOL
        if name in self.constants:
            return ast.copy_location(ast.Constant(float(self.constants[name])), node), NUM
        if name in self.forbidden:
            raise ExprError(self.forbidden[name])
        if name in self.names:
            self.used.add(name)
            return node, self.names[name]
        if name in FUNCTIONS:
            raise ExprError(f"'{name}' is a function; call it as {name}(...)")
        known = [*self.names, *self.constants]
        raise ExprError(f"unknown name '{name}'{suggest(name, known)}")

    def _call(self, node: ast.Call) -> tuple[ast.expr, str]:
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"{_describe(node.func)} is not allowed in expressions")
        if node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
            raise ExprError(f"unknown function '{shown}'{suggest(str(shown), FUNCTIONS)}; "
                            f"allowed: {', '.join(sorted(FUNCTIONS))}")
        name = node.func.id
        if node.keywords:
            raise ExprError(f"{name}() takes no keyword arguments")
        _, lo, hi = FUNCTIONS[name]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ExprError("'*' arguments are not allowed")
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            expected = str(lo) if hi == lo else f"at least {lo}"
            raise ExprError(f"{name}() takes {expected} argument(s), got {n}")
        node.args = [self._want(a, NUM, f"{name}()") for a in node.args]
        return node, NUM


# Operators from other languages, and what to write instead (checked on syntax errors).
_FOREIGN = (("&&", "and"), ("||", "or"), ("!=", ""), ("!", "not "), ("===", "=="),
            ("^", "**"))


_FOREIGN_OPS = {
    "BitXor": "'^' is not allowed; write '**' for a power (2 ** 3 is 8)",
    "BitAnd": "'&' is not allowed; write 'and' to combine conditions",
    "BitOr": "'|' is not allowed; write 'or' to combine conditions",
    "LShift": "'<<' is not allowed; write '* 2 ** n' instead",
    "RShift": "'>>' is not allowed; write '/ 2 ** n' instead",
    "MatMult": "'@' is not allowed",
}


def syntax_hint(text: str) -> str:
    """How to fix a syntax error that comes from another language's operators."""
    for bad, good in _FOREIGN:
        if bad in text:
            if not good:  # '!=' is fine: strip it before looking for a lone '!'
                text = text.replace(bad, " ")
                continue
            return f"; write '{good.strip()}' instead of '{bad}'"
    if "=" in text.replace("==", "").replace("<=", "").replace(">=", "").replace("!=", ""):
        return "; to compare, write '==' (a single '=' assigns, which expressions cannot do)"
    if "&" in text or "|" in text:
        return "; write 'and' / 'or' instead of '&' / '|'"
    return ""


def _finite(number: float) -> float:
    """A literal as a float, or an ExprError for one that is not a finite number."""
    try:
        value = float(number)
    except OverflowError:
        raise ExprError(f"number {str(number)[:20]}... is too large") from None
    if math.isnan(value):
        raise ExprError("NaN is not a number an expression can use")
    if not math.isfinite(value) or abs(value) > 1e300:
        raise ExprError(f"number {number!r} is too large")
    return value


def _describe(node: ast.AST) -> str:
    return {
        "Attribute": "attribute access ('.')",
        "Subscript": "indexing ('[...]')",
        "Lambda": "lambda",
        "ListComp": "a comprehension",
        "GeneratorExp": "a comprehension",
        "List": "a list",
        "Tuple": "a tuple",
        "Dict": "a mapping",
        "Set": "a set",
        "JoinedStr": "an f-string",
        "NamedExpr": "':='",
        "Await": "await",
        "Yield": "yield",
        "Starred": "'*'",
    }.get(type(node).__name__, type(node).__name__)


def compile_expr(source: Any, kind: str, names: Mapping[str, str],
                 constants: Mapping[str, float] | None = None,
                 forbidden: Mapping[str, str] | None = None) -> Expr:
    """Parse, check and compile ``source`` (a YAML number, bool or string).

    ``names`` maps each readable variable to its type; ``constants`` are names replaced by
    numbers at compile time (rung ids); ``forbidden`` maps names that exist but may not be
    used here to the message explaining why. Raises ExprError with an author-facing message.
    """
    constants = constants or {}
    forbidden = forbidden or {}
    if isinstance(source, bool):
        text = "true" if source else "false"
    elif isinstance(source, (int, float)):
        text = repr(_finite(source))
    elif isinstance(source, str):
        text = source.strip()
    else:
        raise ExprError(f"expected an expression (a number or text), got {_yaml_type(source)}")
    if not text:
        raise ExprError("expected an expression, got an empty text")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error in {text!r}: {exc.msg}"
                        + (f" at column {exc.offset}" if exc.offset else "")
                        + syntax_hint(text)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression is nested too deeply") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExprError(f"expression has more than {MAX_NODES} parts")
    checker = _Checker(names, constants, forbidden)
    body, got = checker.check(tree.body)
    if got != kind:
        hint = " (compare it, e.g. 'x > 0')" if kind == BOOL else ""
        raise ExprError(f"expected a {kind}, got a {got}{hint}: {text!r}")
    tree.body = body
    ast.fix_missing_locations(tree)
    python = ast.unparse(tree)
    code = compile(python, "<expr>", "eval")
    const: float | bool | None = None
    if not checker.used:
        try:
            const = eval(code, _GLOBALS, {})  # noqa: S307 - checked, reads no variable
        except OverflowError:
            raise ExprError(f"{text!r} overflows (the result is too large)") from None
        except (ArithmeticError, ValueError) as exc:
            raise ExprError(f"{text!r} cannot be evaluated: {exc}") from None
        # 1e300 * 1e300 is inf and inf - inf is NaN without any exception: a constant
        # that is not a finite number would silently never fire (NaN) or run away (inf).
        if kind == NUM and not math.isfinite(const):
            raise ExprError(f"{text!r} evaluates to {const}, not a finite number")
    return Expr(text, kind, frozenset(checker.used), python, const, code)


def _yaml_type(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
