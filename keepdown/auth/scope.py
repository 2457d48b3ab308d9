"""Which organisation's things a principal may see and change.

A hotline runs keepdown for itself and for others (platforms, partner hotlines, providers).
The operator's own organisation (the ``operator_organisation`` setting) administers
everything; every other organisation sees and manages only its own:

=====================  =======================================  ==============================
                       operator organisation                    any other organisation
=====================  =======================================  ==============================
organisations          create; list all                         list its own only
keys                   issue, list, revoke for any              its own organisation's only
audit log              every record                             its own actors' records only
banks: change          any bank (create for any owner)          banks it owns
banks: read            every bank                               banks it owns or shared with it
case work              its analysts and admins                  refused (403)
=====================  =======================================  ==============================

Case work is what the operator's hotline does with what it finds: reported URLs and crawls,
sightings, the review queue and its media, notices, providers, financial indicators. It holds
the locations of material and, in the review queue, the material itself, so only the
operator's analysts and admins reach it (:func:`check_case_work`); an admin of another
organisation, who may issue keys and add people in their own organisation, cannot make
themselves or anyone an analyst who sees it. Providers still see their own notices and
regulators the aggregate figures, whatever their organisation.

Roles still apply first (an analyst never changes a bank, whatever its organisation). What a
principal may not see answers 404, as if it did not exist (names of other organisations'
banks and keys are not confirmed to probes); what it may see but not change answers 403.
Matching is not scoped: a platform's upload is matched against every bank that takes part in
pooled matching, because keeping known material down is the point of pooling the banks. So
what makes a bank act is the operator's decision (``keepdown.banks.service.BankService``):
only the operator's admins set ``trust: auto`` and thresholds, and another organisation's bank
takes part only once an operator admin accepted it (docs/banks.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keepdown.auth.model import Principal, Role
from keepdown.errors import Forbidden, NotFound

__all__ = ["CASE_WORK_ROLES", "Scope", "check_case_work", "refused_case_work"]

#: The roles whose access to case work depends on the organisation (module docstring).
CASE_WORK_ROLES = frozenset({Role.ANALYST, Role.ADMIN})


def refused_case_work(role: Role, organisation: str, operator: str) -> bool:
    """True for an analyst or admin of another organisation than the operator."""
    return role in CASE_WORK_ROLES and (not operator or organisation != operator)


def check_case_work(role: Role, organisation: str, operator: str) -> None:
    """Forbidden when an analyst or admin of another organisation than the operator asks for
    case work (reports, sightings, review, notices, providers, indicators)."""
    if refused_case_work(role, organisation, operator):
        raise Forbidden(
            f"case work belongs to the operator organisation; {organisation!r} is not it",
            organisation=organisation,
        )


@dataclass(frozen=True)
class Scope:
    """A principal together with the operator organisation's name."""

    principal: Principal
    operator: str

    @property
    def organisation(self) -> str:
        return self.principal.organisation

    @property
    def is_operator(self) -> bool:
        return bool(self.operator) and self.principal.organisation == self.operator

    def own(self, organisation: str) -> bool:
        """True when this principal administers ``organisation``."""
        return self.is_operator or organisation == self.principal.organisation

    def require_operator(self, what: str) -> None:
        if not self.is_operator:
            raise Forbidden(f"only the operator organisation may {what}")

    def require_own(self, organisation: str, what: str) -> None:
        """Forbidden unless this principal administers ``organisation``."""
        if not self.own(organisation):
            raise Forbidden(
                f"organisation {self.organisation!r} may not {what} for another organisation"
            )

    def filter_organisation(self, asked: str | None) -> str | None:
        """The organisation a listing is limited to (None: every one, operator only)."""
        if self.is_operator:
            return asked
        if asked not in (None, self.organisation):
            raise Forbidden(f"organisation {self.organisation!r} may list only its own")
        return self.organisation

    def reads_bank(self, owner: str, bank: str, shared: Iterable[str]) -> bool:
        """True when this principal may read ``bank`` (owned by ``owner``).

        ``shared`` is the names of the banks shared with this principal's organisation."""
        return self.own(owner) or bank in set(shared)

    def check_bank_read(self, owner: str, bank: str, shared: Iterable[str]) -> None:
        if not self.reads_bank(owner, bank, shared):
            raise NotFound(f"no bank named {bank!r}", bank=bank)

    def check_bank_change(self, owner: str, bank: str, shared: Iterable[str]) -> None:
        """NotFound for a bank it cannot see; Forbidden for one shared with it only."""
        self.check_bank_read(owner, bank, shared)
        if not self.own(owner):
            raise Forbidden(f"bank {bank!r} is shared with {self.organisation!r}, not owned by it")
