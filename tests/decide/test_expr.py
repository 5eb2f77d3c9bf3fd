"""The rule language: what rule authors write, what it means, and what they are told on mistakes."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.decide._expr import (
    FUNCTION_NAMES,
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    Expression,
    ExpressionError,
    Namespaces,
    compile_expression,
)
from aimsight.decide._expr_runtime import FUNCTIONS

FEATURES = frozenset({"tenure_days", "failed_payments_90d", "spend_90d", "signup_date", "tags"})
NAMESPACES = Namespaces(
    closed={
        "features": FEATURES,
        "scores": frozenset({"churn", "value"}),
        "history": frozenset({"open_complaints", "contacts_7d"}),
    },
    open=frozenset({"context"}),
)
ENV: dict[str, dict[str, Any]] = {
    "features": {"tenure_days": 120, "failed_payments_90d": 0, "spend_90d": 250.5, "tags": []},
    "scores": {"churn": 0.42, "value": 180.0},
    "history": {"open_complaints": 1, "contacts_7d": 0},
    "context": {"channel": "web", "today": "2026-03-01"},
}


def compile_(source: str, namespaces: Namespaces = NAMESPACES) -> Expression:
    return compile_expression(source, namespaces)


def value(source: str, env: Mapping[str, Mapping[str, Any]] = ENV) -> Any:
    return compile_(source).evaluate(env)


def error(source: Any, namespaces: Namespaces = NAMESPACES) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, namespaces)
    return caught.value


# --------------------------------------------------------------------------------------------
# What rules mean


def test_a_typical_eligibility_rule() -> None:
    rule = compile_("features.tenure_days >= 90 and scores.churn > 0.3")
    assert rule.test(ENV) is True
    assert rule.test({"features": {"tenure_days": 30}, "scores": {"churn": 0.9}}) is False
    assert rule.references == frozenset({"features.tenure_days", "scores.churn"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 * 3 % 4", 2),
        ("7 / 2", 3.5),
        ("-7 % 3", 2),
        ("- -3", 3),
        ("-2 * 3", -6),
        ("1.5e2 + .5", 150.5),
        ("'ab' + \"cd\"", "abcd"),
        ("'it\\'s' + '\\n'", "it's\n"),
        ("[1, 'a', null, true]", [1, "a", None, True]),
        ("[1, 2,]", [1, 2]),
        ("not 1 == 2", True),
        ("not true or true", True),
        ("true and false or true", True),
        ("1 < 2 and 2 < 3", True),
        ("(1 < 2) == true", True),
        ("'a' < 'b'", True),
        ("context.channel in ['web', 'email']", True),
        ("context.channel not in ['web', 'email']", False),
        ("'we' in context.channel", True),
        ("features.spend_90d * 2", 501.0),
        ("scores.value - features.spend_90d", -70.5),
        ("history.open_complaints > 0", True),
        ("features.tenure_days / 30 >= 4", True),
    ],
)
def test_operators_and_precedence(source: str, expected: Any) -> None:
    assert value(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("min([4, 5])", 4),
        ("max(features.tenure_days, 365)", 365),
        ("abs(-2.5)", 2.5),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(2.675, 2)", 2.68),
        ("round(1234, -2)", 1200),
        ("round(7)", 7),
        ("coalesce(context.missing, null, 5)", 5),
        ("coalesce(null, null)", None),
        ("len('abc')", 3),
        ("len([1, 2])", 2),
        ("is_null(context.missing)", True),
        ("is_null(0)", False),
        ("lower('WeB')", "web"),
        ("upper(context.channel)", "WEB"),
        ("days_between('2026-01-01', '2026-01-31')", 30.0),
        ("days_between('2026-01-02T00:00:00Z', '2026-01-01T12:00:00+00:00')", -0.5),
        ("days_between('2026-02-01', context.today)", 28.0),
    ],
)
def test_functions(source: str, expected: Any) -> None:
    assert value(source) == expected


def test_every_whitelisted_function_has_an_implementation() -> None:
    assert set(FUNCTIONS) == FUNCTION_NAMES


def test_dates_compare_with_iso_strings_and_decimals_with_floats() -> None:
    env = {"features": {"signup_date": date(2025, 6, 1), "spend_90d": Decimal("10.5")}}
    assert value("features.signup_date < '2025-07-01'", env) is True
    assert value("features.signup_date == '2025-06-01'", env) is True
    assert value("features.signup_date >= context.today", {**env, "context": {"today": 5}}) is False
    assert value("features.spend_90d + 0.5", env) == 11.0
    assert value("days_between(features.signup_date, '2025-06-11')", env) == 10.0
    moment = {"features": {"signup_date": datetime(2025, 6, 1, 12, tzinfo=UTC)}}
    assert value("features.signup_date > '2025-06-01'", moment) is True


# --------------------------------------------------------------------------------------------
# Null and type errors: never an exception, never a surprise pass


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("context.missing + 1", None),
        ("-context.missing", None),
        ("context.missing * 0", None),
        ("context.missing > 1", False),
        ("context.missing <= 1", False),
        ("context.missing == null", True),
        ("context.missing != null", False),
        ("context.channel != null", True),
        ("context.missing == 1", False),
        ("context.missing != 1", True),
        ("null == null", True),
        ("context.missing in [null, 1]", False),
        ("context.missing not in [1]", False),
        ("1 in context.missing", False),
        ("not context.missing", True),
        ("context.missing and true", False),
        ("context.missing or true", True),
        ("context.missing or false", False),
        ("min(1, context.missing)", None),
        ("abs(context.missing)", None),
        ("round(context.missing)", None),
        ("len(context.missing)", None),
        ("lower(context.missing)", None),
        ("days_between(context.missing, '2026-01-01')", None),
    ],
)
def test_null_semantics(source: str, expected: Any) -> None:
    assert value(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "'a' + 1",
        "'a' * 3",
        "[1] * 3",
        "true + 1",
        "1 / 0",
        "1 % 0",
        "1.0 / 0.0",
        "1" + "0" * 310 + " * 1.5",  # an integer too large for a float
        "1" + "0" * 310 + " / 3",
        "-'a'",
        "abs('a')",
        "round(1.5, 'x')",
        "round(1.5, 99)",
        "len(5)",
        "upper(5)",
        "min(1, 'a')",
        "max([])",
        "days_between('yesterday', '2026-01-01')",
    ],
)
def test_type_errors_and_arithmetic_failures_give_null(source: str) -> None:
    assert value(source) is None


@pytest.mark.parametrize(
    "source", ["1 < 'a'", "'a' >= 1", "[1] < 'a'", "1 in 5", "'a' in [[1], []]", "1 in 'abc'"]
)
def test_comparisons_between_unrelated_types_are_false(source: str) -> None:
    assert value(source) is False


def test_missing_namespaces_names_and_odd_environments_read_as_null() -> None:
    rule = compile_("features.tenure_days >= 90")
    assert rule.evaluate({}) is False
    assert rule.evaluate({"features": {}}) is False
    assert rule.evaluate({"features": None}) is False  # type: ignore[dict-item]
    assert compile_("features.tenure_days").evaluate({"features": [1, 2]}) is None  # type: ignore[dict-item]


class _Hostile:
    """A value whose comparisons and truthiness raise, as a buggy feature value might."""

    def __lt__(self, other: object) -> bool:
        raise RuntimeError("boom")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("boom")

    def __bool__(self) -> bool:
        raise RuntimeError("boom")

    __hash__ = object.__hash__


def test_evaluate_and_test_never_raise() -> None:
    env = {"context": {"x": _Hostile()}}
    assert compile_("context.x == 1").evaluate(env) is None
    assert compile_("context.x == 1").test(env) is False
    assert compile_("context.x").test(env) is False
    assert compile_("context.x < 1").test(env) is False


@pytest.mark.parametrize(
    ("result_source", "expected"),
    [("null", False), ("0", False), ("''", False), ("1", True), ("'x'", True), ("true", True)],
)
def test_test_is_true_only_for_a_true_ish_non_null_result(
    result_source: str, expected: bool
) -> None:
    assert compile_(result_source).test(ENV) is expected
    assert compile_("context.missing").test(ENV) is False


def test_references_list_what_the_expression_reads() -> None:
    rule = compile_(
        "features.tenure_days > 1 and context.segment == 'x' or features.tenure_days < 0 "
        "and coalesce(scores.churn, 0) > 0.5"
    )
    assert rule.references == frozenset({"features.tenure_days", "context.segment", "scores.churn"})
    assert rule.uses("features") and rule.uses("context") and not rule.uses("history")
    assert compile_("1 + 2").references == frozenset()


def test_expressions_compare_by_source_and_keep_it() -> None:
    a, b = compile_("features.tenure_days > 1"), compile_("features.tenure_days > 1")
    assert a == b and hash(a) == hash(b) and a != compile_("features.tenure_days > 2")
    assert str(a) == "features.tenure_days > 1" and "features.tenure_days" in repr(a)


# --------------------------------------------------------------------------------------------
# Error messages: the column and the fix


def test_unknown_feature_names_the_column_and_suggests() -> None:
    caught = error("features.tenure >= 90")
    assert str(caught) == (
        "unknown feature 'tenure' at column 10 of \"features.tenure >= 90\"; "
        "did you mean 'tenure_days'?"
    )
    assert caught.position == 9
    assert caught.source == "features.tenure >= 90"
    assert caught.field == "expression"
    assert isinstance(caught, InvalidInput)


def test_unknown_name_without_a_close_match_lists_the_names() -> None:
    message = str(error("scores.zzz > 1"))
    assert "unknown score 'zzz' at column 8" in message
    assert "use one of churn, value" in message
    assert "unknown history field 'nope'" in str(error("history.nope > 1"))


def test_unknown_namespace_lists_the_namespaces() -> None:
    caught = error("feature.tenure_days > 1")
    assert str(caught).startswith("unknown namespace 'feature' at column 1")
    assert "use one of context, features, history, scores (did you mean 'features'?)" in str(caught)


def test_a_namespace_not_offered_here_is_unknown() -> None:
    only_features = Namespaces({"features": FEATURES})
    assert "unknown namespace 'scores'" in str(error("scores.churn > 0.3", only_features))
    assert "unknown namespace 'context'" in str(error("context.x", only_features))


def test_functions_outside_the_whitelist_are_refused() -> None:
    caught = error("exec('import os')")
    assert str(caught).startswith("function 'exec' is not allowed at column 1")
    assert "use one of abs, coalesce, days_between, is_null, len, lower, max, min" in str(caught)
    assert "did you mean 'min'?" in str(error("MIN(1, 2)"))
    assert "calling 'features.tenure_days' is not allowed" in str(error("features.tenure_days()"))


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('ls')",
        "open('/etc/passwd')",
        "features.tenure_days.__class__",
        "().__class__",
        "[x for x in [1]]",
        "lambda: 1",
        "eval('1')",
        "getattr(features, 'x')",
        "features['tenure_days']",
    ],
)
def test_code_execution_attempts_do_not_compile(source: str) -> None:
    error(source)


def test_missing_operand_after_an_operator() -> None:
    caught = error("features.a and")
    assert "unknown feature 'a'" in str(caught)  # names are checked as they are read
    caught = error("features.tenure_days and")
    assert str(caught).startswith("expected an operand after 'and' at column 22")
    assert "found the end of the expression" in str(caught)
    caught = error("1 + * 2")
    assert str(caught).startswith("expected an operand after '+' at column 3")
    assert "found '*'" in str(caught)


def test_the_brief_example_of_a_missing_operand_points_at_the_and() -> None:
    caught = error("context.a and")
    assert str(caught).startswith("expected an operand after 'and' at column 11")
    assert caught.position == 10


def test_chained_comparisons_are_refused_with_the_rewrite() -> None:
    caught = error("1 < features.tenure_days < 5")
    assert str(caught) == (
        "chained comparison '1 < features.tenure_days < 5' at column 26 of "
        '"1 < features.tenure_days < 5"; write \'1 < features.tenure_days and '
        "features.tenure_days < 5'"
    )
    assert "chained comparison" in str(error("context.a == context.b != context.c"))
    assert value("(1 < 2) == true") is True  # parentheses make it one comparison


@pytest.mark.parametrize(
    ("source", "fragment", "position"),
    [
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
        ("(1 + 2", "unclosed '(' at column 1", 0),
        ("1 + 2)", "unmatched ')' at column 6", 5),
        ("[1, 2", "unclosed '[' at column 1", 0),
        ("min(1 2)", "expected ',' or ')' in the call to min() at column 7", 6),
        ("(1 2)", "expected ')' at column 4", 3),
        ("1 2", "unexpected '2' after a complete expression", 2),
        ("tenure_days > 1", "write it with its namespace: features.tenure_days", 0),
        ("segment == 'x'", "e.g. context.segment", 0),
        ("True", "write 'true'", 0),
        ("None", "write 'null'", 0),
        ("features", "expected '.name' after the namespace 'features'", 8),
        ("features.", "expected a name after 'features.'", 9),
        ("features.tenure_days.x", "has more than two parts", 0),
        ("context.a = 1", "write '==' to compare", 10),
        ("context.a && true", "write 'and'", 10),
        ("context.a || true", "write 'or'", 10),
        ("!context.a", "write 'not'", 0),
        ("context.a <> 1", "write '!='", 10),
        ("2 ** 3", "no power operator", 2),
        ("scores.churn ≥ 0.3", "write '>='", 13),
        ("context.a == ‘x’", "plain ' or \" quotes", 13),
        ("'abc", "unterminated string at column 1", 0),
        ("'a\\q'", "unknown escape '\\q'", 2),
        ("12abc", "invalid number '12abc'", 0),
        ("1.", "invalid number '1.'", 0),
        ("1e999", "too large", 0),
        ("$", "unexpected character '$'", 0),
        ("context.a is null", "write 'x == null', 'x != null' or is_null(x)", 10),
        ("context.a not 3", "'not' after a value must be followed by 'in'", 10),
        ("1 + not true", "(not ...)", 2),
        ("not", "expected an operand after 'not'", 0),
        ("()", "expected an operand after '('", 0),
        ("round()", "round() takes 1 to 2 arguments, got 0", 0),
        ("abs(1, 2)", "abs() takes 1 argument, got 2", 0),
        ("days_between(1)", "days_between() takes 2 arguments, got 1", 0),
        ("min()", "min() takes at least 1 argument, got 0", 0),
    ],
)
def test_syntax_errors_point_at_the_problem(source: str, fragment: str, position: int) -> None:
    caught = error(source)
    assert fragment in str(caught)
    assert caught.position == position
    assert "; " in str(caught)  # every message ends with the fix


def test_multi_line_sources_report_line_and_column() -> None:
    caught = error("features.tenure_days >= 90\n  and scores.churny > 0.3")
    assert "unknown score 'churny' at line 2, column 14" in str(caught)
    assert "did you mean 'churn'?" in str(caught)


def test_errors_carry_the_setting_path_they_came_from() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("features.nope > 1", NAMESPACES, field="actions[2].eligibility")
    assert caught.value.field == "actions[2].eligibility"


def test_non_text_sources_are_refused() -> None:
    caught = error(90)
    assert "must be text, not int" in str(caught)


def test_long_sources_are_cut_in_messages() -> None:
    source = "context.a + " * 20 + "features.nope"
    message = str(error(source))
    assert "unknown feature 'nope'" in message
    assert "…" in message and len(message) < 300


# --------------------------------------------------------------------------------------------
# Limits: length and nesting


def test_the_length_limit() -> None:
    at_limit = "1" + " + 1" * ((MAX_SOURCE_LENGTH - 1) // 4)
    assert len(at_limit) <= MAX_SOURCE_LENGTH
    assert compile_(at_limit).evaluate({}) == 1 + (MAX_SOURCE_LENGTH - 1) // 4
    caught = error("1" * (MAX_SOURCE_LENGTH + 1))
    assert str(caught).startswith(f"expression is {MAX_SOURCE_LENGTH + 1} characters long")
    assert caught.position == MAX_SOURCE_LENGTH


def test_a_long_flat_chain_evaluates_without_deep_recursion() -> None:
    source = "+".join(["context.x"] * 199)
    assert compile_(source).evaluate({"context": {"x": 1}}) == 199
    source = " and ".join(["context.x > 0"] * 100)
    assert compile_(source).test({"context": {"x": 1}}) is True
    assert compile_("-".join(["1"] * 999)).evaluate({}) == 1 - 998


@pytest.mark.parametrize(
    ("opening", "middle", "closing"),
    [("(", "1", ")"), ("[", "1", "]"), ("-", "1", ""), ("not ", "true", ""), ("abs(", "1", ")")],
)
def test_the_nesting_limit(opening: str, middle: str, closing: str) -> None:
    ok = opening * MAX_DEPTH + middle + closing * MAX_DEPTH
    compile_(ok).evaluate({})
    caught = error(opening * (MAX_DEPTH + 1) + middle + closing * (MAX_DEPTH + 1))
    assert f"nests deeper than {MAX_DEPTH} levels" in str(caught)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "source",
    [
        "(" * 1999,
        "(" * 1000 + "1" + ")" * 999,
        "[" * 1999,
        "-" * 1999 + "1",
        "not " * 499 + "x",
        "min(" * 499,
        "1" + " < 1" * 499,
        "(" * 100_000,
        "'" + "a" * 1_000_000,
    ],
)
def test_hostile_nesting_and_length_give_a_clean_error(source: str) -> None:
    error(source)


# --------------------------------------------------------------------------------------------
# Hypothesis: generated trees agree with Python; arbitrary text gives only ExpressionError

REF_NAMES = ("a", "b", "c")
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}
_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}

Tree = tuple[Any, ...]

numbers = st.one_of(
    st.integers(-1000, 1000),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)
numeric_trees: st.SearchStrategy[Tree] = st.recursive(
    st.one_of(
        numbers.map(lambda number: ("num", number)),
        st.sampled_from(REF_NAMES).map(lambda name: ("ref", name)),
    ),
    lambda inner: st.one_of(
        st.tuples(st.just("neg"), inner),
        st.tuples(st.just("arith"), st.sampled_from(sorted(_ARITH)), inner, inner),
    ),
    max_leaves=8,
)
boolean_trees: st.SearchStrategy[Tree] = st.recursive(
    st.one_of(
        st.booleans().map(lambda flag: ("bool", flag)),
        st.tuples(st.just("cmp"), st.sampled_from(sorted(_CMP)), numeric_trees, numeric_trees),
    ),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=6,
)
environments = st.fixed_dictionaries({name: st.one_of(st.none(), numbers) for name in REF_NAMES})


def _precedence(tree: Tree) -> int:
    kind = tree[0]
    if kind == "arith":
        return _PREC[tree[1]]
    if kind in ("cmp", "not", "and", "or"):
        return _PREC[kind]
    if kind == "neg" or (kind == "num" and math.copysign(1, tree[1]) < 0):
        return 7
    return 8


def render(tree: Tree, python: bool = False) -> str:
    """The tree as source with only the parentheses precedence needs (same text in Python)."""

    def wrap(child: Tree, needed: bool) -> str:
        text = render(child, python)
        return f"({text})" if needed else text

    kind = tree[0]
    if kind == "num":
        number = tree[1]
        return ("-" if math.copysign(1, number) < 0 else "") + repr(abs(number))
    if kind == "ref":
        return f"features.{tree[1]}"
    if kind == "bool":
        return ("True" if tree[1] else "False") if python else ("true" if tree[1] else "false")
    if kind == "neg":
        return "-" + wrap(tree[1], _precedence(tree[1]) < 7)
    if kind == "not":
        return "not " + wrap(tree[1], _precedence(tree[1]) < 3)
    if kind in ("and", "or"):
        mine = _PREC[kind]
        left = wrap(tree[1], _precedence(tree[1]) < mine)
        return f"{left} {kind} {wrap(tree[2], _precedence(tree[2]) <= mine)}"
    op, left_tree, right_tree = tree[1], tree[2], tree[3]
    mine = _PREC[op] if kind == "arith" else _PREC["cmp"]
    # Arithmetic is left-associative; comparisons do not chain, so they bracket both sides.
    left_needs = (
        _precedence(left_tree) < mine if kind == "arith" else _precedence(left_tree) <= mine
    )
    right_needs = _precedence(right_tree) <= mine
    return f"{wrap(left_tree, left_needs)} {op} {wrap(right_tree, right_needs)}"


def reference(tree: Tree, env: Mapping[str, Any]) -> Any:
    """The tree evaluated node by node with Python's operators and the documented null rules."""
    kind = tree[0]
    if kind in ("num", "bool"):
        return tree[1]
    if kind == "ref":
        return env[tree[1]]
    if kind == "neg":
        inner = reference(tree[1], env)
        return None if inner is None else -inner
    if kind == "not":
        return not reference(tree[1], env)
    if kind == "and":
        return bool(reference(tree[1], env)) and bool(reference(tree[2], env))
    if kind == "or":
        return bool(reference(tree[1], env)) or bool(reference(tree[2], env))
    op = tree[1]
    a, b = reference(tree[2], env), reference(tree[3], env)
    if kind == "arith":
        if a is None or b is None:
            return None
        try:
            return _ARITH[op](a, b)
        except (ZeroDivisionError, OverflowError):
            return None
    if op in ("==", "!="):
        return _CMP[op](a, b)
    return False if a is None or b is None else _CMP[op](a, b)


def same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


ARITH_NAMESPACES = Namespaces({"features": frozenset(REF_NAMES)})


@settings(max_examples=400, deadline=None)
@given(tree=st.one_of(numeric_trees, boolean_trees), env=environments)
def test_generated_expressions_agree_with_python(tree: Tree, env: dict[str, Any]) -> None:
    source = render(tree)
    compiled = compile_expression(source, ARITH_NAMESPACES)
    ours = compiled.evaluate({"features": env})
    assert same(ours, reference(tree, env)), source
    # And with Python's own parser and evaluator, where Python does not raise.
    try:
        python = eval(  # noqa: S307 - the test's reference, on source the test generated
            render(tree, python=True), {"__builtins__": {}}, {"features": SimpleNamespace(**env)}
        )
    except (ZeroDivisionError, OverflowError, TypeError):
        return
    assert same(ours, python), source


TOKENS = [
    "(", ")", "[", "]", ",", ".", "features.tenure_days", "scores.churn", "context.x",
    "features", "tenure_days", "1", "2.5", "1e3", "'s'", '"t"', "'", '"', "\\", "and", "or",
    "not", "in", "is", "==", "!=", "<", "<=", ">", ">=", "=", "+", "-", "*", "/", "%", "!",
    "min", "abs", "round", "coalesce", "len", "exec", "null", "true", "false", "x", "$",
]  # fmt: skip

soups = st.lists(st.sampled_from(TOKENS), max_size=80).flatmap(
    lambda parts: st.sampled_from([" ".join(parts), "".join(parts)])
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=20),
        st.dates().map(date.isoformat),
    ),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=6,
)
env_values = st.dictionaries(st.sampled_from(["tenure_days", "churn", "x", "tags"]), json_values)


def _check_arbitrary(source: str, env_values: dict[str, Any]) -> None:
    try:
        compiled = compile_expression(source, NAMESPACES)
    except ExpressionError as caught:
        assert 0 <= caught.position <= len(source)
        assert str(caught)
        return
    env = {
        "features": {name: env_values.get(name) for name in FEATURES},
        "scores": {"churn": env_values.get("churn")},
        "context": {"x": env_values.get("x")},
    }
    # The closures themselves, not just evaluate()'s safety net, must not raise.
    compiled._fn(env)  # noqa: SLF001
    compiled.test(env)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.text(max_size=200), env_values=env_values)
def test_arbitrary_text_raises_only_expression_error(
    source: str, env_values: dict[str, Any]
) -> None:
    _check_arbitrary(source, env_values)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=soups, env_values=env_values)
def test_token_soup_raises_only_expression_error(source: str, env_values: dict[str, Any]) -> None:
    _check_arbitrary(source, env_values)


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(0, 400), opening=st.sampled_from(["(", "[", "-", "not ", "min(", "x"]))
def test_any_nesting_compiles_or_fails_cleanly(depth: int, opening: str) -> None:
    source = opening * depth + "1" + {"(": ")", "[": "]", "min(": ")"}.get(opening, "") * depth
    assume(len(source) <= MAX_SOURCE_LENGTH)
    _check_arbitrary(source, {})


literals = st.one_of(
    st.none().map(lambda _: "null"),
    st.booleans().map(lambda flag: "true" if flag else "false"),
    st.integers(0, 10**30).map(str),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet="ab2026-01T:Z ", max_size=12).map(lambda text: f"'{text}'"),
)
leaves = st.one_of(
    literals,
    st.sampled_from(
        ["features.tenure_days", "features.tags", "scores.churn", "context.x", "context.nope"]
    ),
)


ONE_ARGUMENT = ("abs", "is_null", "len", "lower", "upper")
BINARY = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]


def _unary(parts: tuple[str, str]) -> str:
    return f"{parts[0]}({parts[1]})"


def _binary(parts: tuple[str, str, str]) -> str:
    return f"({parts[0]}) {parts[1]} ({parts[2]})"


def _list(items: list[str]) -> str:
    return f"[{', '.join(items)}]"


def _call(parts: tuple[str, list[str]]) -> str:
    name, args = parts
    count = 1 if name in ONE_ARGUMENT else 2 if name == "days_between" else len(args)
    if name == "round":
        count = min(count, 2)
    return f"{name}({', '.join((args * 2)[:count])})"


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.sampled_from(["-", "not "]), inner).map(_unary),
        st.tuples(inner, st.sampled_from(BINARY), inner).map(_binary),
        st.lists(inner, max_size=3).map(_list),
        st.tuples(
            st.sampled_from(sorted(FUNCTION_NAMES)), st.lists(inner, min_size=1, max_size=3)
        ).map(_call),
    )


well_formed = st.recursive(leaves, _extend, max_leaves=10)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=well_formed, env_values=env_values)
def test_well_formed_expressions_never_raise_whatever_the_values(
    source: str, env_values: dict[str, Any]
) -> None:
    assume(len(source) <= MAX_SOURCE_LENGTH)
    try:
        compile_expression(source, NAMESPACES)
    except ExpressionError as caught:
        assert "nests deeper" in str(caught), source  # the only way a generated one may fail
        return
    _check_arbitrary(source, env_values)
