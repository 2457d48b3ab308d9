"""The navigation: which pages each role sees in the header (and in what order).

A page adds itself here as well as in :data:`keepdown.web.PAGE_MODULES`; the roles listed
here only decide what the header shows; each route checks its own roles (``page(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.auth import Role
from keepdown.web.i18n import N_

__all__ = ["NAV", "NavItem", "nav_for"]

STAFF = frozenset({Role.ADMIN, Role.ANALYST})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: frozenset[Role]


NAV: list[NavItem] = [
    NavItem("/web/review", N_("Review"), STAFF),
    NavItem("/web/sightings", N_("Sightings"), STAFF),
    NavItem("/web/notices", N_("Notices"), STAFF | {Role.PROVIDER}),
    NavItem("/web/providers", N_("Providers"), STAFF),
    NavItem("/web/figures", N_("Figures"), STAFF | {Role.REGULATOR}),
    NavItem("/web/banks", N_("Banks"), STAFF),
    NavItem("/web/reports", N_("Reported URLs"), STAFF),
    NavItem("/web/allow-list", N_("Allow-list"), STAFF),
    NavItem("/web/users", N_("People"), frozenset({Role.ADMIN})),
    NavItem("/web/keys", N_("API keys"), frozenset({Role.ADMIN})),
    NavItem("/web/audit", N_("Audit log"), frozenset({Role.ADMIN})),
]


def nav_for(role: Role | None) -> list[NavItem]:
    """What the header shows to ``role`` (nothing before sign-in)."""
    return [item for item in NAV if role is not None and role in item.roles]
