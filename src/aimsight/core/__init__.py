"""Core: settings, workspace, errors, ids, clock and logging. No business logic."""

from aimsight.core.clock import isoformat_utc, now_utc, set_clock
from aimsight.core.errors import (
    AimsightError,
    AuthenticationFailed,
    AuthError,
    ConfigurationError,
    Conflict,
    InvalidInput,
    LedgerError,
    LedgerIntegrityError,
    MigrationError,
    NotFound,
    PermissionDenied,
    StoreError,
    WorkspaceError,
    WorkspaceNotFound,
)
from aimsight.core.ids import new_id, new_secret
from aimsight.core.log import configure_logging, get_logger, scrub
from aimsight.core.settings import Settings, load_settings, settings_reference
from aimsight.core.workspace import CONFIG_FILE, Workspace, resolve_workspace_path

__all__ = [
    "CONFIG_FILE",
    "AimsightError",
    "AuthError",
    "AuthenticationFailed",
    "ConfigurationError",
    "Conflict",
    "InvalidInput",
    "LedgerError",
    "LedgerIntegrityError",
    "MigrationError",
    "NotFound",
    "PermissionDenied",
    "Settings",
    "StoreError",
    "Workspace",
    "WorkspaceError",
    "WorkspaceNotFound",
    "configure_logging",
    "get_logger",
    "isoformat_utc",
    "load_settings",
    "new_id",
    "new_secret",
    "now_utc",
    "resolve_workspace_path",
    "scrub",
    "set_clock",
    "settings_reference",
]
