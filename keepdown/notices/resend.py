"""An analyst's resend of a notice, and an operator's retry of a delivery that failed for good.

:meth:`Resender.resend` sends a notice's open locations again, now, as a re-notice:

1. it is refused (Conflict) for a notice not sent yet (the next send pass sends it), a closed
   one (every location removed or withdrawn), or one whose re-notice is already on its way;
2. the intent is recorded in the outbox together with ``NoticeResendRequested`` (one
   transaction), under a message key that names the request (``<ref>.resend.<request id>``):
   the same request posted twice (a double click, a script retrying) names the same delivery
   and nothing more is sent. An earlier re-notice that failed for good does not stop it: a
   person asked;
3. that delivery is claimed by its id and sent at once; if the attempt fails it stays in the
   outbox, retried like any other. Its ``NoticeSent`` has ``renotice`` and ``resend``, and
   the lifecycle counts it as a re-notice (the next scheduled one is due a re-notice period
   later).

A delivery that failed for good (``failed``) is not planned again to the same contact
(:mod:`keepdown.storage.outbox_store`); :meth:`Resender.retry_delivery` is the operator's way
to send that same message again (the mail server was fixed, not the contact).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from keepdown.clock import Clock
from keepdown.errors import Conflict, InvalidInput
from keepdown.events import Event, NoticeResendRequested
from keepdown.notices import lifecycle as lc
from keepdown.notices.model import Delivery, DeliveryKind, DeliveryState, Notice, NoticeStore
from keepdown.notices.outbox import DeliveryReport, Outbox
from keepdown.notices.providers import Provider, ProviderStore
from keepdown.settings import Settings

__all__ = ["Resender", "Resent", "check_request_id"]

Requested = Callable[[Notice, Delivery], list[Event]]

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_ON_ITS_WAY = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.UNCERTAIN,
    DeliveryState.MANUAL,
)
_CLOSED = (lc.NoticeState.REMOVED, lc.NoticeState.REVIEWED)


def check_request_id(value: str | None) -> str:
    """The request's id (8-64 letters, digits, ``-``, ``_``), or a fresh one when none."""
    if not value:
        return uuid.uuid4().hex
    if not _REQUEST_ID.fullmatch(value):
        raise InvalidInput(
            "a request id is 8 to 64 letters, digits, '-' or '_'", field="request_id"
        )
    return value


@dataclass(frozen=True)
class Resent:
    """The resend's delivery as it stands, and whether this request was made before."""

    delivery: Delivery
    asked_before: bool


class Resender:
    """Resends and retries (module docstring)."""

    def __init__(
        self,
        store: NoticeStore,
        providers: ProviderStore,
        outbox: Outbox,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store = store
        self.providers = providers
        self.outbox = outbox
        self.clock = clock
        self.settings = settings

    def _on_its_way(self, notice: Notice, kind: DeliveryKind) -> Delivery | None:
        return next(
            (
                d
                for d in self.store.deliveries(notice_id=notice.id)
                if d.kind is kind and d.state in _ON_ITS_WAY
            ),
            None,
        )

    def _refuse_unless_open(self, notice: Notice) -> None:
        if notice.state is lc.NoticeState.DRAFTED:
            raise Conflict(f"{notice.reference} was not sent yet: the next send pass sends it")
        if notice.state in _CLOSED or not any(loc.status.open for loc in notice.locations):
            raise Conflict(
                f"{notice.reference} is {notice.state.value}: no location is open",
                state=notice.state.value,
            )

    async def resend(
        self, reference: str, *, requested_by: str, request_id: str | None = None
    ) -> Resent:
        """Send the notice's open locations again now (module docstring)."""
        request = check_request_id(request_id)
        notice = self.store.get(reference)
        provider = self.providers.get_by_id(notice.provider_id)
        made: list[Delivery] = []

        def requested(current: Notice, delivery: Delivery) -> list[Event]:
            made.append(delivery)
            return [
                NoticeResendRequested(
                    at=self.clock.now(),
                    notice_ref=current.reference,
                    provider=provider.name,
                    provider_id=str(provider.id),
                    country=provider.country,
                    delivery_id=str(delivery.id),
                    requested_by=requested_by[:200],
                    locations=tuple(str(i) for i in delivery.location_ids),
                )
            ]

        delivery = self._record(notice, provider, request, requested)
        if made and delivery.state is DeliveryState.PENDING:
            lease = self.settings.notice_delivery_lease_seconds
            claimed = self.store.claim(self.clock.now(), lease, delivery_id=delivery.id)
            if claimed is not None:
                await self.outbox.deliver_one(claimed, DeliveryReport())
        return Resent(self.store.get_delivery(delivery.id), asked_before=not made)

    def _record(
        self, notice: Notice, provider: Provider, request: str, requested: Requested
    ) -> Delivery:
        """The resend's delivery: recorded now, or the one this request recorded before."""
        key_token = f"resend.{request}"
        name = f"{notice.reference}.{key_token}"
        for before in self.store.deliveries(notice_id=notice.id):
            if before.message_key.strip("<>").partition("@")[0] == name:
                return before
        self._refuse_unless_open(notice)
        busy = self._on_its_way(notice, DeliveryKind.RENOTICE)
        if busy is not None:
            raise Conflict(
                f"a re-notice of {notice.reference} is already on its way "
                f"(delivery {busy.id}, {busy.state.value})",
                delivery_id=busy.id,
            )
        open_now = [loc for loc in notice.locations if loc.status.open]
        delivery = self.outbox.record_intent(
            notice,
            provider,
            DeliveryKind.RENOTICE,
            open_now,
            self.clock.now(),
            token=key_token,
            still_due=lambda current: any(loc.status.open for loc in current.locations),
            despite_failure=True,
            events=requested,
        )
        if delivery is None:  # another process got there first, or the notice closed
            raise Conflict(f"{notice.reference} cannot be resent right now; look at it again")
        return delivery

    def retry_delivery(self, delivery_id: int) -> Delivery:
        """Send a ``failed`` delivery again, as it was (module docstring)."""
        d = self.store.get_delivery(delivery_id)
        if d.state is not DeliveryState.FAILED:
            raise Conflict(f"delivery {d.id} is {d.state.value}, not failed", state=d.state.value)
        notice = self.store.get_by_id(d.notice_id)
        if notice.state in _CLOSED:
            raise Conflict(f"{notice.reference} is {notice.state.value}: nothing to send")
        if d.kind is DeliveryKind.NOTICE and notice.state is not lc.NoticeState.DRAFTED:
            raise Conflict(f"the first notice of {notice.reference} went out since")
        busy = self._on_its_way(notice, d.kind)
        if busy is not None:
            raise Conflict(
                f"delivery {busy.id} of the same kind is on its way", delivery_id=busy.id
            )
        values = {
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": None,
            "handover_at": None,
            "last_error": f"retried by an operator after: {d.last_error or ''}"[:2000],
        }
        if not self.store.settle(d.id, DeliveryState.FAILED, values):
            raise Conflict(f"delivery {d.id} changed meanwhile; look at it again")
        return self.store.get_delivery(d.id)
