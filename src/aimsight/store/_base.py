"""The declarative base every table model of aimsight derives from.

Each layer defines its own tables in its own ``_tables.py`` on this base; only that layer's
services touch them. The migration environment imports them all (see ``migrations/env.py``).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of all operational-store tables; constraint names are stable across backends."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
