"""Which modules define operational-store tables.

Each layer owns its tables; this list lets the migration environment and the schema check see
all of them without the store importing the layers (the imports happen by name, at run time).
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from aimsight.store._base import Base

__all__ = ["TABLE_MODULES", "full_metadata"]

TABLE_MODULES: tuple[str, ...] = (
    "aimsight.store._ledger_tables",
    "aimsight.security._tables",
    "aimsight.privacy._tables",
    "aimsight.ingest._tables",
    "aimsight.ingest._collector_tables",
    "aimsight.identity._tables",
    "aimsight.registry._tables",
    "aimsight.decide._tables",
    "aimsight.aims._tables",
)


def full_metadata() -> MetaData:
    """The metadata with every layer's tables registered."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata
