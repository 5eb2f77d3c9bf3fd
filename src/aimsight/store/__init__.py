"""Operational store (SQLAlchemy 2 + Alembic) and the tamper-evident ledger."""

from aimsight.store._base import Base
from aimsight.store._engine import create_store_engine, redact_url
from aimsight.store._lake import Lake, LakeFile
from aimsight.store._ledger import GENESIS_HASH, Ledger, LedgerEntry, LedgerVerification
from aimsight.store._store import Store

__all__ = [
    "GENESIS_HASH",
    "Base",
    "Lake",
    "LakeFile",
    "Ledger",
    "LedgerEntry",
    "LedgerVerification",
    "Store",
    "create_store_engine",
    "redact_url",
]
