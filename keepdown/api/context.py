"""What the API needs from the rest of keepdown, handed in by the composition root.

The routes never build services themselves: :func:`keepdown.app.server.build_app` makes an
:class:`ApiContext` from the process's :class:`~keepdown.app.runtime.Runtime` and stores it on
``app.state.ctx``. Every field is required and typed: matching goes through the runtime's one
:class:`~keepdown.matching.chain.MatchChain` (each route names its door: ``upload``,
``lookup``), URL fetching through :class:`UrlFetcher` (the crawler's SSRF-guarded fetcher),
stores through the small protocols their domain packages define.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import Request

from keepdown.auth import AuthService
from keepdown.banks.model import BankReader
from keepdown.banks.service import BankService
from keepdown.blocklist.desk import BlocklistDesk
from keepdown.clock import Clock
from keepdown.crawl.reported import ReportedUrls
from keepdown.events import EventStore
from keepdown.evidence import ChainStore, CheckpointStore, SigningKey
from keepdown.exchanges.quarantine import Quarantine
from keepdown.exchanges.service import FeedService
from keepdown.federation.peers import Peer, PeerSpec, Publication
from keepdown.federation.referrals import ReferralRecord
from keepdown.filings.desk import FilingDesk
from keepdown.finance.alerts import FinanceDesk
from keepdown.hashing import HashResult
from keepdown.matching.chain import MatchChain
from keepdown.matching.views import MatchView
from keepdown.notices.links import LinkSigner
from keepdown.notices.providers import Provider, ProviderStore
from keepdown.notices.service import NoticeService
from keepdown.reports.report import TransparencySource
from keepdown.review.model import ReviewStore
from keepdown.settings import Settings
from keepdown.submissions.platforms import PlatformDesk

if TYPE_CHECKING:  # only for annotations: the limiter module imports the limits library
    from keepdown.api.hash_pool import HashPool
    from keepdown.api.ratelimit import RateLimiter

__all__ = [
    "ApiContext",
    "BankReader",
    "FederationDesk",
    "MatchView",
    "UrlFetcher",
    "get_context",
]


class UrlFetcher(Protocol):
    """Fetches a URL's media through the SSRF guard: (bytes, content type)."""

    async def __call__(self, url: str, max_bytes: int) -> tuple[bytes, str]: ...


class EvidenceDesk(Protocol):
    """What the evidence endpoints use (keepdown.app.evidence.EvidenceServices)."""

    @property
    def chain(self) -> ChainStore: ...

    @property
    def checkpoints(self) -> CheckpointStore: ...

    def key(self) -> SigningKey: ...

    def for_providers(
        self,
        providers: Sequence[Provider],
        *,
        notice_ref: str | None = None,
        period: str | None = None,
    ) -> dict[str, Any]:
        """A provider's own evidence, signed (keepdown.reports.provider_evidence)."""
        ...


class FederationDesk(Protocol):
    """What the federation endpoints use (keepdown.app.federation.FederationServices)."""

    @property
    def name(self) -> str: ...

    def key(self) -> SigningKey: ...

    def page(self, bank: str, peer: str, *, after: str, nonce: str) -> dict[str, Any]: ...

    def published_to(self, peer: str) -> list[str]: ...

    def peers(self) -> list[Peer]: ...

    def add_peer(self, spec: PeerSpec) -> Peer: ...

    def publications(self, peer: str | None = None) -> list[Publication]: ...

    def publish(self, bank: str, peer: str, *, by: str, enabled: bool = True) -> Publication: ...

    def receive(self, sender: str, envelope: dict[str, Any]) -> dict[str, Any]: ...

    def referral_list(self, direction: str | None = None) -> list[ReferralRecord]: ...

    def decline(self, peer: str, reference: str, reason: str) -> ReferralRecord: ...


class ExchangeDesk(Protocol):
    """What the feed endpoints use (keepdown.app.exchanging.ExchangeServices)."""

    @property
    def feeds(self) -> FeedService: ...

    def quarantines(self, states: Sequence[str] | None = None) -> list[Quarantine]: ...

    def lift(self, entry_id: int, *, by: str, note: str) -> Quarantine: ...


@dataclass
class ApiContext:
    """Every service the routes use (all of them, always: no route checks for a missing one)."""

    settings: Settings
    auth: AuthService
    banks: BankService
    bank_reader: BankReader
    matcher: MatchChain
    hasher: Callable[[bytes, bool, bool], HashResult]  # (data, dihedral, robust)
    #: Where uploads are hashed: at most ``hash_threads`` at once in this process.
    hash_pool: HashPool
    fetch_url: UrlFetcher
    clock: Clock
    limiter: RateLimiter
    check_database: Callable[[], None]
    #: Reported URLs (intake, status) and their crawls.
    url_reports: ReportedUrls
    #: Sightings (``GET /api/v1/sightings``), the review queue's store.
    review_store: ReviewStore
    #: Where API actions record lifecycle events, and read them back for figures.
    events: EventStore
    #: The provider registry.
    providers: ProviderStore
    #: Notices and their lifecycle.
    notices: NoticeService
    #: Signs and checks notices' response links.
    notice_links: LinkSigner
    #: Transparency reports of a period, computed from the stored events.
    transparency: TransparencySource
    #: Financial indicators, their exports, subscriptions and alerts.
    finance: FinanceDesk
    #: The event chain's checkpoints and leaves, the signing key, providers' evidence.
    evidence: EvidenceDesk
    #: Uploads held on a self-submitted match, analysts' decisions, removal requests.
    platform: PlatformDesk
    #: Records for authorities: CyberTipline reports, statements of reasons, referrals, goAML.
    filings: FilingDesk
    #: Peers, banks published to them and their signed pages.
    federation: FederationDesk
    #: The URL block list: its forms, deltas, licensees' feeds, domains and appeals.
    blocklist: BlocklistDesk
    #: Hash exchanges' feeds and their quarantines.
    exchanges: ExchangeDesk


def get_context(request: Request) -> ApiContext:
    """The context the app was built with."""
    ctx: ApiContext = request.app.state.ctx
    return ctx
