"""What a signed-in person may see (their :class:`~keepdown.auth.Scope`) and how each of their
actions is audited (write-ahead).

The pages use the same rules as the API (:mod:`keepdown.auth.scope`): the people of the
operator organisation (``operator_organisation``) administer everything; another
organisation's admins see and manage only their own keys, people, banks and audit records;
analysts read their organisation's banks and the banks shared with it. What a person may not
see answers 404, as if it did not exist.

:func:`audited` writes the action's audit record (outcome ``started``) before the action runs
and settles it ``ok``, ``failed`` or ``refused`` when the block ends, as the API's
:func:`keepdown.api.deps.audited` does; if the record cannot be written, the action does not
run. It writes to the database on the calling thread: call it from a sync route (which
Starlette runs in a worker thread) or inside ``run_in_threadpool``, never on the event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request

from keepdown.auth import Scope
from keepdown.auth.signin import SignedIn
from keepdown.banks.model import Bank
from keepdown.web.context import web_context
from keepdown.web.security import client_ip

__all__ = ["audited", "bank_reader", "scope_of", "visible_bank"]


def scope_of(request: Request, viewer: SignedIn) -> Scope:
    """What ``viewer`` may see and change."""
    operator = str(web_context(request).settings.operator_organisation)
    return Scope(viewer.user.principal(), operator)


@contextlib.contextmanager
def audited(
    request: Request, viewer: SignedIn, action: str, target: str = "", **details: Any
) -> Iterator[dict[str, Any]]:
    """Run the ``with`` block as one audited action (module docstring).

    The block may put result details (counts, the id of what it made) into the dict it is
    given; they are stored when the record is settled."""
    with web_context(request).auth.audited(
        action,
        principal=viewer.user.principal(),
        client_ip=client_ip(request),
        target=target,
        **details,
    ) as found:
        yield found


def _shared(request: Request, scope: Scope) -> frozenset[str]:
    if scope.is_operator:
        return frozenset()
    return web_context(request).auth.banks_shared_with(scope.organisation)


def bank_reader(request: Request, scope: Scope) -> Callable[[Bank], bool]:
    """A test of whether ``scope`` may read a bank (owned, or shared with it)."""
    if scope.is_operator:
        return lambda bank: True
    shared = _shared(request, scope)
    return lambda bank: scope.reads_bank(bank.owner, bank.name, shared)


def visible_bank(request: Request, scope: Scope, name: str, *, change: bool = False) -> Bank:
    """The bank called ``name``: NotFound unless ``scope`` may read it; with ``change``,
    Forbidden unless it may change it too (a bank only shared with it)."""
    bank = web_context(request).bank_store.get_bank(name)
    shared = _shared(request, scope)
    if change:
        scope.check_bank_change(bank.owner, name, shared)
    else:
        scope.check_bank_read(bank.owner, name, shared)
    return bank
