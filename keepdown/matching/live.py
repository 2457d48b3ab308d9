"""The bank-fed match index every matcher in a process shares, kept current without a restart.

:class:`BankIndex` joins the pieces below it: the index package's :class:`LiveIndex` (immutable
snapshots swapped atomically, deltas on top of a large main part), the pure
:func:`~keepdown.matching.matcher.match_hashes`, and a :class:`BankFeed` (the database's view
of the banks, ``keepdown.storage.index_feed.IndexFeed``). The API, the crawler, scans and the
``keepdown match`` command all match through it, so they all agree.

:meth:`BankIndex.refresh`, in one consistent view of the database:

1. first call: load the checkpoint in ``index_dir`` if there is one and it passes every check
   (:mod:`keepdown.matching.checkpoints`; a refused one is logged and ignored), else build from
   every active entry (straight into arrays, no per-entry objects);
2. then, and on every later call, apply what changed since (:func:`keepdown.matching.sync.
   catch_up`: new entries, removals, restores); re-read the banks' settings (enabled,
   thresholds, classification: a few rows);
3. off the refresh path, on a thread of its own: fold the deltas into a new main part after
   ``compact_after`` added rows, and write a new checkpoint after ``checkpoint_after``
   changes (or when the one on disk was refused).

Readers never wait: they read the current snapshot and bank table once per query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from keepdown.banks.model import Bank
from keepdown.clock import Clock, SystemClock
from keepdown.hashing.types import HashValue, PdqHash, SignalType
from keepdown.index.checkpoint import CheckpointDir
from keepdown.index.protocol import MAX_PDQ_THRESHOLD, pdq_words
from keepdown.index.snapshot import EXACT_SIGNALS, IndexSnapshot, LiveIndex
from keepdown.matching import checkpoints
from keepdown.matching.matcher import ContentHashes, Match, match_hashes, pdq_limits
from keepdown.matching.sync import BankFeed, Changes, FeedView, SyncState, build, catch_up
from keepdown.matching.views import MatchView
from keepdown.settings import Settings

__all__ = ["BankFeed", "BankIndex", "MatchView"]

log = logging.getLogger("keepdown.matching.live")


@dataclass(frozen=True)
class _State:
    """What a query reads, swapped as one object."""

    banks: Mapping[int, Bank]
    sync: SyncState | None
    counts: Mapping[str, int]  # entries per signal type, counted at refresh (not per request)
    #: Each enabled bank's PDQ distance threshold, worked out at refresh (not per request).
    pdq_limits: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        banks: Mapping[int, Bank],
        sync: SyncState | None,
        counts: Mapping[str, int],
        pdq_threshold: int,
    ) -> _State:
        return cls(banks, sync, counts, pdq_limits(banks, pdq_threshold))


_BUILDS_LOCK = threading.Lock()


class BankIndex:
    """Matches content and hashes against every enabled bank; see the module steps."""

    #: Indexes loaded in this process (checkpoint or rebuild): the largest memory cost, so a
    #: process holds one (``keepdown serve``: the API, the pages and the workers share it).
    builds: ClassVar[int] = 0

    def __init__(
        self,
        feed: BankFeed,
        load_banks: Callable[[], Iterable[Bank]],
        *,
        quality_floor: int = PdqHash.QUALITY_FLOOR,
        robust_max_distance: int = PdqHash.DEFAULT_THRESHOLD,
        pdq_threshold: int = PdqHash.DEFAULT_THRESHOLD,
        compact_after: int = 50_000,
        checkpoints: CheckpointDir | None = None,
        checkpoint_after: int = 100_000,
        verify_checkpoints: bool = True,
        background: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.feed = feed
        self.load_banks = load_banks
        self.quality_floor = quality_floor
        self.robust_max_distance = robust_max_distance
        #: The PDQ distance for a bank that sets none of its own: the matcher's policy.
        self.pdq_threshold = pdq_threshold
        self.compact_after = compact_after
        self.checkpoints = checkpoints
        self.checkpoint_after = checkpoint_after
        self.verify_checkpoints = verify_checkpoints
        self.background = background
        self.clock = clock or SystemClock()
        self.live = LiveIndex()
        self._state = _State(banks={}, sync=None, counts={})
        self._added_since_compaction = 0
        self._since_checkpoint = 0
        self._checkpoint_refused = False
        self._identity: dict[str, Any] = {}
        self._lock = threading.Lock()  # one refresh at a time; readers never wait
        self._maintenance: threading.Thread | None = None
        self.refreshed_at: datetime | None = None
        self.loaded_from: str | None = None  # "checkpoint <name>" or "database"
        self.checkpoint_name: str | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        feed: BankFeed,
        load_banks: Callable[[], Iterable[Bank]],
        **options: Any,
    ) -> BankIndex:
        """The index as ``keepdown serve`` and ``keepdown match`` use it (checkpoints on);
        ``options`` override the other constructor arguments."""
        kwargs: dict[str, Any] = {
            "quality_floor": settings.pdq_quality_floor,
            "robust_max_distance": settings.robust_max_distance,
            "pdq_threshold": settings.pdq_match_threshold,
            "checkpoints": CheckpointDir(settings.index_path),
            "checkpoint_after": settings.index_checkpoint_after,
            "verify_checkpoints": settings.index_verify_checkpoints,
        }
        return cls(feed, load_banks, **{**kwargs, **options})

    # --- matching --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._state.sync is not None

    @property
    def snapshot(self) -> IndexSnapshot:
        return self.live.snapshot

    @property
    def robust_banks(self) -> bool:
        """True when an enabled bank opted in to ``near (robust)`` matches (so a door's
        robust query variants have something to find)."""
        return any(b.robust for i, b in self._state.banks.items() if i in self._state.pdq_limits)

    def match_result(self, result: Any) -> list[MatchView]:
        """Matches of one hashed input (a ``HashResult``): exact hashes, then PDQ variants."""
        return self.match_content(ContentHashes.from_result(result))

    def match_content(self, hashes: ContentHashes) -> list[MatchView]:
        state, snapshot = self._state, self.live.snapshot
        found = match_hashes(
            hashes,
            snapshot,
            state.banks,
            quality_floor=self.quality_floor,
            pdq_threshold=self.pdq_threshold,
            robust_max_distance=self.robust_max_distance,
        )
        return [_view(state.banks[m.bank_id], m) for m in found]

    def match_hashes(self, values: Sequence[HashValue]) -> list[list[MatchView]]:
        """Matches of each bare hash, in order (PDQ queried as one batch)."""
        state, snapshot = self._state, self.live.snapshot
        out: list[list[MatchView]] = [[] for _ in values]
        pdq_rows = [i for i, v in enumerate(values) if isinstance(v, PdqHash)]
        for i, value in enumerate(values):
            if value.signal_type in EXACT_SIGNALS:
                out[i] = self.match_content(ContentHashes.of(value))
        if pdq_rows:
            for row, view in self._pdq_batch(state, snapshot, [values[i] for i in pdq_rows]):
                out[pdq_rows[row]].append(view)
        for views in out:
            views.sort(key=lambda v: (v.match_type != "exact", v.distance, v.entry_id))
        return out

    def _pdq_batch(
        self, state: _State, snapshot: IndexSnapshot, hashes: list[HashValue]
    ) -> Iterator[tuple[int, MatchView]]:
        limits = state.pdq_limits
        if not limits:
            return
        raw = np.frombuffer(b"".join(h.raw for h in hashes), np.uint8).reshape(-1, 32)
        threshold = min(max(limits.values()), MAX_PDQ_THRESHOLD)
        pairs = snapshot.search_pdq(pdq_words(raw), threshold)
        for row, entry_id, bank_id, distance in zip(
            pairs.query_row.tolist(),
            pairs.entry_id.tolist(),
            pairs.bank_id.tolist(),
            pairs.distance.tolist(),
            strict=True,
        ):
            if bank_id in limits and distance <= limits[bank_id]:
                match = Match(entry_id, bank_id, SignalType.PDQ, distance, None, "near")
                yield row, _view(state.banks[bank_id], match)

    def status(self) -> dict[str, Any]:
        sync = self._state.sync
        return {
            "entries": dict(self._state.counts),
            "max_entry_id": sync.mark.max_entry_id if sync else 0,
            "version": self.live.snapshot.version,
            "refreshed_at": self.refreshed_at.isoformat() if self.refreshed_at else None,
            "loaded_from": self.loaded_from,
            "checkpoint": self.checkpoint_name,
            "changes_since_checkpoint": self._since_checkpoint,
        }

    # --- refresh ---------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Apply whatever changed in the banks since the last call; True if anything did."""
        with self._lock:
            started = time.perf_counter()
            banks = {b.id: b for b in self.load_banks()}
            with self.feed.view() as view:
                if self._state.sync is None:
                    sync, how = self._start(view, banks), "start"
                else:
                    sync, how = self._catch_up(view, self._state.sync), "delta"
            moved = sync is not self._state.sync or banks != self._state.banks
            if moved:
                counts = {str(k): v for k, v in self.live.snapshot.counts().items()}
                self._state = _State.of(banks, sync, counts, self.pdq_threshold)
                self.refreshed_at = self.clock.now()
                log.info(
                    "match index refreshed (%s, %.2f s): %s",
                    how,
                    time.perf_counter() - started,
                    self.status(),
                )
        self._maintain_if_due()
        return moved

    def _start(self, view: FeedView, banks: Mapping[int, Bank]) -> SyncState:
        with _BUILDS_LOCK:
            BankIndex.builds += 1
        self._identity = view.identity()
        loaded = self._load_checkpoint(view, banks)
        if loaded is None:
            snapshot, sync = build(view)
            self.live.replace(snapshot)
            self.loaded_from = "database"
            self._since_checkpoint = sum(snapshot.counts().values())
            return sync
        self.live.replace(loaded.snapshot)
        self.loaded_from = self.checkpoint_name = loaded.name
        return self._catch_up(view, loaded.state)

    def _load_checkpoint(
        self, view: FeedView, banks: Mapping[int, Bank]
    ) -> checkpoints.Loaded | None:
        if self.checkpoints is None or self.checkpoints.current() is None:
            return None
        try:
            return checkpoints.load(
                self.checkpoints, view, banks.values(), verify=self.verify_checkpoints
            )
        except checkpoints.Refused as exc:
            log.warning(
                "saved match index in %s refused, rebuilding from the database: %s",
                self.checkpoints.root,
                exc,
            )
            self._checkpoint_refused = True
            return None

    def _catch_up(self, view: FeedView, sync: SyncState) -> SyncState:
        new_sync, changes = catch_up(view, sync)
        if changes:
            self._apply(changes)
        return new_sync

    def _apply(self, changes: Changes) -> None:
        self.live.apply_parts(changes.pdq, changes.exact, changes.removed)
        self._added_since_compaction += changes.added
        self._since_checkpoint += changes.added + len(changes.removed)
        log.debug(
            "match index delta: %d added (%d restored, %d re-read), %d removed",
            changes.added,
            changes.restored,
            changes.late,
            len(changes.removed),
        )

    # --- compaction and checkpoints, off the refresh path ------------------------------------

    def _due(self) -> tuple[bool, bool]:
        compact = self._added_since_compaction > self.compact_after
        checkpoint = self.checkpoints is not None and (
            self._checkpoint_refused
            or (self.checkpoint_after > 0 and self._since_checkpoint >= self.checkpoint_after)
        )
        return compact, checkpoint

    def _maintain_if_due(self) -> None:
        if not any(self._due()):
            return
        if not self.background:
            self.maintain()
            return
        with self._lock:
            if self._maintenance is not None and self._maintenance.is_alive():
                return
            self._maintenance = threading.Thread(
                target=self._maintain_logged, name="keepdown-index-maintenance", daemon=True
            )
            self._maintenance.start()

    def _maintain_logged(self) -> None:
        try:
            self.maintain()
        except Exception:  # a full disk must not take matching down
            log.exception("match index maintenance failed; the index in memory is unaffected")

    def maintain(self) -> None:
        """Compact and write a checkpoint if due (see the module's step 3)."""
        compact, checkpoint = self._due()
        if compact:
            with self._lock:
                self._added_since_compaction = 0
            self.live.compact()
        if checkpoint:
            self.checkpoint()

    def checkpoint(self, *, wait: bool = False, compact: bool = False) -> str | None:
        """Write the current index and its database position to ``index_dir``.

        Returns the checkpoint's name, or None when another process was writing one (then its
        checkpoint, complete when this returns, counts as this one; unless ``wait``).
        ``compact`` first folds every delta into the main part, so loading it rebuilds
        nothing.
        """
        if self.checkpoints is None:
            raise ValueError("this index has no checkpoint folder")
        if compact and self.live.snapshot.has_deltas:
            self.live.compact()
        with self._lock:
            state, snapshot = self._state, self.live.snapshot
            counted = self._since_checkpoint
        if state.sync is None:
            raise ValueError("refresh() the index before writing a checkpoint")
        started = time.perf_counter()
        name = checkpoints.save(
            self.checkpoints,
            snapshot,
            state.sync,
            self._identity,
            state.banks.values(),
            now=self.clock.now(),
            wait=wait,
        )
        with self._lock:  # ours, or the one another process wrote meanwhile: due again later
            self._since_checkpoint -= counted
            self._checkpoint_refused = False
            if name is not None:
                self.checkpoint_name = name
        if name is None:
            log.info("another process wrote a match index checkpoint meanwhile; not writing one")
            return None
        log.info(
            "match index checkpoint %s written in %.1f s (%s)",
            name,
            time.perf_counter() - started,
            dict(state.counts),
        )
        return name

    def close(self, timeout: float | None = None) -> None:
        """Wait for a compaction or checkpoint under way (a command about to exit)."""
        thread = self._maintenance
        if thread is not None:
            thread.join(timeout)


def _view(bank: Bank, match: Match) -> MatchView:
    label = bank.classification.category.value if bank.classification else None
    return MatchView(
        bank=bank.name,
        entry_id=match.entry_id,
        signal_type=str(match.signal_type),
        distance=match.distance,
        variant=match.variant,
        match_type=match.match_type,
        classification=label,
        trusted=bank.trusted,
    )
