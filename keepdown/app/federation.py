"""Federation's parts (issue 18, docs/federation.md): peers, banks published to them, the
signed pages a peer reads, on one runtime.

:class:`FederationServices` is what the API's federation routes, ``keepdown peer`` and the
workers use:

- :attr:`~FederationServices.name`: this hotline's name as peers know it
  (``federation_name``, else ``operator_organisation``);
- :meth:`~FederationServices.key`: the signing key, the one that signs bank exports and
  evidence (``evidence_signing_key``): a peer checks our pages and messages against it;
- :meth:`~FederationServices.page`: the signed page of a bank for a peer, refused
  (:class:`~keepdown.errors.Forbidden`, the same answer whether the bank exists or not) when
  the bank is not published to that peer;
- peers and publications (the choices are audited by the caller: API or CLI);
- the subscriber's side: :meth:`~FederationServices.subscribe` adds a peer's published bank
  as a feed of kind ``keepdown`` (the exchanges' feed mechanism), :meth:`~FederationServices.
  pull` runs it once and makes what it brought matchable in this process; a page refused
  (tampered, replayed, out of order...) stops the run, leaves the checkpoint where it was,
  and is audited (``federation.page.refused``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keepdown.app.referrals import ReferralDesk
from keepdown.app.runtime import Runtime
from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.errors import Forbidden
from keepdown.evidence import SigningKey
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.model import Feed
from keepdown.exchanges.service import FeedService
from keepdown.exchanges.sync import FeedSync, SyncLimits, SyncReport
from keepdown.federation.pages import PageRequest, serve_page
from keepdown.federation.peers import Peer, PeerSpec, Publication
from keepdown.federation.referrals import ReferralRecord
from keepdown.settings import Settings
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.storage.peer_store import SqlPeerStore
from keepdown.storage.referral_store import SqlReferralStore

__all__ = ["FederationServices", "federation_services"]


@dataclass
class FederationServices:
    """Federation's parts (module docstring)."""

    settings: Settings
    store: SqlPeerStore
    banks: BankService
    clock: Clock
    runtime: Runtime

    @property
    def name(self) -> str:
        return self.settings.federation_name or self.settings.operator_organisation

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(c.upper() for c in self.settings.federation_countries)

    def key(self) -> SigningKey:
        """The signing key of bank exports and evidence (module docstring)."""
        return self.runtime.evidence.key()

    # --- peers and publications ---------------------------------------------------------

    def add_peer(self, spec: PeerSpec) -> Peer:
        return self.store.add_peer(spec, self.clock.now())

    def peers(self) -> list[Peer]:
        return self.store.list_peers()

    def publish(self, bank: str, peer: str, *, by: str, enabled: bool = True) -> Publication:
        """Publish ``bank`` to ``peer`` (``enabled`` False withdraws it): an explicit choice."""
        return self.store.publish(bank, peer, by=by, now=self.clock.now(), enabled=enabled)

    def publications(self, peer: str | None = None) -> list[Publication]:
        return self.store.publications(peer=peer)

    def published_to(self, peer: str) -> list[str]:
        """The banks ``peer`` may read."""
        return [p.bank for p in self.store.publications(peer=peer) if p.enabled]

    # --- the publisher's pages ----------------------------------------------------------

    def page(self, bank: str, peer: str, *, after: str, nonce: str) -> dict[str, Any]:
        """The signed page of ``bank`` after ``after`` for ``peer`` (module docstring)."""
        if not self.store.published(bank, peer):
            raise Forbidden(f"bank {bank!r} is not published to {peer!r}", bank=bank, peer=peer)
        request = PageRequest(self.name, peer, bank, after, nonce)
        return serve_page(
            self.store,
            self.banks.store.get_bank(bank),
            request,
            self.key(),
            self.clock.now(),
            limit=self.settings.federation_page_entries,
        )

    # --- referrals ----------------------------------------------------------------------

    @property
    def referrals(self) -> ReferralDesk:
        """Referrals and status callbacks (keepdown.app.referrals)."""
        desk = self.__dict__.get("_referrals")
        if desk is None:
            desk = self.__dict__["_referrals"] = ReferralDesk(
                self, SqlReferralStore(self.runtime.storage.engine)
            )
        return desk

    def receive(self, sender: str, envelope: dict[str, Any]) -> dict[str, Any]:
        """A peer's referral or status message (``ReferralDesk.receive``)."""
        return self.referrals.receive(sender, envelope)

    def referral_list(self, direction: str | None = None) -> list[ReferralRecord]:
        return self.referrals.referrals(direction)

    def decline(self, peer: str, reference: str, reason: str) -> ReferralRecord:
        return self.referrals.decline(peer, reference, reason)

    # --- the subscriber's side ----------------------------------------------------------

    @property
    def feeds(self) -> FeedService:
        """The exchanges' feed service on this runtime's storage (peers' banks are feeds)."""
        store = SqlFeedStore(self.runtime.storage.engine)
        return FeedService(store, self.banks, self.clock)

    def subscribe(
        self,
        name: str,
        url: str,
        *,
        publisher: str,
        bank: str,
        public_key: str,
        api_key_env: str,
        owner: str,
        every_seconds: int = 60,
        trust: str = "review",
    ) -> Feed:
        """A feed (and bank ``name``) filled from ``publisher``'s published ``bank``."""
        return self.feeds.add(
            name,
            "keepdown",
            owner=owner,
            url=url,
            options={
                "bank": bank,
                "publisher": publisher,
                "audience": self.name,
                "public_key": public_key,
            },
            secrets={"api_key": api_key_env},
            every_seconds=every_seconds,
            trust=trust,
        )

    def pull(
        self,
        name: str,
        *,
        environ: dict[str, str] | None = None,
        limits: SyncLimits | None = None,
    ) -> SyncReport:
        """Run the feed ``name`` once (module docstring); refresh this process's index."""
        store = SqlFeedStore(self.runtime.storage.engine)
        feed = store.get_feed(name)

        def client(of: Feed) -> Any:  # a PagedClient: the ExchangeClient protocol's shape
            return build_client(of, self.clock, environ=environ)

        sync = FeedSync(store, self.runtime.storage.events, self.clock, client, limits=limits)
        report = sync.run(feed)
        if report.error.startswith("Refused"):
            self.runtime.auth.audit(
                "federation.page.refused",
                target=name,
                outcome="refused",
                error=report.error[:500],
            )
        if report.result.changed_entries and "matcher" in self.runtime._parts:
            self.runtime.matcher.refresh()
        return report


def federation_services(runtime: Runtime) -> FederationServices:
    """The federation parts of ``runtime`` (built once: ``Runtime.federation``)."""
    return FederationServices(
        settings=runtime.settings,
        store=SqlPeerStore(runtime.storage.engine),
        banks=runtime.banks,
        clock=runtime.clock,
        runtime=runtime,
    )
