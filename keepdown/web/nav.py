"""The navigation: which pages each role sees in the header (and in what order).

A page adds itself here as well as in :data:`keepdown.web.PAGE_MODULES`. The header shows a
person only the pages they may open: each item names the roles its route admits and whether
it is the operator's case work (``page(..., case_work=True)``: analysts and admins of another
organisation are refused), and ``tests/web/test_nav.py`` checks that every item says what its
route's guard says (the nav showed case-work pages to an admin outside the operator's
organisation, who then met 403s).
"""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.auth import Role
from keepdown.auth.scope import refused_case_work
from keepdown.web.i18n import N_

__all__ = ["NAV", "NavItem", "nav_for"]

STAFF = frozenset({Role.ADMIN, Role.ANALYST})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: frozenset[Role]
    case_work: bool = False


NAV: list[NavItem] = [
    NavItem("/web/review", N_("Review"), STAFF, case_work=True),
    NavItem("/web/sightings", N_("Sightings"), STAFF, case_work=True),
    NavItem("/web/notices", N_("Notices"), STAFF | {Role.PROVIDER}, case_work=True),
    NavItem("/web/providers", N_("Providers"), STAFF, case_work=True),
    NavItem("/web/figures", N_("Figures"), STAFF | {Role.REGULATOR}),
    NavItem("/web/banks", N_("Banks"), STAFF),
    NavItem("/web/reports", N_("Reported URLs"), STAFF, case_work=True),
    NavItem("/web/indicators", N_("Payment indicators"), STAFF, case_work=True),
    NavItem("/web/allow-list", N_("Allow-list"), STAFF, case_work=True),
    NavItem("/web/users", N_("People"), frozenset({Role.ADMIN})),
    NavItem("/web/keys", N_("API keys"), frozenset({Role.ADMIN})),
    NavItem("/web/audit", N_("Audit log"), frozenset({Role.ADMIN})),
]


def nav_for(role: Role | None, organisation: str = "", operator: str = "") -> list[NavItem]:
    """What the header shows to ``role`` of ``organisation`` (nothing before sign-in): the
    pages it may open, case work only to the operator's own people."""
    if role is None:
        return []
    outside = refused_case_work(role, organisation, operator)
    return [item for item in NAV if role in item.roles and not (item.case_work and outside)]
