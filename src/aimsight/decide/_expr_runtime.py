"""The rule language's meaning: a syntax tree compiled to nested Python closures.

Rules run on every decision request, so the tree is turned once into closures (a typical rule
evaluates in well under two microseconds) and constant sub-expressions are folded at compile
time. The semantics are chosen so that evaluation can never fail a request:

* null: arithmetic with null is null; ``< <= > >= in`` and ``not in`` with null are false;
  ``==`` and ``!=`` treat null as a value (``x == null`` is true only for null, so
  ``null != 3`` is true); ``and``, ``or`` and ``not`` treat null as false.
* Type errors and arithmetic failures (``'a' + 1``, ``true * 2``, division by zero, an integer
  too large for a float) give null; ordering values of unrelated types gives false.
* ``+`` adds numbers or joins two strings; ``- * / %`` take numbers only (so no
  ``'x' * 10**9``); ``/`` is true division and ``%`` takes the divisor's sign, as in Python.
* A date or datetime compared with an ISO string is compared as a date; decimals mixed with
  floats are used as floats.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from aimsight.decide._expr_syntax import (
    Arith,
    BoolOp,
    Compare,
    ListNode,
    Literal,
    Neg,
    Node,
    Not,
    Ref,
)

__all__ = ["FUNCTIONS", "Env", "Fn", "compile_tree"]

Env = Mapping[str, Mapping[str, Any]]
Fn = Callable[[Env], Any]

_EMPTY: Env = {}
_CONTAINERS = (list, tuple, set, frozenset, dict)
_ROUNDING = Context(prec=1000, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Values


def _is_number(value: Any) -> bool:
    """A real number that is not a bool (ints, floats, decimals, numpy scalars)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return kind is not bool and isinstance(value, numbers.Real | Decimal)


def _as_moment(value: Any) -> datetime | None:
    """A timezone-aware datetime from a date, datetime or ISO string (naive means UTC)."""
    if isinstance(value, str):
        if len(value) > 64:
            return None
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Make a decimal/float or a date/ISO-string pair comparable; other pairs as they are."""
    if isinstance(a, Decimal) and type(b) is float:
        return float(a), b
    if type(a) is float and isinstance(b, Decimal):
        return a, float(b)
    a_moment = isinstance(a, date)
    b_moment = isinstance(b, date)
    if (a_moment and (b_moment or isinstance(b, str))) or (b_moment and isinstance(a, str)):
        left, right = _as_moment(a), _as_moment(b)
        if left is not None and right is not None:
            return left, right
    return a, b


# ---------------------------------------------------------------------------------------------
# Operators: each takes two values and never raises.


def _arith_slow(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    if not (_is_number(a) and _is_number(b)):
        return None
    a, b = _coerce(a, b)
    try:
        return op(a, b)
    except (ArithmeticError, TypeError, ValueError):
        return None


def _arithmetic(op: Callable[[Any, Any], Any], *, joins_strings: bool = False) -> Any:
    """A null-safe, exception-free binary arithmetic operator built on ``op``."""

    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        ta = type(a)
        tb = type(b)
        if (ta is int or ta is float) and (tb is int or tb is float):
            try:
                return op(a, b)
            except ArithmeticError:  # division by zero, int too large for a float
                return None
        if joins_strings and ta is str and tb is str:
            return a + b
        return _arith_slow(op, a, b)

    return apply


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": _arithmetic(operator.add, joins_strings=True),
    "-": _arithmetic(operator.sub),
    "*": _arithmetic(operator.mul),
    "/": _arithmetic(operator.truediv),
    "%": _arithmetic(operator.mod),
}


def _negate(value: Any) -> Any:
    if value is None:
        return None
    kind = type(value)
    if kind is int or kind is float:
        return -value
    if _is_number(value):
        try:
            return -value
        except (ArithmeticError, TypeError):  # pragma: no cover - defensive
            return None
    return None


def _order_slow(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    a, b = _coerce(a, b)
    try:
        return op(a, b)
    except (TypeError, ValueError, ArithmeticError):
        return False


def _equal(a: Any, b: Any) -> Any:
    if a is None:
        return b is None
    if b is None:
        return False
    if type(a) is type(b):
        return a == b
    a, b = _coerce(a, b)
    return a == b


def _not_equal(a: Any, b: Any) -> Any:
    return not _equal(a, b)


def _contains(item: Any, container: Any) -> Any:
    """``item in container``; null on either side, or a container of the wrong kind: false."""
    if item is None or container is None:
        return False
    if type(container) is str:
        return type(item) is str and item in container
    if isinstance(container, _CONTAINERS):
        try:
            return item in container
        except TypeError:  # an unhashable item and a set
            return False
    return False


def _not_contains(item: Any, container: Any) -> Any:
    if item is None or container is None:
        return False
    if type(container) is str:
        return type(item) is str and item not in container
    if isinstance(container, _CONTAINERS):
        try:
            return item not in container
        except TypeError:
            return False
    return False


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MEMBERSHIP: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": _not_equal,
    "in": _contains,
    "not in": _not_contains,
}


# ---------------------------------------------------------------------------------------------
# Functions: each builder takes the compiled arguments and returns the call's closure.


def _values(args: Sequence[Any]) -> list[Any] | None:
    """The arguments of min/max: one list argument is spread; null if any value is null."""
    values = list(args)
    if len(values) == 1 and isinstance(values[0], list | tuple):
        values = list(values[0])
    if any(value is None for value in values):
        return None
    return values


def _min(*args: Any) -> Any:
    values = _values(args)
    try:
        return min(values) if values else None
    except (TypeError, ValueError):
        return None


def _max(*args: Any) -> Any:
    values = _values(args)
    try:
        return max(values) if values else None
    except (TypeError, ValueError):
        return None


def _abs(value: Any) -> Any:
    if not _is_number(value):
        return None
    try:
        return abs(value)
    except (ArithmeticError, TypeError):  # pragma: no cover - defensive
        return None


def _round(value: Any, digits: Any = 0) -> Any:
    """Round half away from zero (2.5 -> 3, 2.675 -> 2.68, as people expect); null if invalid.

    ``digits`` defaults to 0 and gives a whole number; negative ``digits`` round to tens,
    hundreds, ...
    """
    if not _is_number(value) or type(digits) is not int or not -20 <= digits <= 20:
        return None
    if isinstance(value, int) and digits >= 0:
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        rounded = exact.quantize(Decimal(1).scaleb(-digits), context=_ROUNDING)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return int(rounded) if digits <= 0 else float(rounded)


def _length(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        return len(value)
    return None


def _lower(value: Any) -> Any:
    return value.lower() if type(value) is str else None


def _upper(value: Any) -> Any:
    return value.upper() if type(value) is str else None


def _is_null(value: Any) -> bool:
    return value is None


def _days_between(start: Any, end: Any) -> Any:
    """Days from ``start`` to ``end`` (negative when ``end`` is earlier), as a float."""
    first, last = _as_moment(start), _as_moment(end)
    if first is None or last is None:
        return None
    try:
        return (last - first).total_seconds() / 86400.0
    except (ArithmeticError, TypeError, ValueError):  # pragma: no cover - defensive
        return None


def _eager(function: Callable[..., Any]) -> Callable[[list[Fn]], Fn]:
    """A builder that evaluates every argument, then calls ``function``."""

    def build(args: list[Fn]) -> Fn:
        if len(args) == 1:
            (only,) = args

            def call1(env: Env) -> Any:
                return function(only(env))

            return call1
        if len(args) == 2:
            first, second = args

            def call2(env: Env) -> Any:
                return function(first(env), second(env))

            return call2

        def call(env: Env) -> Any:
            return function(*[arg(env) for arg in args])

        return call

    return build


def _coalesce(args: list[Fn]) -> Fn:
    """The first argument that is not null; later arguments are evaluated only if needed."""

    def coalesce(env: Env) -> Any:
        for arg in args:
            value = arg(env)
            if value is not None:
                return value
        return None

    return coalesce


FUNCTIONS: dict[str, Callable[[list[Fn]], Fn]] = {
    "abs": _eager(_abs),
    "coalesce": _coalesce,
    "days_between": _eager(_days_between),
    "is_null": _eager(_is_null),
    "len": _eager(_length),
    "lower": _eager(_lower),
    "max": _eager(_max),
    "min": _eager(_min),
    "round": _eager(_round),
    "upper": _eager(_upper),
}


# ---------------------------------------------------------------------------------------------
# Compiler


class _Code:
    """A compiled node: its closure, and its value when it is a constant."""

    __slots__ = ("constant", "fn", "value")

    def __init__(self, fn: Fn, constant: bool = False, value: Any = None) -> None:
        self.fn = fn
        self.constant = constant
        self.value = value


def _constant(value: Any) -> _Code:
    if isinstance(value, list):
        frozen = tuple(value)

        def fresh_list(env: Env) -> Any:  # noqa: ARG001 - every closure takes the env
            return list(frozen)

        return _Code(fresh_list, True, value)

    def constant(env: Env) -> Any:  # noqa: ARG001 - every closure takes the env
        return value

    return _Code(constant, True, value)


def _folded(fn: Fn, parts: Sequence[_Code]) -> _Code:
    """``fn`` itself, or its value as a constant when every part is constant."""
    if all(part.constant for part in parts):
        try:
            return _constant(fn(_EMPTY))
        except Exception:  # noqa: BLE001 - leave it to evaluation, which never raises
            return _Code(fn)
    return _Code(fn)


def _false(env: Env) -> bool:  # noqa: ARG001 - every closure takes the env
    return False


def _reference(namespace: str, name: str) -> Fn:
    def reference(env: Env) -> Any:
        try:
            return env[namespace][name]
        except (KeyError, TypeError, IndexError):
            return None

    return reference


def _compile_arith(node: Arith) -> _Code:
    first = _compile(node.first)
    rest = [(_ARITHMETIC[op], _compile(operand)) for op, operand in node.rest]
    parts = [first, *(code for _, code in rest)]
    head = first.fn
    if len(rest) == 1:
        apply, right = rest[0]
        if right.constant:
            constant = right.value

            def binary_constant(env: Env) -> Any:
                return apply(head(env), constant)

            return _folded(binary_constant, parts)
        tail = right.fn

        def binary(env: Env) -> Any:
            return apply(head(env), tail(env))

        return _folded(binary, parts)
    steps = [(apply, code.fn) for apply, code in rest]

    def chain(env: Env) -> Any:
        value = head(env)
        for apply, operand in steps:
            value = apply(value, operand(env))
        return value

    return _folded(chain, parts)


def _compile_order(op: str, left: _Code, right: _Code) -> Fn:
    compare = _ORDER[op]
    first = left.fn
    if right.constant:
        constant = right.value
        if constant is None:
            return _false

        def order_constant(env: Env) -> Any:
            a = first(env)
            if a is None:
                return False
            try:
                return compare(a, constant)
            except TypeError:
                return _order_slow(compare, a, constant)

        return order_constant
    second = right.fn

    def order(env: Env) -> Any:
        a = first(env)
        b = second(env)
        if a is None or b is None:
            return False
        try:
            return compare(a, b)
        except TypeError:
            return _order_slow(compare, a, b)

    return order


def _compile_compare(node: Compare) -> _Code:
    left = _compile(node.left)
    right = _compile(node.right)
    if node.op in _ORDER:
        return _folded(_compile_order(node.op, left, right), (left, right))
    apply = _MEMBERSHIP[node.op]
    first = left.fn
    if right.constant:
        constant = right.value
        if isinstance(constant, list):
            constant = tuple(constant)

        def membership_constant(env: Env) -> Any:
            return apply(first(env), constant)

        return _folded(membership_constant, (left, right))
    second = right.fn

    def membership(env: Env) -> Any:
        return apply(first(env), second(env))

    return _folded(membership, (left, right))


def _compile_bool(node: BoolOp) -> _Code:
    parts = [_compile(operand) for operand in node.operands]
    fns = [part.fn for part in parts]
    if node.op == "and":
        if len(fns) == 2:
            a, b = fns

            def and2(env: Env) -> bool:
                if not a(env):
                    return False
                return not not b(env)

            return _folded(and2, parts)

        def and_all(env: Env) -> bool:
            for fn in fns:
                if not fn(env):
                    return False
            return True

        return _folded(and_all, parts)
    if len(fns) == 2:
        a, b = fns

        def or2(env: Env) -> bool:
            if a(env):
                return True
            return not not b(env)

        return _folded(or2, parts)

    def or_any(env: Env) -> bool:
        for fn in fns:
            if fn(env):
                return True
        return False

    return _folded(or_any, parts)


def _compile(node: Node) -> _Code:
    if isinstance(node, Literal):
        return _constant(node.value)
    if isinstance(node, Ref):
        return _Code(_reference(node.namespace, node.name))
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, BoolOp):
        return _compile_bool(node)
    if isinstance(node, Arith):
        return _compile_arith(node)
    if isinstance(node, Not):
        operand = _compile(node.operand)
        inner = operand.fn

        def negation(env: Env) -> bool:
            return not inner(env)

        return _folded(negation, (operand,))
    if isinstance(node, Neg):
        operand = _compile(node.operand)
        inner = operand.fn

        def minus(env: Env) -> Any:
            return _negate(inner(env))

        return _folded(minus, (operand,))
    if isinstance(node, ListNode):
        items = [_compile(item) for item in node.items]
        fns = [item.fn for item in items]

        def make_list(env: Env) -> Any:
            return [fn(env) for fn in fns]

        return _folded(make_list, items)
    args = [_compile(arg) for arg in node.args]
    return _folded(FUNCTIONS[node.name]([arg.fn for arg in args]), args)


def compile_tree(tree: Node) -> Fn:
    """The closure that evaluates ``tree`` against an environment of namespaces."""
    return _compile(tree).fn
