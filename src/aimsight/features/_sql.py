"""SQL from validated parts: quoted identifiers, bound values, structured filters.

Nothing from a definitions file reaches a query as text except identifiers (quoted here,
after the definitions checked their shape); every value is a named parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Params", "dataset_ref", "identifier", "literal", "where_sql"]


def identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """``value`` as a quoted SQL string (for names the code itself made)."""
    return "'" + value.replace("'", "''") + "'"


def dataset_ref(dataset: str) -> str:
    """The view of a lake dataset: ``crm.customers`` -> ``"crm"."customers"``."""
    schema, _, view = dataset.rpartition(".")
    return f"{identifier(schema)}.{identifier(view)}" if schema else identifier(view)


class Params:
    """Named query parameters collected while a statement is built."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder (``$p3``)."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def where_sql(where: Mapping[str, Any], params: Params, *, prefix: str = "") -> list[str]:
    """Conditions for a structured filter: ``column = value`` or ``column IN (values)``."""
    conditions = []
    for column, value in where.items():
        target = prefix + identifier(column)
        if isinstance(value, Sequence) and not isinstance(value, str):
            placeholders = ", ".join(params.add(item) for item in value)
            conditions.append(f"{target} IN ({placeholders})")
        else:
            conditions.append(f"{target} = {params.add(value)}")
    return conditions
