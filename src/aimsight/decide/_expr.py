"""A safe expression language for decision rules: compile once, evaluate in microseconds.

Business users write eligibility, applicability and suitability rules, value and propensity
formulas and context weights in flow YAML, e.g. ``features.tenure_days >= 90 and
scores.churn > 0.3``. :func:`compile_expression` checks the rule against the namespaces the
flow offers (``features``, ``scores``, ``history``, ``context``, ...) and turns it into an
:class:`Expression` whose :meth:`~Expression.evaluate` runs on every decision request.

Nothing a rule author writes can run code, read files, loop or crash the request: the
language is parsed by our own parser (no Python ``eval``/``exec``/``ast``), has no loops,
calls only whitelisted pure functions, is limited in length and nesting, and evaluation turns
every type error into null. Syntax: ``_expr_syntax``; semantics (null handling): ``_expr_runtime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aimsight.decide._expr_runtime import compile_tree
from aimsight.decide._expr_syntax import (
    FUNCTION_ARITY,
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    ExpressionError,
    Namespaces,
    parse,
)

__all__ = [
    "FUNCTION_NAMES",
    "MAX_DEPTH",
    "MAX_SOURCE_LENGTH",
    "Expression",
    "ExpressionError",
    "Namespaces",
    "compile_expression",
]

FUNCTION_NAMES: frozenset[str] = frozenset(FUNCTION_ARITY)


class Expression:
    """A compiled rule expression.

    Attributes:
        source: the expression as written.
        references: the dotted names it reads, e.g. ``{"features.tenure_days"}``.
    """

    __slots__ = ("_fn", "references", "source")

    def __init__(self, source: str, references: frozenset[str], fn: Any) -> None:
        self.source = source
        self.references = references
        self._fn = fn

    def evaluate(self, env: Mapping[str, Mapping[str, Any]]) -> Any:
        """The value of the expression, reading ``env[namespace][name]`` for each reference.

        Missing namespaces or names read as null. Never raises: a failure that gets past the
        language's own null semantics (a value whose comparison raises, say) gives null.
        """
        try:
            return self._fn(env)
        except Exception:  # noqa: BLE001 - a rule must never fail the request
            return None

    def test(self, env: Mapping[str, Mapping[str, Any]]) -> bool:
        """Whether the rule holds: true only for a true-ish, non-null value; never raises."""
        try:
            value = self._fn(env)
            return value is not None and bool(value)
        except Exception:  # noqa: BLE001 - a rule must never fail the request
            return False

    def uses(self, namespace: str) -> bool:
        """Whether the expression reads any name of ``namespace``."""
        prefix = namespace + "."
        return any(reference.startswith(prefix) for reference in self.references)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self.source == other.source and self.references == other.references

    def __hash__(self) -> int:
        return hash((self.source, self.references))

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __str__(self) -> str:
        return self.source


def compile_expression(
    source: str, namespaces: Namespaces, *, field: str = "expression"
) -> Expression:
    """Compile a rule expression, checking every reference against ``namespaces``.

    Args:
        source: the expression, at most :data:`MAX_SOURCE_LENGTH` characters.
        namespaces: the namespaces (and, for closed ones, the names) the expression may read.
        field: the setting the expression came from, reported on errors
            (e.g. ``"actions[2].eligibility"``).

    Returns:
        The compiled :class:`Expression`.

    Raises:
        ExpressionError: the expression is not text, too long or too deeply nested, is not
            valid syntax, or names an unknown namespace, name or function. The message gives
            the column and the fix, e.g. ``unknown feature 'tenure' at column 10 of
            "features.tenure >= 90"; did you mean 'tenure_days'?``.

    Examples:
        >>> spaces = Namespaces({"features": frozenset({"tenure_days"})}, frozenset({"context"}))
        >>> rule = compile_expression("features.tenure_days >= 90", spaces)
        >>> rule.test({"features": {"tenure_days": 120}})
        True
    """
    if not isinstance(source, str):
        raise ExpressionError(
            f"an expression must be text, not {type(source).__name__}; "
            'quote it in the YAML, e.g. eligibility: "features.tenure_days >= 90"',
            position=0,
            source=str(source),
            field=field,
        )
    parsed = parse(source, namespaces, field=field)
    return Expression(source, parsed.references, compile_tree(parsed.tree))
