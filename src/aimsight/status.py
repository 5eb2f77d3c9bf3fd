"""A summary of what a workspace holds, across layers (used by ``aimsight status`` and the API)."""

from __future__ import annotations

from typing import Any

from aimsight.core import Workspace
from aimsight.ingest import ContractRegistry, QuarantineService
from aimsight.security import ApiKeyService
from aimsight.store import Ledger, Store

__all__ = ["workspace_status"]


def workspace_status(workspace: Workspace) -> dict[str, Any]:
    """Counts and states a user checks first: store, schema, keys, ledger, lake, artifacts."""
    store = Store.open(workspace)
    try:
        summary: dict[str, Any] = {
            "workspace": str(workspace.root),
            "environment": workspace.settings.environment,
            "store": {
                "url": store.url,
                "backend": store.backend,
                "revision": store.current_revision(),
                "up_to_date": store.current_revision() == store.head_revision(),
            },
            "ledger": {"entries": Ledger.open(workspace, store).count()},
            "contracts": len(ContractRegistry.for_workspace(workspace).list()),
            "quarantine": {"open_rows": _open_quarantine(workspace, store)},
            "api_keys": {"active": ApiKeyService(store).count_active()},
            "lake": _folder_summary(workspace.lake_dir, "*.parquet"),
            "artifacts": _folder_summary(workspace.artifacts_dir, "*"),
        }
    finally:
        store.dispose()
    return summary


def _open_quarantine(workspace: Workspace, store: Store) -> int:
    service = QuarantineService(workspace, store, Ledger.open(workspace, store))
    return sum(int(group["rows"]) for group in service.summary(status="open"))


def _folder_summary(folder: Any, pattern: str) -> dict[str, int]:
    files = [path for path in folder.rglob(pattern) if path.is_file()] if folder.exists() else []
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}
