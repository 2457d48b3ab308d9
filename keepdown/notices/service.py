"""Notices from confirmed sightings to delivered messages, and the provider's answers.

:meth:`NoticeService.send_due` is one pass of the notice worker:

1. **recover** interrupted deliveries (:mod:`keepdown.notices.outbox`);
2. **draft** notices from confirmed sightings, joining reappearances to their history
   (:mod:`keepdown.notices.drafting`);
3. **plan** every due notice, re-notice and escalation in the outbox;
4. **deliver** them and record the results; not while ``notice_public_base_url`` is unset
   or loopback (:func:`~keepdown.notices.links.check_public_base_url`): a notice whose
   response links point at ``http://127.0.0.1`` is one the provider cannot answer.

``send_due`` is idempotent and safe to run in two processes at once on PostgreSQL: each step
decides under the notice's row lock, or by a compare-and-set on an outbox row, so a notice is
drafted, planned and sent once whoever runs it (see docs/notices.md, "Running the work").

The provider's answers and an analyst's review are :mod:`keepdown.notices.answers`; an
analyst's resend and an operator's retry of a failed delivery are
:mod:`keepdown.notices.resend`.
"""

from __future__ import annotations

from keepdown.clock import Clock
from keepdown.notices import lifecycle as lc
from keepdown.notices.answers import Answers
from keepdown.notices.compose import Composer
from keepdown.notices.drafting import Drafter, UnattributedHost
from keepdown.notices.links import check_public_base_url
from keepdown.notices.model import Delivery, NoticeStore
from keepdown.notices.outbox import DeliveryReport, Outbox
from keepdown.notices.policy import policy_for
from keepdown.notices.providers import Provider, ProviderStore
from keepdown.notices.resend import Resender, Resent
from keepdown.notices.senders import Sender
from keepdown.settings import Settings

__all__ = ["DeliveryReport", "NoticeService", "Resent", "policy_for"]


class NoticeService:
    """The notice worker's send pass, and the answers (see the module docstring)."""

    def __init__(
        self,
        store: NoticeStore,
        providers: ProviderStore,
        composer: Composer,
        senders: dict[str, Sender],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store = store
        self.providers = providers
        self.clock = clock
        self.settings = settings
        self.drafter = Drafter(store, providers)
        self.outbox = Outbox(store, providers, composer, senders, clock, settings)
        self.answers = Answers(store, clock)
        # The answers, under the names the API and the CLI call.
        self.acknowledge = self.answers.acknowledge
        self.report_removed = self.answers.report_removed
        self.dispute = self.answers.dispute
        self.review = self.answers.review
        self.reopen = self.answers.reopen
        self.resender = Resender(store, providers, self.outbox, clock, settings)
        self.retry_delivery = self.resender.retry_delivery

    async def resend(
        self, reference: str, *, requested_by: str, request_id: str | None = None
    ) -> Resent:
        """Send a notice's open locations again now, once per request (notices.resend)."""
        return await self.resender.resend(
            reference, requested_by=requested_by, request_id=request_id
        )

    def policy(self, provider: Provider) -> lc.Policy:
        return policy_for(provider, self.settings)

    async def send_due(self) -> DeliveryReport:
        """One pass (module docstring)."""
        report = DeliveryReport()
        self.outbox.recover(report)
        report.drafted = [n.reference for n in self.drafter.draft(self.clock.now())]
        report.planned = [d.id for d in self.outbox.plan()]
        check_public_base_url(self.settings)  # drafted and planned; delivered once it is set
        await self.outbox.deliver(report)
        return report

    def unattributed(self) -> list[UnattributedHost]:
        """Hosts of confirmed sightings that no registry entry covers, for an analyst."""
        return self.drafter.unattributed()

    def confirm_delivery(self, delivery_id: int, *, delivered: bool) -> Delivery:
        """An operator's word on an ``uncertain`` or ``manual`` delivery."""
        return self.outbox.confirm_delivery(delivery_id, delivered=delivered)
