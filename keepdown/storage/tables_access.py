"""Who may do what: organisations, API keys, the audit log, and the people who sign in to the
web pages with their sessions (migrations 0001, 0002, 0007).

Tables live on :data:`keepdown.storage.schema.metadata`; ``schema.py`` imports this module so
the migration check sees them.

- ``organisations``: every party (the operator, member organisations, platforms, providers,
  regulators);
- ``api_keys``: keys for programs; only the SHA-256 of the token is kept;
- ``audit_log``: every authenticated action, written ahead and settled ok/failed;
- ``users``: people who sign in to the web pages (API keys are for programs). A user belongs
  to an organisation and has one of the API roles; ``senior`` marks analysts who take
  escalated items. Only the Argon2 hash of the password is kept; ``totp_secret`` is set once
  a second factor is enrolled, ``totp_last_step`` stops a code being used twice;
- ``web_sessions``: one row per signed-in browser; only the SHA-256 of the cookie's token is
  kept. ``csrf_token`` is bound to the session; ``pending_totp`` marks a session whose
  password was right but whose second factor is still to come; ``review_since`` is when the
  analyst last took a break (the break reminder counts decisions since then).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    false,
)

from keepdown.storage.schema import BigId, Json, UtcDateTime, metadata

__all__ = ["api_keys", "audit_log", "organisations", "users", "web_sessions"]

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the whole token; the token itself is never stored.
    Column("secret_sha256", String(64), nullable=False),
    Column("label", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    CheckConstraint(
        "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'peer', 'licensee')",
        name="role",
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("organisation", String(200), nullable=True),
    Column("role", String(16), nullable=True),
    Column("client_ip", String(64), nullable=True),
    Column("target", String(500), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False, server_default="ok"),
    Column("details", Json, nullable=False),
    Index(None, "at"),
    Index(None, "action", "at"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("senior", Boolean, nullable=False, server_default=false()),
    Column("password_hash", String(255), nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("language", String(8), nullable=False, server_default=""),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime, nullable=True),
    CheckConstraint(
        "role IN ('admin', 'analyst', 'platform', 'provider', 'regulator', 'peer', 'licensee')",
        name="role",
    ),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("pending_totp", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("review_since", UtcDateTime, nullable=True),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)
