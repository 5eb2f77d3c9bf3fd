"""The aimsight exception hierarchy.

Every error a user can act on is an :class:`AimsightError`; its message says what went wrong
and what to do about it. The CLI prints it as one line and exits non-zero; the API maps it to
one JSON error shape (``api/exception_handlers.py``). Domain code never imports FastAPI.

::

    AimsightError
    ├── ConfigurationError        a setting is missing, unknown or has a value that is not allowed
    ├── WorkspaceError            the workspace cannot be found, created or opened
    │   └── WorkspaceNotFound     there is no aimsight.toml where a workspace was expected
    ├── StoreError                the operational store cannot be reached or migrated
    │   └── MigrationError        an Alembic upgrade or downgrade failed
    ├── LedgerError               the decision ledger cannot be written or read
    │   └── LedgerIntegrityError  verification found an altered, removed, inserted or moved entry
    ├── AuthError                 base for authentication and authorisation failures
    │   ├── AuthenticationFailed  no API key, or one that is unknown or revoked (HTTP 401)
    │   └── PermissionDenied      the key's role lacks the permission a route needs (HTTP 403)
    ├── NotFound                  a named thing (user, entry, ...) does not exist (HTTP 404)
    ├── Conflict                  the request clashes with what exists, e.g. a duplicate name (409)
    └── InvalidInput              malformed input; the message names the field and the fix (422)

Later layers add their own subtrees (``ContractViolation``, ``ConsentDenied``, ...) under these.
"""

from __future__ import annotations

__all__ = [
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
    "StoreError",
    "WorkspaceError",
    "WorkspaceNotFound",
]


class AimsightError(Exception):
    """Root of every error aimsight raises on purpose.

    Attributes:
        code: a stable, machine-readable snake_case code used in API error bodies.
        exit_code: the process exit status the CLI uses for this error.
    """

    code: str = "aimsight_error"
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(AimsightError):
    """Raised when a setting is missing, unknown or has a value that is not allowed."""

    code = "configuration_error"
    exit_code = 2


class WorkspaceError(AimsightError):
    """Raised when a workspace cannot be created or opened."""

    code = "workspace_error"
    exit_code = 2


class WorkspaceNotFound(WorkspaceError):
    """Raised when no ``aimsight.toml`` exists where a workspace was expected."""

    code = "workspace_not_found"


class StoreError(AimsightError):
    """Raised when the operational store cannot be reached or used."""

    code = "store_error"


class MigrationError(StoreError):
    """Raised when applying or reverting schema migrations fails."""

    code = "migration_error"


class LedgerError(AimsightError):
    """Raised when the ledger cannot be written or read."""

    code = "ledger_error"


class LedgerIntegrityError(LedgerError):
    """Raised when verification finds a ledger entry that was altered, removed or moved."""

    code = "ledger_integrity_error"


class AuthError(AimsightError):
    """Base for authentication and authorisation failures."""

    code = "auth_error"


class AuthenticationFailed(AuthError):
    """Raised when a request has no API key, or an unknown or revoked one."""

    code = "unauthenticated"


class PermissionDenied(AuthError):
    """Raised when the caller's role lacks the permission an action needs."""

    code = "forbidden"


class NotFound(AimsightError):
    """Raised when a named thing does not exist."""

    code = "not_found"


class Conflict(AimsightError):
    """Raised when a request clashes with existing state (a duplicate name, a revoked key)."""

    code = "conflict"


class InvalidInput(AimsightError):
    """Raised when input is malformed; the message names the field and the fix."""

    code = "invalid_input"
    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
