"""Security: API keys, roles and the permission matrix."""

from aimsight.security._keys import ApiKey, ApiKeyService, AuditTrail
from aimsight.security._roles import (
    ROLE_PERMISSIONS,
    SEPARATED_DUTIES,
    Permission,
    Role,
    has_permission,
    parse_role,
    render_permission_matrix,
)

__all__ = [
    "ROLE_PERMISSIONS",
    "SEPARATED_DUTIES",
    "ApiKey",
    "ApiKeyService",
    "AuditTrail",
    "Permission",
    "Role",
    "has_permission",
    "parse_role",
    "render_permission_matrix",
]
