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
    with Store.open(workspace) as store:
        ledger = Ledger.open(workspace, store)
        revision = store.current_revision()
        open_quarantine = QuarantineService(workspace, store, ledger).summary(status="open")
        summary: dict[str, Any] = {
            "workspace": str(workspace.root),
            "environment": workspace.settings.environment,
            "store": {
                "url": store.url,
                "backend": store.backend,
                "revision": revision,
                "up_to_date": revision == store.head_revision(),
            },
            "ledger": {"entries": ledger.count()},
            "contracts": len(ContractRegistry.for_workspace(workspace).list()),
            "quarantine": {"open_rows": sum(int(group["rows"]) for group in open_quarantine)},
            "api_keys": {"active": ApiKeyService(store).count_active()},
            "lake": _folder_summary(workspace.lake_dir, "*.parquet"),
            "artifacts": _folder_summary(workspace.artifacts_dir, "*"),
        }
    return summary


def _folder_summary(folder: Any, pattern: str) -> dict[str, int]:
    files = [path for path in folder.rglob(pattern) if path.is_file()] if folder.exists() else []
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}
