"""Roles, permissions and the one matrix that maps each role to what it may do.

Every API route names one :class:`Permission`; an API key carries one :class:`Role`. The
matrix below is the only place that says which role holds which permission, so the API, the
docs (``docs/security.md``) and the tests all read it from here.

Separation of duties (ISO/IEC 42001 A.3.2): nobody but ``admin`` may both train a model and
approve it, so a model reaches production only after a second person has looked at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from aimsight.core.errors import InvalidInput

__all__ = [
    "ROLE_PERMISSIONS",
    "SEPARATED_DUTIES",
    "Permission",
    "Role",
    "has_permission",
    "parse_role",
    "render_permission_matrix",
]


class Role(StrEnum):
    """Who holds an API key, by job (see ``docs/security.md``)."""

    ADMIN = "admin"
    DATA_ENGINEER = "data_engineer"
    ANALYST = "analyst"
    GOVERNANCE = "governance"
    PRIVACY = "privacy"
    AGENT = "agent"
    SERVICE = "service"


class Permission(StrEnum):
    """One thing a caller may do; written ``resource:action``."""

    HEALTH_READ = "health:read"
    META_READ = "meta:read"
    USERS_MANAGE = "users:manage"
    LEDGER_READ = "ledger:read"
    LEDGER_VERIFY = "ledger:verify"
    LEDGER_ERASE = "ledger:erase"
    INGEST_WRITE = "ingest:write"
    COLLECT_WRITE = "collect:write"
    CUSTOMERS_READ = "customers:read"
    PROFILES_READ = "profiles:read"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    DSAR_MANAGE = "dsar:manage"
    MODELS_READ = "models:read"
    MODELS_TRAIN = "models:train"
    MODELS_APPROVE = "models:approve"
    MODELS_PROMOTE = "models:promote"
    DECISIONS_MAKE = "decisions:make"
    DECISIONS_READ = "decisions:read"
    DECISIONS_REVIEW = "decisions:review"
    OUTCOMES_WRITE = "outcomes:write"
    FLOWS_MANAGE = "flows:manage"
    MONITOR_READ = "monitor:read"
    EXPERIMENTS_MANAGE = "experiments:manage"
    AIMS_READ = "aims:read"
    AIMS_WRITE = "aims:write"
    AUDIT_READ = "audit:read"
    IDENTITY_READ = "identity:read"
    IDENTITY_RUN = "identity:run"
    IDENTITY_STEWARD = "identity:steward"
    IDENTITY_RESOLVE = "identity:resolve"


_P = Permission
# Every role may check health and see who it is (meta:read covers /v1/version and /v1/whoami).
_BASE = frozenset({_P.HEALTH_READ, _P.META_READ})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.DATA_ENGINEER: _BASE
        | {
            _P.INGEST_WRITE,
            _P.COLLECT_WRITE,
            _P.CUSTOMERS_READ,
            _P.PROFILES_READ,
            _P.MODELS_READ,
            _P.MODELS_TRAIN,
            _P.MODELS_PROMOTE,
            _P.DECISIONS_READ,
            _P.FLOWS_MANAGE,
            _P.MONITOR_READ,
            _P.EXPERIMENTS_MANAGE,
            _P.IDENTITY_READ,
            _P.IDENTITY_RUN,
            _P.IDENTITY_STEWARD,
            _P.IDENTITY_RESOLVE,
        },
        Role.ANALYST: _BASE
        | {
            _P.CUSTOMERS_READ,
            _P.PROFILES_READ,
            _P.MODELS_READ,
            _P.DECISIONS_READ,
            _P.MONITOR_READ,
            _P.EXPERIMENTS_MANAGE,
            _P.IDENTITY_READ,
        },
        Role.GOVERNANCE: _BASE
        | {
            _P.AIMS_READ,
            _P.AIMS_WRITE,
            _P.AUDIT_READ,
            _P.LEDGER_READ,
            _P.LEDGER_VERIFY,
            _P.MODELS_READ,
            _P.MODELS_APPROVE,
            _P.DECISIONS_READ,
            _P.DECISIONS_REVIEW,
            _P.MONITOR_READ,
            _P.IDENTITY_READ,
        },
        Role.PRIVACY: _BASE
        | {
            _P.CONSENT_READ,
            _P.CONSENT_WRITE,
            _P.DSAR_MANAGE,
            _P.CUSTOMERS_READ,
            _P.PROFILES_READ,
            _P.LEDGER_READ,
            _P.LEDGER_VERIFY,
            _P.LEDGER_ERASE,
            _P.AUDIT_READ,
            _P.IDENTITY_READ,
        },
        Role.AGENT: _BASE
        | {_P.DECISIONS_MAKE, _P.DECISIONS_READ, _P.OUTCOMES_WRITE, _P.IDENTITY_RESOLVE},
        Role.SERVICE: _BASE
        | {
            _P.INGEST_WRITE,
            _P.COLLECT_WRITE,
            _P.DECISIONS_MAKE,
            _P.OUTCOMES_WRITE,
            _P.IDENTITY_READ,
            _P.IDENTITY_RESOLVE,
        },
    }
)
"""Which permissions each role holds; the only place this is decided."""

SEPARATED_DUTIES: tuple[frozenset[Permission], ...] = (
    frozenset({Permission.MODELS_TRAIN, Permission.MODELS_APPROVE}),
)
"""Sets of permissions no single role other than ``admin`` may hold together."""


def has_permission(role: Role, permission: Permission) -> bool:
    """True when ``role`` holds ``permission`` in :data:`ROLE_PERMISSIONS`."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def parse_role(text: str) -> Role:
    """The :class:`Role` named by ``text`` (case and ``-``/``_`` do not matter).

    Raises:
        InvalidInput: ``text`` names no role; the message lists the allowed ones.
    """
    wanted = text.strip().lower().replace("-", "_")
    try:
        return Role(wanted)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInput(
            f"unknown role {text!r}; allowed roles: {allowed}", field="role"
        ) from None


def render_permission_matrix() -> str:
    """The matrix as a Markdown table: one row per permission, one column per role."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(f"`{role.value}`" for role in roles) + " |",
        "|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for permission in Permission:
        marks = ["✓" if has_permission(role, permission) else "" for role in roles]
        lines.append(f"| `{permission.value}` | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
