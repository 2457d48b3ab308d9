"""Organisations, API keys, roles, organisation scoping, bank shares and the audit log."""

from keepdown.auth.model import (
    ApiKey,
    AuditRecord,
    IssuedKey,
    Organisation,
    Principal,
    Role,
    parse_duration,
)
from keepdown.auth.scope import Scope
from keepdown.auth.service import AuthService
from keepdown.auth.store import AuditLog, AuthStore, InMemoryAuthStore

__all__ = [
    "ApiKey",
    "AuditLog",
    "AuditRecord",
    "AuthService",
    "AuthStore",
    "InMemoryAuthStore",
    "IssuedKey",
    "Organisation",
    "Principal",
    "Role",
    "Scope",
    "parse_duration",
]
