"""The signature check: rows reach a model only when they carry exactly its fields, typed.

A model declares its inputs as :class:`~aimsight.insight.FeatureSpec` (name, type, and for
categories the values seen in training). Before a registered model scores anything, the rows
are checked against that list and every offending field is named at once, with the type the
model expects: a missing field, a field the model does not take, text where a number is
expected, ``true`` where a number is expected, a fraction where an integer is expected, a
null or a non-finite number.

Decisions taken here (and why):

- **Nulls only where the model fills them.** A null reaches a model only for a field whose
  :class:`FeatureSpec` is ``nullable`` (the classifiers impute the training median and treat a
  missing category as its own value); elsewhere it is refused rather than silently passed to
  a model that may not expect it. A customer with no web activity yet still gets a churn
  score.
- **No coercion from text.** ``"42"`` is refused where a number is expected: a client that
  sends text has a bug worth seeing, and guessing would hide it.
- **Booleans are not numbers** and numbers are not booleans (``1`` is refused for a
  true/false field); JSON has a boolean type, clients should use it.
- **Integers may arrive as integral floats** (``3.0``), since JSON and pandas often turn
  integers into floats; ``2.5`` is refused.
- **A category value never seen in training is allowed and reported** in
  :attr:`CheckedRows.unseen_categories`: new plan names and channels appear in production
  all the time, the models encode unknown categories as "none of the known ones", and refusing
  would fail a customer's decision. Monitoring reads the report to spot drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from aimsight.core.errors import InvalidInput
from aimsight.insight import FeatureSpec

__all__ = [
    "CheckedRows",
    "FieldProblem",
    "Rows",
    "SignatureMismatch",
    "describe_type",
    "enforce_signature",
]

Rows: TypeAlias = pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any]
"""What a caller may score: a frame, a list of records, or one record."""

_SHOWN_ROWS = 3
_SHOWN_UNSEEN = 20
_SHOWN_CATEGORIES = 8
_INT64 = (-(2**63), 2**63 - 1)
_LARGEST_FLOAT = int(np.finfo(np.float64).max)


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field: ``missing``, ``unexpected`` or ``mistyped``."""

    field: str
    problem: str
    expected: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "field": self.field,
            "problem": self.problem,
            "expected": self.expected,
            "detail": self.detail,
        }


class SignatureMismatch(InvalidInput):
    """Raised when rows do not match a model's signature; names every offending field."""

    code = "signature_mismatch"

    def __init__(self, message: str, problems: Sequence[FieldProblem]) -> None:
        super().__init__(message, field=", ".join(p.field for p in problems) or None)
        self.problems = list(problems)


@dataclass(frozen=True)
class CheckedRows:
    """Rows that match the signature, as a frame in signature order with model dtypes.

    ``unseen_categories`` maps a category field to the values in these rows that training
    never saw (allowed; reported so monitoring can spot them).
    """

    frame: pd.DataFrame
    unseen_categories: dict[str, list[str]] = field(default_factory=dict)


def describe_type(spec: FeatureSpec) -> str:
    """The type a field expects, in words a caller understands."""
    if spec.type == "number":
        return "number"
    if spec.type == "integer":
        return "integer"
    if spec.type == "boolean":
        return "true/false"
    if spec.categories:
        shown = ", ".join(spec.categories[:_SHOWN_CATEGORIES])
        more = ", ..." if len(spec.categories) > _SHOWN_CATEGORIES else ""
        return f"text (a category such as {shown}{more})"
    return "text (a category)"


def enforce_signature(
    rows: Rows, features: Sequence[FeatureSpec], *, model: str = "the model"
) -> CheckedRows:
    """Check ``rows`` against ``features`` and return them ready for the model.

    Args:
        rows: a pandas frame, a list of dicts, or one dict.
        features: the model's signature.
        model: how to name the model in the error message (e.g. ``churn v3``).

    Returns:
        The rows as a frame with exactly the signature's columns in its order, numbers as
        float64, integers as int64, booleans as bool and categories as text, plus the category
        values training never saw.

    Raises:
        InvalidInput: ``rows`` is not a frame, a dict or a list of dicts, or holds no row.
        SignatureMismatch: a field is missing, unexpected or mistyped; the message names every
            offending field with the type it expects.
    """
    columns, count = _as_columns(rows)
    specs = {spec.name: spec for spec in features}
    problems: list[FieldProblem] = []
    for name, spec in specs.items():
        if name not in columns:
            problems.append(
                FieldProblem(name, "missing", describe_type(spec), "missing from the rows")
            )
    for name in columns:
        if name not in specs:
            problems.append(
                FieldProblem(name, "unexpected", "", "the model does not take this field")
            )
    checked: dict[str, Any] = {}
    unseen: dict[str, list[str]] = {}
    for name, spec in specs.items():
        if name not in columns:
            continue
        values = columns[name]
        if isinstance(values, list):
            bad = [(i, p) for i, v in enumerate(values) if (p := _value_problem(v, spec))]
        else:
            bad = _bad_rows(values, spec)
        if spec.nullable:
            bad = [item for item in bad if item[1] != "null"]
        if bad:
            problems.append(FieldProblem(name, "mistyped", describe_type(spec), _describe_bad(bad)))
            continue
        checked[name] = _converted(values, spec)
        if spec.type == "category" and spec.categories:
            known = set(spec.categories)
            new = sorted({value for value in checked[name] if value not in known})
            if new:
                unseen[name] = new[:_SHOWN_UNSEEN]
    if problems:
        raise SignatureMismatch(_message(problems, features, model), problems)
    result = pd.DataFrame(
        {spec.name: checked[spec.name] for spec in features}, index=pd.RangeIndex(count)
    )
    return CheckedRows(result, unseen)


def _as_columns(rows: Rows) -> tuple[dict[str, pd.Series | list[Any]], int]:
    """The rows by field: series of a frame, or the values of records exactly as sent."""
    if isinstance(rows, pd.DataFrame):
        if len(set(map(str, rows.columns))) != len(rows.columns):
            raise InvalidInput("the rows name a field twice; name each once", field="rows")
        frame = rows.reset_index(drop=True)
        columns: dict[str, pd.Series | list[Any]] = {
            str(name): frame[name] for name in frame.columns
        }
        count = len(frame)
    else:
        if isinstance(rows, Mapping):
            records: list[Mapping[str, Any]] = [rows]
        elif isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
            for index, row in enumerate(rows):
                if not isinstance(row, Mapping):
                    raise InvalidInput(
                        f"row {index} is not an object of field names and values; send each "
                        'row as {"field": value, ...}',
                        field="rows",
                    )
            records = list(rows)
        else:
            raise InvalidInput(
                "rows must be a table, a list of objects or one object of field names and values",
                field="rows",
            )
        columns = dict(_record_columns(records))
        count = len(records)
    if count == 0:
        raise InvalidInput("there are no rows to score; send at least one", field="rows")
    return columns, count


def _record_columns(records: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Each field's values across ``records``, in first-seen field order; a row that leaves
    a field out holds an :class:`_Absent` there."""
    names: dict[str, None] = {}
    for record in records:
        for key in record:
            names.setdefault(str(key), None)
    absent = _Absent()
    return {name: [record.get(name, absent) for record in records] for name in names}


class _Absent:
    """A field one row of a list leaves out while others have it."""

    def __repr__(self) -> str:
        return "absent"


def _bad_rows(column: pd.Series, spec: FeatureSpec) -> list[tuple[int, str]]:
    """(row, what it holds) for each value of ``column`` that ``spec`` does not accept."""
    dtype = column.dtype
    bad = _fast_check(column, spec, dtype)
    if bad is None:
        bad = []
        for position, value in enumerate(column.tolist()):
            found = _value_problem(value, spec)
            if found is not None:
                bad.append((position, found))
    return bad


def _fast_check(column: pd.Series, spec: FeatureSpec, dtype: Any) -> list[tuple[int, str]] | None:
    """The vectorised check for typed (non-object) columns; ``None`` means check each value."""
    if ptypes.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return None
    missing = column.isna().to_numpy()
    nulls = [(int(i), "null") for i in np.flatnonzero(missing)]
    if ptypes.is_bool_dtype(dtype):
        if spec.type == "boolean":
            return nulls
        return sorted(_every_row(column, "true/false", missing) + nulls)
    if ptypes.is_numeric_dtype(dtype):
        if spec.type not in ("number", "integer"):
            word = "an integer" if ptypes.is_integer_dtype(dtype) else "a number"
            return sorted(_every_row(column, word, missing) + nulls)
        if ptypes.is_integer_dtype(dtype):
            return nulls
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        infinite = np.isinf(values)
        bad = nulls + [(int(i), "an infinite number") for i in np.flatnonzero(infinite)]
        if spec.type == "integer":
            finite = ~missing & ~infinite
            fraction = finite & (np.mod(np.where(finite, values, 0.0), 1.0) != 0.0)
            bad += [(int(i), "a fraction") for i in np.flatnonzero(fraction)]
        return sorted(bad)
    if ptypes.is_string_dtype(dtype):
        if spec.type == "category":
            return nulls
        return sorted(_every_row(column, "text", missing) + nulls)
    return None


def _every_row(column: pd.Series, word: str, missing: Any) -> list[tuple[int, str]]:
    return [(i, word) for i in range(len(column)) if not missing[i]]


def _value_problem(value: Any, spec: FeatureSpec) -> str | None:
    """What ``value`` is, in words, when ``spec`` refuses it; ``None`` when it is accepted."""
    if isinstance(value, _Absent):
        return "no value for it"
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, bool | np.bool_):
        return None if spec.type == "boolean" else "true/false"
    if isinstance(value, int | np.integer):
        if spec.type not in ("number", "integer"):
            return "an integer"
        if spec.type == "integer" and not _INT64[0] <= int(value) <= _INT64[1]:
            return "an integer too large"
        if abs(int(value)) > _LARGEST_FLOAT:
            return "a number too large"
        return None
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "null"
        if spec.type not in ("number", "integer"):
            return "a number"
        if math.isinf(number):
            return "an infinite number"
        if spec.type == "integer" and not number.is_integer():
            return "a fraction"
        if spec.type == "integer" and not _INT64[0] <= number <= _INT64[1]:
            return "an integer too large"
        return None
    if isinstance(value, str):
        return None if spec.type == "category" else "text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _converted(values: pd.Series | list[Any], spec: FeatureSpec) -> Any:
    """Checked values in the dtype the model gets: float64, int64, bool or text.

    Nulls (in a nullable field) stay missing: NaN in numbers, integers and booleans (which
    then arrive as float64), ``None`` in categories.
    """
    missing = pd.isna(pd.Series(values, dtype=object)).to_numpy()
    if missing.any():
        series = pd.Series(values, dtype=object)
        if spec.type == "category":
            return np.asarray(
                [None if m else str(v) for v, m in zip(series, missing, strict=True)], dtype=object
            )
        return np.asarray(
            [np.nan if m else float(v) for v, m in zip(series, missing, strict=True)],
            dtype="float64",
        )
    if isinstance(values, list):
        if spec.type == "number":
            return np.asarray(values, dtype="float64")
        if spec.type == "integer":
            return np.asarray([int(v) for v in values], dtype="int64")
        if spec.type == "boolean":
            return np.asarray(values, dtype=bool)
        return np.asarray(values, dtype=object)
    if spec.type == "number":
        return values.astype("float64")
    if spec.type == "integer":
        return values.astype("int64")
    if spec.type == "boolean":
        return values.astype(bool)
    return values.astype(object).map(str)


def _describe_bad(bad: list[tuple[int, str]]) -> str:
    shown = "; ".join(f"row {row} has {what}" for row, what in bad[:_SHOWN_ROWS])
    more = f" (and {len(bad) - _SHOWN_ROWS} more rows)" if len(bad) > _SHOWN_ROWS else ""
    return shown + more


def _message(problems: list[FieldProblem], features: Sequence[FeatureSpec], model: str) -> str:
    parts: list[str] = []
    missing = [p for p in problems if p.problem == "missing"]
    unexpected = [p for p in problems if p.problem == "unexpected"]
    mistyped = [p for p in problems if p.problem == "mistyped"]
    if missing:
        parts.append("missing " + ", ".join(f"{p.field} ({p.expected})" for p in missing))
    if unexpected:
        parts.append("unexpected " + ", ".join(p.field for p in unexpected))
    parts.extend(f"{p.field} expects {p.expected} but {p.detail}" for p in mistyped)
    takes = ", ".join(f"{spec.name} ({spec.type})" for spec in features)
    return (
        f"the rows do not match the signature of {model}: "
        + "; ".join(parts)
        + f". Send exactly the fields it takes: {takes}"
    )
