"""The composition root: one :class:`Runtime` per process, every entry point's parts from it.

``keepdown serve`` (the API, the web pages and the embedded workers), ``keepdown worker``,
``keepdown scan``, ``keepdown crawl``, ``keepdown match``, the demo seed and every other CLI
verb open a :class:`Runtime` from settings and take what they need from it. So each part is
built in one place, once per process:

1. storage (SQLite by default, PostgreSQL by URL), migrated to the current schema, with the
   operator organisation (``operator_organisation``, ``local`` by default) in it;
2. on first use, each service: auth, banks, the bank index (checkpoint or rebuild, then kept
   current by ``refresh``), **the one match chain** (:mod:`keepdown.matching.chain`: index ->
   videos -> allow-list -> the feeds' defence (negative banks, quality floors, quarantine) ->
   self-submitted banks; :meth:`Runtime.matcher`), the self-submission
   programme with the platforms' held uploads and removal requests (``submissions``), the
   notice and re-check services, the crawl services, accountability (transparency reports,
   indicators, alerts), evidence, filings (records for authorities), review and sign-in, the
   task queue.

Parts are built lazily (``keepdown bank list`` never loads the index) and at most once
(a lock guards the first build: the API thread and the worker threads of ``serve`` share one
runtime). A rule added to the match chain here holds at every door; no door builds a matcher
or opens storage itself.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from keepdown.auth import AuthService
from keepdown.auth.signin import SignIn, SignInPolicy
from keepdown.banks.model import Bank, matching_view
from keepdown.banks.service import BankService
from keepdown.banks.staging import ImportStaging
from keepdown.clock import Clock, SystemClock
from keepdown.crawl.politeness import Politeness
from keepdown.crawl.transport import Resolver
from keepdown.exchanges.guards import QualityFloorStage
from keepdown.exchanges.negative import NegativeStage
from keepdown.exchanges.quarantine import QuarantinePolicy, QuarantineStage
from keepdown.federation import client as _keepdown_feeds  # noqa: F401  (the keepdown feed kind)
from keepdown.hashing import budget
from keepdown.matching.chain import MatchChain, MatchStage
from keepdown.matching.live import BankIndex
from keepdown.matching.vpdq import VideoMatcher, VpdqIndex, VpdqPolicy
from keepdown.notices.sealing import secret_box
from keepdown.notices.senders import Sender, SmtpSender, WebhookSender
from keepdown.review import AllowListFilter, QueueConfig, ReviewService
from keepdown.settings import Settings
from keepdown.storage import Storage, open_storage
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.storage.index_feed import IndexFeed, ping
from keepdown.storage.quarantine_store import SqlNegativeStore, SqlQuarantineStore
from keepdown.storage.review_store import SqlReviewStore
from keepdown.storage.user_store import SqlUserStore
from keepdown.submissions.stage import SelfSubmittedStage

if TYPE_CHECKING:
    from keepdown.app.accountability import AccountabilityServices
    from keepdown.app.crawling import CrawlServices
    from keepdown.app.evidence import EvidenceServices
    from keepdown.app.exchanging import ExchangeServices
    from keepdown.app.federation import FederationServices
    from keepdown.app.filing import FilingServices
    from keepdown.app.noticing import NoticeServices
    from keepdown.app.submitting import SubmissionServices
    from keepdown.blocklist.desk import BlocklistDesk

__all__ = ["Runtime", "auth_service", "open_services"]

T = TypeVar("T")


class Runtime:
    """Storage and every service built from settings, once per process (module docstring).

    ``clock``, ``resolver`` (name resolution for the crawler, re-checks and webhooks; tests map
    made-up names to loopback), ``senders`` (notice channels by name) and ``politeness`` (the
    re-checks' per-host limiter) replace the real ones where given."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        resolver: Resolver | None = None,
        senders: dict[str, Sender] | None = None,
        politeness: Callable[[], Politeness] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.resolver = resolver
        # the process-wide budget of decoded-picture memory (issue 16, item 6)
        budget.configure(settings.hash_memory_budget_bytes)
        self._senders = senders
        #: Makes the per-host limiter of each re-check pass (None: from the crawl settings).
        self.politeness = politeness
        self.storage: Storage = open_storage(settings)
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {}
        self._closed = False
        # The operator organisation exists from the first start, so the documented first
        # steps (`keepdown key create --org local ...`) work on a fresh database.
        self.auth.ensure_organisation(settings.operator_organisation)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        resolver: Resolver | None = None,
        senders: dict[str, Sender] | None = None,
        politeness: Callable[[], Politeness] | None = None,
    ) -> Iterator[Runtime]:
        """A runtime for one command; closed when the block ends."""
        runtime = cls(
            settings, clock=clock, resolver=resolver, senders=senders, politeness=politeness
        )
        try:
            yield runtime
        finally:
            runtime.close()

    def _once(self, name: str, build: Callable[[], T]) -> T:
        """The part called ``name``, built by ``build`` on first use only."""
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return cast(T, self._parts[name])

    # --- identity and banks ---------------------------------------------------------------

    @property
    def auth(self) -> AuthService:
        """API keys, organisations, the audit log."""

        def build() -> AuthService:
            store = SqlAuthStore(self.storage.engine)
            return AuthService(
                store,
                store,
                clock=self.clock,
                cache_seconds=self.settings.auth_cache_seconds,
                refusals_per_minute=self.settings.audit_refusals_per_minute,
            )

        return self._once("auth", build)

    @property
    def banks(self) -> BankService:
        return self._once(
            "banks",
            lambda: BankService(
                self.storage.banks,
                self.storage.events,
                self.clock,
                max_distance=self.settings.bank_max_pdq_distance,
                staging=ImportStaging(self.settings.data_path / "tmp"),
            ),
        )

    # --- matching -------------------------------------------------------------------------

    @property
    def index(self) -> BankIndex:
        """The process's one bank index, loaded (checkpoint or rebuild) and current."""

        def build() -> BankIndex:
            index = BankIndex.from_settings(
                self.settings,
                IndexFeed(self.storage.engine),
                self.matching_banks,
                pdq_threshold=min(
                    self.settings.pdq_match_threshold, self.settings.bank_max_pdq_distance
                ),
            )
            index.refresh()
            return index

        return self._once("index", build)

    def matching_banks(self) -> list[Bank]:
        """The banks as pooled matching sees them (:func:`keepdown.banks.model.matching_view`):
        only the operator's own and those an operator admin accepted take part, at no
        distance above ``bank_max_pdq_distance`` (issue 16: who decides what is acted on)."""
        operator = str(self.settings.operator_organisation)
        top = self.settings.bank_max_pdq_distance
        return [
            matching_view(bank, operator=operator, max_distance=top)
            for bank in self.storage.banks.list_banks()
        ]

    @property
    def allow_list(self) -> AllowListFilter:
        """Candidate/entry pairs analysts said are not a match (a stage of the chain)."""

        def build() -> AllowListFilter:
            return AllowListFilter(
                self.review_store.allow_entries,
                pdq_distance=self.settings.review_allowlist_pdq_distance,
                clock=self.clock,
            )

        return self._once("allow_list", build)

    @property
    def matcher(self) -> MatchChain:
        """The one match chain every door asks: index -> videos -> the stages."""

        def build() -> MatchChain:
            vpdq = VpdqIndex(
                IndexFeed(self.storage.engine), quality_floor=self.settings.vpdq_quality_floor
            )
            source = VideoMatcher(self.index, vpdq, VpdqPolicy.from_settings(self.settings))
            source.refresh()
            return MatchChain(source, self.match_stages(), robust_doors=self.settings.robust_doors)

        return self._once("matcher", build)

    def match_stages(self) -> list[MatchStage]:
        """The policies after the index, in order: the one place a matching rule is added.
        The feeds' defence (negative banks scoped to sources, per-feed quality floors, the
        quarantine) comes before the self-submitted banks' rule; the quarantine counts only
        the matches the stages before it let through."""
        negative, floor, quarantine = self.exchange_stages
        return [self.allow_list, negative, floor, quarantine, self.self_submitted]

    @property
    def exchange_stages(self) -> tuple[NegativeStage, QualityFloorStage, QuarantineStage]:
        """The exchanges' stages of the chain (docs/exchanges.md, "Defence against bad
        entries"): negative banks silencing named feeds, each feed's query quality floor,
        and the quarantine of feed entries whose matches burst (settings ``quarantine_*``)."""

        def build() -> tuple[NegativeStage, QualityFloorStage, QuarantineStage]:
            feeds = SqlFeedStore(self.storage.engine, self.storage.banks)
            s = self.settings
            policy = QuarantinePolicy(
                window_seconds=s.quarantine_window_seconds,
                factor=s.quarantine_factor,
                min_matches=s.quarantine_min_matches,
                baseline_days=s.quarantine_baseline_days,
            )
            return (
                NegativeStage(
                    SqlNegativeStore(self.storage.engine),
                    lambda: self.index.snapshot,
                    pdq_threshold=s.pdq_match_threshold,
                ),
                QualityFloorStage(
                    lambda: {
                        f.bank: f.guards.quality_floor
                        for f in feeds.list_feeds()
                        if f.guards.quality_floor is not None
                    }
                ),
                QuarantineStage(
                    SqlQuarantineStore(self.storage.engine),
                    self.storage.events,
                    self.clock,
                    policy,
                    lambda: {f.bank: str(f.kind) for f in feeds.list_feeds() if f.quarantine},
                ),
            )

        return self._once("exchange_stages", build)

    @property
    def self_submitted(self) -> SelfSubmittedStage:
        """Matches in self-submitted banks go to review; the hotline-only ones stay hidden
        from platforms (a stage of the chain; the platform desk asks it too)."""
        return self._once(
            "self_submitted",
            lambda: SelfSubmittedStage(
                self.storage.banks.list_banks, self.settings.operator_organisation
            ),
        )

    # --- people and review ----------------------------------------------------------------

    @property
    def signin(self) -> SignIn:
        """People of the web pages: passwords, second factors, sessions."""
        return self._once(
            "signin",
            lambda: SignIn(
                SqlUserStore(self.storage.engine),
                self.auth,
                policy=SignInPolicy.from_settings(self.settings),
            ),
        )

    @property
    def review_store(self) -> SqlReviewStore:
        return self._once("review_store", lambda: SqlReviewStore(self.storage.engine))

    @property
    def review(self) -> ReviewService:
        """The review queue: claims, decisions, the allow-list analysts build."""
        return self._once(
            "review",
            lambda: ReviewService(
                self.review_store,
                self.storage.events,
                self.clock,
                QueueConfig.from_settings(self.settings),
            ),
        )

    # --- the other services ---------------------------------------------------------------

    @property
    def senders(self) -> dict[str, Sender]:
        """The notice channels (e-mail, webhook), shared by notices and finance alerts."""

        def build() -> dict[str, Sender]:
            if self._senders is not None:
                return self._senders
            return {
                "email": SmtpSender(self.settings, self.clock),
                "webhook": WebhookSender(
                    self.settings, self.clock, secret_box(self.settings), resolver=self.resolver
                ),
            }

        return self._once("senders", build)

    @property
    def notices(self) -> NoticeServices:
        """Providers, notices, the outbox and the re-check tracker."""
        from keepdown.app.noticing import notice_services

        return self._once("notices", functools.partial(notice_services, self))

    @property
    def crawling(self) -> CrawlServices:
        """Crawls, reported URLs, host attribution and the crawler of a stored crawl."""
        from keepdown.app.crawling import crawl_services

        return self._once("crawling", functools.partial(crawl_services, self))

    @property
    def accountability(self) -> AccountabilityServices:
        """Transparency reports, payment indicators and alerts to financial institutions."""
        from keepdown.app.accountability import accountability_services

        return self._once("accountability", functools.partial(accountability_services, self))

    @property
    def evidence(self) -> EvidenceServices:
        """The event chain, its signed checkpoints, signed reports, providers' evidence."""
        from keepdown.app.evidence import evidence_services

        return self._once("evidence", functools.partial(evidence_services, self))

    @property
    def submissions(self) -> SubmissionServices:
        """Self-submitted hashes, held uploads, removal requests and their clock."""
        from keepdown.app.submitting import submission_services

        return self._once("submissions", functools.partial(submission_services, self))

    @property
    def exchanges(self) -> ExchangeServices:
        """Hash exchanges' feeds, their runs, quarantines and negative banks
        (docs/exchanges.md)."""
        from keepdown.app.exchanging import exchange_services

        return self._once("exchanges", functools.partial(exchange_services, self))

    @property
    def federation(self) -> FederationServices:
        """Peers, banks published to them, their signed pages (docs/federation.md)."""
        from keepdown.app.federation import federation_services

        return self._once("federation", functools.partial(federation_services, self))

    @property
    def filings(self) -> FilingServices:
        """Records for authorities: CyberTipline reports, statements of reasons, goAML."""
        from keepdown.app.filing import filing_services

        return self._once("filings", functools.partial(filing_services, self))

    @property
    def blocklist(self) -> BlocklistDesk:
        """The URL block list: computed from the locations, its forms and licensees' feeds."""
        from keepdown.app.blocklisting import blocklist_desk

        return self._once("blocklist", functools.partial(blocklist_desk, self))

    def check_database(self) -> None:
        """A trivial query; StorageError when the database does not answer (health check)."""
        ping(self.storage.engine)

    # --- ending ---------------------------------------------------------------------------

    def close(self) -> None:
        """Wait for index maintenance under way, then close storage (once; a second call
        does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        matcher = self._parts.get("matcher")
        index = self._parts.get("index")
        if matcher is not None:
            matcher.close()
        elif index is not None:
            index.close()
        self.storage.close()


@contextlib.contextmanager
def auth_service(settings: Settings) -> Iterator[AuthService]:
    """The auth service of a runtime for one command (``keepdown key``, ``keepdown org``)."""
    with Runtime.open(settings) as runtime:
        yield runtime.auth


def open_services(settings: Settings, clock: Clock | None = None) -> Runtime:
    """A runtime (for callers that close it themselves: ``runtime.close()``)."""
    return Runtime(settings, clock=clock)
