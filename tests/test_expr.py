"""The scenario expression language: values, types, whitelist, metadata and pickling."""

from __future__ import annotations

import math
import pickle

import pytest

from sim.spec.expr import (
    BOOL,
    FUNCTIONS,
    NUM,
    EvalError,
    Expr,
    ExprError,
    Program,
    compile_expr,
    constant,
)

NAMES = {"x": NUM, "y": NUM, "flag": BOOL, "other": BOOL}
CONSTANTS = {"calm": 0.0, "war": 3.0}
NS = {"x": 2.0, "y": 5.0, "flag": True, "other": False}


def ev(text, kind=NUM, ns=None):
    """Compile ``text`` against NAMES/CONSTANTS and evaluate it in ``ns`` (default NS)."""
    return compile_expr(text, kind, NAMES, CONSTANTS)(NS if ns is None else ns)


def err(text, kind=NUM, forbidden=None) -> str:
    """The ExprError message for ``text``."""
    with pytest.raises(ExprError) as info:
        compile_expr(text, kind, NAMES, CONSTANTS, forbidden)
    return str(info.value)


# -- known answers ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("2 + 3 * 4", 14.0),
    ("(2 + 3) * 4", 20.0),
    ("-2 ** 2", -4.0),
    ("2 ** 3 ** 2", 512.0),
    ("7 % 3", 1.0),
    ("7 // 2", 3.0),
    ("7 / 2", 3.5),
    ("10 - 4 - 3", 3.0),
    ("x * y - 1", 9.0),
    ("x / y", 0.4),
    ("+x", 2.0),
    ("-(x - y)", 3.0),
    ("war - calm", 3.0),
    ("x if flag else y", 2.0),
    ("x if other else y", 5.0),
    ("1 if x > 1 else 2 if x > 0 else 3", 1.0),
    ("0.5 if not flag else (1 if other else 2)", 2.0),
])
def test_arithmetic_and_conditionals(text, value):
    """Arithmetic, precedence, unary signs, rung constants and if-else give known answers."""
    assert ev(text) == pytest.approx(value)


@pytest.mark.parametrize(("text", "value"), [
    ("1 < 2 < 3", True),
    ("1 < 3 < 2", False),
    ("3 > 2 > 2", False),
    ("3 >= 2 >= 2", True),
    ("x == 2", True),
    ("x != 2", False),
    ("x < y <= 5 == y", True),
    ("flag == true", True),
    ("flag != other", True),
    ("true", True),
    ("False", False),
    ("not flag", False),
    ("flag and other", False),
    ("flag or other", True),
    ("not flag or not other", True),
    ("not (flag and other)", True),
    ("flag and x > 1 and y > 4", True),
    ("other or x > y", False),
    ("not other and x < y", True),
])
def test_comparisons_and_logic(text, value):
    """Comparison chains, equality of truth values and and/or/not give known answers."""
    assert ev(text, BOOL) is value


@pytest.mark.parametrize(("text", "value"), [
    ("min(3, 1, 2)", 1.0),
    ("max(3, 1, 2)", 3.0),
    ("min(x, y)", 2.0),
    ("max(x, y, 4)", 5.0),
    ("abs(-2.5)", 2.5),
    ("abs(x - y)", 3.0),
    ("exp(0)", 1.0),
    ("exp(1)", math.e),
    ("log(1)", 0.0),
    ("log(exp(2))", 2.0),
    ("sqrt(16)", 4.0),
    ("sqrt(x * 8)", 4.0),
    ("logistic(0)", 0.5),
    ("logistic(2)", 1 / (1 + math.exp(-2))),
    ("logistic(-2)", 1 / (1 + math.exp(2))),
    ("clip(5, 0, 1)", 1.0),
    ("clip(-5, 0, 1)", 0.0),
    ("clip(0.25, 0, 1)", 0.25),
    ("clip(x, 0, y)", 2.0),
])
def test_functions(text, value):
    """Each whitelisted function gives its known answer."""
    assert ev(text) == pytest.approx(value)


def test_every_function_is_tested():
    """The function table is exactly the set the tests above exercise."""
    assert set(FUNCTIONS) == {"min", "max", "abs", "exp", "log", "sqrt", "logistic", "clip"}


@pytest.mark.parametrize(("x", "value"), [(1000.0, 1.0), (-1000.0, 0.0), (1e300, 1.0),
                                          (-1e300, 0.0), (745.0, 1.0), (-745.0, 0.0)])
def test_logistic_stays_finite_at_large_magnitude(x, value):
    """logistic() neither overflows nor returns nan for huge |x|."""
    result = ev("logistic(x)", ns={"x": x})
    assert math.isfinite(result)
    assert result == pytest.approx(value, abs=1e-300)


def test_exp_saturates_instead_of_overflowing():
    """exp() of a huge argument saturates at exp(700) rather than raising."""
    assert ev("exp(x)", ns={"x": 1e6}) == math.exp(700.0)
    assert compile_expr("exp(1000)", NUM, {}).const == math.exp(700.0)


def test_yaml_scalars_are_accepted():
    """YAML numbers and booleans compile as constants; text is stripped before parsing."""
    assert compile_expr(2, NUM, {}).const == 2.0
    assert compile_expr(0.25, NUM, {}).const == 0.25
    assert compile_expr(True, BOOL, {}).const is True
    assert compile_expr(False, BOOL, {}).python == "False"
    assert compile_expr("  3  ", NUM, {}).text == "3"
    assert compile_expr("1 +\\\n 2", NUM, {}).const == 3.0


# -- type errors --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "message"), [
    ("flag + 1", NUM, "arithmetic needs a number, got a true/false: 'flag' is true/false, "
               "not a number; to count it as 1 or 0 write '(1 if flag else 0)', or choose "
               "between two numbers with 'a if flag else b'"),
    ("x * other", NUM, "arithmetic needs a number, got a true/false: 'other' is "
                        "true/false, not a number; to count it as 1 or 0 write "
                        "'(1 if other else 0)', or choose between two numbers with "
                        "'a if other else b'"),
    ("-flag", NUM, "a sign needs a number, got a true/false: 'flag' is true/false, not a "
             "number; to count it as 1 or 0 write '(1 if flag else 0)', or choose between "
             "two numbers with 'a if flag else b'"),
    ("x and flag", BOOL, "'and' needs a true/false, got a number (compare it, e.g. 'x > 0')"),
    ("flag or 1", BOOL, "'or' needs a true/false, got a number (compare it, e.g. '1 > 0')"),
    ("not x", BOOL, "'not' needs a true/false, got a number (compare it, e.g. 'x > 0')"),
    ("x", BOOL, "expected a true/false, got a number (compare it, e.g. 'x > 0'): 'x'"),
    ("flag", NUM, "expected a number, got a true/false: 'flag'"),
    ("x > 1", NUM, "expected a number, got a true/false: 'x > 1'"),
    ("1 if x else 2", NUM, "the condition of 'if' needs a true/false, got a number "
                           "(compare it, e.g. 'x > 0')"),
    ("1 if flag else true", NUM, "both branches of 'if ... else' must give the same type "
                                 "(got a number and a true/false)"),
    ("x < flag", BOOL, "'<', '<=', '>' and '>=' compare numbers, not true/false values"),
    ("true < false", BOOL, "'<', '<=', '>' and '>=' compare numbers, not true/false values"),
    ("flag == 1", BOOL, "cannot compare a true/false with a number"),
    ("1 < 2 == flag", BOOL, "cannot compare a number with a true/false"),
    ("min(flag, 1)", NUM, "min() needs a number, got a true/false: 'flag' is true/false, not "
                          "a number; to count it as 1 or 0 write '(1 if flag else 0)', or "
                          "choose between two numbers with 'a if flag else b'"),
    ("abs(x > 1)", NUM, "abs() needs a number, got a true/false: 'x > 1' is true/false, not "
                        "a number; to count it as 1 or 0 write '(1 if x > 1 else 0)', or "
                        "choose between two numbers with 'a if x > 1 else b'"),
    (True, NUM, "expected a number, got a true/false: 'true'"),
    (1, BOOL, "expected a true/false, got a number (compare it, e.g. 'x > 0'): '1.0'"),
])
def test_type_errors(text, kind, message):
    """Mixing numbers and true/false values is rejected with a precise message."""
    assert err(text, kind) == message


@pytest.mark.parametrize(("text", "message"), [
    ("min(1)", "min() takes at least 2 argument(s), got 1"),
    ("abs(1, 2)", "abs() takes 1 argument(s), got 2"),
    ("clip(1, 2)", "clip() takes 3 argument(s), got 2"),
    ("min(a=1, b=2)", "min() takes no keyword arguments"),
    ("min(*x)", "'*' arguments are not allowed"),
    ("min", "'min' is a function; call it as min(...)"),
    ("minn(1, 2)", "unknown function 'minn' (did you mean 'min'?); "
                   "allowed: abs, clip, exp, log, logistic, max, min, sqrt"),
    ("z", "unknown name 'z'"),
    ("xx + 1", "unknown name 'xx' (did you mean 'x'?)"),
    ("flg", "unknown name 'flg' (did you mean 'flag'?)"),
    ("wat", "unknown name 'wat' (did you mean 'war'?)"),
    ("", "expected an expression, got an empty text"),
    ("   ", "expected an expression, got an empty text"),
    (None, "expected an expression (a number or text), got nothing (null)"),
    ([1], "expected an expression (a number or text), got a list"),
    ({"a": 1}, "expected an expression (a number or text), got a mapping"),
    (float("inf"), "number inf is too large"),
    (1e301, "number 1e+301 is too large"),
    ("1e400", "number inf is too large"),
    ("x" * 1001, "expression is longer than 1000 characters"),
    ("+".join(["1"] * 300), "expression has more than 400 parts"),
    ("-" * 600 + "1", "expression has more than 400 parts"),
    ("log(0)", "'log(0)' cannot be evaluated: log of a non-positive number (0)"),
    ("sqrt(-1)", "'sqrt(-1)' cannot be evaluated: sqrt of a negative number (-1)"),
    ("1 / 0", "'1 / 0' cannot be evaluated: float division by zero"),
    ("1 +", "syntax error in '1 +': invalid syntax"),
    ("min(1, 2", "syntax error in 'min(1, 2': '(' was never closed at column 4"),
    ("x = 1", "syntax error in 'x = 1': invalid syntax at column 3; to compare, write '==' "
              "(a single '=' assigns, which expressions cannot do)"),
])
def test_bad_expressions_messages(text, message):
    """Calls, names, sizes, constant folding and syntax errors give exact messages."""
    assert err(text) == message


def test_forbidden_name_uses_its_message():
    """A name listed as forbidden is rejected with the caller's explanation."""
    names = {**NAMES, "day": NUM}
    with pytest.raises(ExprError, match="^no day in rates$"):
        compile_expr("x + day", NUM, names, {}, {"day": "no day in rates"})
    assert compile_expr("x + day", NUM, names).names == frozenset({"x", "day"})


# -- whitelist ----------------------------------------------------------------------------

HOSTILE = [
    "x.__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os')",
    "__import__('os').system('true')",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "getattr(x, '__class__')",
    "globals()",
    "__builtins__",
    "x[0]",
    "x[1:2]",
    "lambda: 1",
    "(lambda: 1)()",
    "[x for x in y]",
    "(x for x in y)",
    "{k: 1 for k in y}",
    "{1: 2}",
    "{1}",
    "(1, 2)",
    "[1]",
    "f'{x}'",
    "'text'",
    "b'bytes'",
    "None",
    "...",
    "1j",
    "(x := 1)",
    "await x",
    "yield x",
    "x.y()",
    "x | 1",
    "x & 1",
    "x ^ 1",
    "x << 1",
    "x >> 1",
    "x @ y",
    "~x",
    "x in y",
    "x not in y",
    "x is y",
    "x is not y",
    "*x",
    "x; y",
    "import os",
    "x = 1",
    "min(x, key=abs)",
    "max(*[1, 2])",
    "10 ** 10 ** 10",
    "(" * 250 + "1" + ")" * 250,
    "x\n+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_expressions_are_rejected(text):
    """Anything outside the whitelist raises ExprError, never runs, never crashes."""
    for kind in (NUM, BOOL):
        with pytest.raises(ExprError):
            compile_expr(text, kind, NAMES, CONSTANTS)


@pytest.mark.parametrize(("text", "message"), [
    ("x.__class__", "attribute access ('.') is not allowed in expressions"),
    ("x[0]", "indexing ('[...]') is not allowed in expressions"),
    ("lambda: 1", "lambda is not allowed in expressions"),
    ("[x for x in y]", "a comprehension is not allowed in expressions"),
    ("(1, 2)", "a tuple is not allowed in expressions"),
    ("f'{x}'", "an f-string is not allowed in expressions"),
    ("(x := 1)", "':=' is not allowed in expressions"),
    ("'text'", "only numbers and true/false are allowed, not 'text'"),
    ("None", "only numbers and true/false are allowed, not None"),
    ("~x", "operator '~' is not allowed"),
    ("x in y", "comparison In is not allowed"),
    ("__import__('os')", "unknown function '__import__'; "
                         "allowed: abs, clip, exp, log, logistic, max, min, sqrt"),
    ("__builtins__", "unknown name '__builtins__'"),
])
def test_whitelist_messages(text, message):
    """Rejected constructs are named in the message."""
    assert err(text, BOOL if " in " in text else NUM) == message


# -- metadata -----------------------------------------------------------------------------

def test_names_are_collected():
    """``.names`` holds exactly the variables read, not constants, functions or literals."""
    e = compile_expr("min(x, 1) + (y if flag else war) * logistic(calm)", NUM, NAMES,
                     CONSTANTS)
    assert e.names == frozenset({"x", "y", "flag"})
    assert e.const is None
    assert e.kind == NUM
    assert compile_expr("not other", BOOL, NAMES).names == frozenset({"other"})


def test_constants_are_folded():
    """An expression reading no variable is evaluated once into ``.const``."""
    e = compile_expr("min(1, war * 0.1) + calm", NUM, NAMES, CONSTANTS)
    assert e.names == frozenset()
    assert e.const == pytest.approx(0.3)
    assert e({}) == pytest.approx(0.3)
    assert e.python == "min(1.0, 3.0 * 0.1) + 0.0"
    b = compile_expr("war > calm and not false", BOOL, NAMES, CONSTANTS)
    assert b.const is True
    assert compile_expr("1 > 2", BOOL, {}).const is False
    assert compile_expr("0", NUM, {}).const == 0.0


def test_literals_become_floats():
    """Integer literals are compiled as floats so huge powers overflow instead of growing."""
    e = compile_expr("x ** 2 + 7 // 2", NUM, NAMES)
    assert e.python == "__pow__(x, 2.0) + 7.0 // 2.0"
    assert isinstance(compile_expr("3", NUM, {}).const, float)


def test_constant_helper():
    """constant() builds number and truth-value expressions with matching kind."""
    assert constant(2) == Expr("2.0", NUM, frozenset(), "2.0", 2.0)
    assert constant(True).kind == BOOL
    assert constant(True).const is True
    assert constant(0.5)({}) == 0.5


# -- pickling -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "ns", "value"), [
    ("x + 1 if flag else 0", NUM, {"x": 2.0, "flag": True}, 3.0),
    ("x > y or other", BOOL, {"x": 1.0, "y": 2.0, "other": False}, False),
    ("clip(x * 2, 0, 1)", NUM, {"x": 0.3}, 0.6),
    ("war * 2", NUM, {}, 6.0),
    ("war > calm", BOOL, {}, True),
])
def test_pickle_round_trip(text, kind, ns, value):
    """An Expr survives pickling (code is recompiled) and evaluates the same afterwards."""
    e = compile_expr(text, kind, NAMES, CONSTANTS)
    back = pickle.loads(pickle.dumps(e))
    assert back == e
    assert back.code is not None
    assert back(ns) == pytest.approx(value)
    assert back.names == e.names
    assert back.const == e.const


# -- runtime errors -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "ns", "message"), [
    ("1 / x", {"x": 0.0}, "expression '1 / x' failed: float division by zero"),
    ("x % y", {"x": 1.0, "y": 0.0}, "expression 'x % y' failed: float modulo"),
    ("log(x)", {"x": 0.0}, "expression 'log(x)' failed: log of a non-positive number (0)"),
    ("sqrt(x)", {"x": -4.0}, "expression 'sqrt(x)' failed: sqrt of a negative number (-4)"),
])
def test_runtime_errors_raise_evalerror(text, ns, message):
    """Failures while the model runs raise EvalError naming the expression."""
    e = compile_expr(text, NUM, NAMES)
    with pytest.raises(EvalError) as info:
        e(ns)
    assert str(info.value) == message


def test_runtime_overflow_raises_evalerror():
    """A power that overflows at run time is an EvalError, not an OverflowError."""
    with pytest.raises(EvalError, match="^expression 'x \\*\\* x' overflowed"):
        compile_expr("x ** x", NUM, NAMES)({"x": 1000.0})


# -- known bugs ---------------------------------------------------------------------------

def test_huge_integer_source_is_an_exprerror():
    """A YAML integer beyond float range gives ExprError 'too large', not OverflowError."""
    with pytest.raises(ExprError, match="too large"):
        compile_expr(10 ** 400, NUM, {})


def test_huge_integer_literal_is_an_exprerror():
    """A 401-digit integer literal in the text gives ExprError 'too large'."""
    with pytest.raises(ExprError, match="too large"):
        compile_expr("1" + "0" * 400 + " * x", NUM, NAMES)


def test_negative_base_fractional_power_is_rejected():
    """A constant power of a negative number is an ExprError, not a complex constant."""
    with pytest.raises(ExprError):
        compile_expr("(-1) ** 0.5", NUM, {})


def test_negative_base_fractional_power_fails_at_run_time():
    """At run time a complex result raises EvalError instead of leaking a complex rate."""
    with pytest.raises(EvalError):
        compile_expr("x ** 0.5", NUM, NAMES)({"x": -1.0})


def test_constant_overflow_message_is_readable():
    """An overflowing constant says so in words, not as an errno tuple."""
    assert "(34," not in err("10 ** 10 ** 10")


def test_method_call_message():
    """x.y() is reported as attribute access, not as an oddly named unknown function."""
    assert err("x.y()") == "attribute access ('.') is not allowed in expressions"


def test_nan_message():
    """A NaN constant is described as not a number, not as too large."""
    assert "too large" not in err(float("nan"))


def test_program_reads_only_variables_and_its_cells():
    """A compiled program refuses code that reads a name that is not a variable (so no
    lookup can reach builtins); a statement body reads its cells, which may not be
    variables themselves."""
    ns = {"x": 2.0, "y": 3.0}
    assert Program("((x + y),(x * y),)", ns.keys(), "pair").bind(ns)() == (5.0, 6.0)
    with pytest.raises(ValueError, match=r"reads \['open'\], not variables"):
        Program("open", ns.keys(), "sneaky")
    body = "global x\n_t = _twice(y)\nx = _t\nreturn x"
    Program(body, ns.keys(), "set", statements=True, cells={"_twice": lambda v: 2 * v}) \
        .bind(ns)()
    assert ns["x"] == 6.0
    with pytest.raises(ValueError, match=r"cells or parameters \['y'\] are variables"):
        Program(body, ns.keys(), "set", statements=True, cells={"y": abs})
    with pytest.raises(ValueError, match=r"cells or parameters \['x'\] are variables"):
        Program("return x", ns.keys(), "f", statements=True, params=("x",))
    assert Program("return _k * y", ns.keys(), "f", statements=True, params=("_k",)) \
        .bind(ns)(2.0) == 6.0
