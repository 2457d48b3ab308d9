"""Video matching: per frame against PDQ banks, per video against vPDQ banks.

vPDQ compares two videos as two unordered bags of frame hashes (Meta's vpdq README,
"Comparison (Matching) Algorithm"). :func:`compare_vpdq` does exactly that:

1. each side keeps its unique frame hashes (duplicates count once) whose quality is at least
   ``quality_floor`` (50);
2. a query frame *matches* when some frame of the other side is within ``distance`` bits
   (31); the same for each compared frame;
3. ``query_match_percent`` = matched query frames x 100 / query frames kept, and
   ``compared_match_percent`` the same for the compared video;
4. the videos match when ``query_match_percent >= query threshold`` (80, as
   python-threatexchange's VPDQSignal) and ``compared_match_percent >= compared threshold``
   (0). A side with no frame kept matches nothing (0 %).

:class:`VpdqIndex` holds the vPDQ entries of every bank as one frame matrix, so a query
video is compared with all of them in one pass of vectorised distance computations, and
keeps itself current from the same :class:`~keepdown.matching.live.BankFeed` as the
:class:`~keepdown.matching.live.BankIndex`. :class:`VideoMatcher` puts the two together:
a video's file hashes (exact), each hashed frame against the PDQ entries (the best frame per
entry is reported, with its time), and the whole video against the vPDQ entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from keepdown.banks.model import Bank
from keepdown.hashing.types import HashValue, SignalType, VpdqFeature, VpdqHash
from keepdown.index.snapshot import IndexSnapshot
from keepdown.matching.live import BankIndex, MatchView
from keepdown.matching.matcher import ContentHashes
from keepdown.matching.sync import BankFeed

__all__ = [
    "VideoMatchView",
    "VideoMatcher",
    "VpdqComparison",
    "VpdqIndex",
    "VpdqPolicy",
    "compare_vpdq",
]

_CHUNK_CELLS = 1 << 22  # query rows x index frames per distance block (~16 MB of uint32)


@dataclass(frozen=True, slots=True)
class VpdqPolicy:
    """The vPDQ thresholds (settings ``vpdq_*``)."""

    distance: int = 31
    quality_floor: int = 50
    query_match_percent: float = 80.0
    compared_match_percent: float = 0.0

    @classmethod
    def from_settings(cls, settings: Any) -> VpdqPolicy:
        return cls(
            distance=settings.vpdq_match_threshold,
            quality_floor=settings.vpdq_quality_floor,
            query_match_percent=settings.vpdq_query_match_percent,
            compared_match_percent=settings.vpdq_compared_match_percent,
        )

    def matches(self, comparison: VpdqComparison) -> bool:
        return (
            comparison.query_match_percent >= self.query_match_percent
            and comparison.compared_match_percent >= self.compared_match_percent
            and comparison.query_frames > 0
            and comparison.compared_frames > 0
        )


@dataclass(frozen=True, slots=True)
class VpdqComparison:
    """How much of each video the other one covers (module docstring, step 3)."""

    query_match_percent: float
    compared_match_percent: float
    query_frames: int  # unique frames kept after the quality filter
    compared_frames: int
    best_distance: int  # smallest frame distance seen (257 when no pair was compared)


@dataclass(frozen=True)
class VideoMatchView(MatchView):
    """A video's match: a frame against a PDQ entry (``frame``, ``timestamp``, ``frames``
    matched), or the whole video against a vPDQ entry (the two percentages)."""

    frame: int | None = None
    timestamp: float | None = None
    frames: int = 0
    query_match_percent: float | None = None
    compared_match_percent: float | None = None


def _words(features: Iterable[VpdqFeature]) -> np.ndarray:
    raw = b"".join(f.hash.raw for f in features)
    return np.frombuffer(raw, ">u8").astype(np.uint64).reshape(-1, 4)


def _kept(features: Iterable[VpdqFeature], quality_floor: int) -> list[VpdqFeature]:
    """Unique hashes (the first occurrence of each), then those with quality >= the floor
    (step 1, in the reference's order)."""
    seen: set[bytes] = set()
    out = []
    for f in features:
        if f.hash.raw in seen:
            continue
        seen.add(f.hash.raw)
        if f.quality >= quality_floor:
            out.append(f)
    return out


def _distances(query: np.ndarray, frames: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """Hamming distances (rows of ``query`` x rows of ``frames``), in blocks of query rows."""
    step = max(1, _CHUNK_CELLS // max(1, len(frames)))
    for start in range(0, len(query), step):
        block = query[start : start + step, None, :] ^ frames[None, :, :]
        yield start, np.bitwise_count(block).sum(axis=2, dtype=np.uint32)


def compare_vpdq(
    query: Sequence[VpdqFeature], compared: Sequence[VpdqFeature], policy: VpdqPolicy
) -> VpdqComparison:
    """Compare two videos' frame features as vPDQ defines it (module docstring)."""
    q = _kept(query, policy.quality_floor)
    c = _kept(compared, policy.quality_floor)
    if not q or not c:
        return VpdqComparison(0.0, 0.0, len(q), len(c), 257)
    qw, cw = _words(q), _words(c)
    q_hit = np.zeros(len(q), bool)
    c_hit = np.zeros(len(c), bool)
    best = 257
    for start, dist in _distances(qw, cw):
        close = dist <= policy.distance
        q_hit[start : start + len(dist)] = close.any(axis=1)
        c_hit |= close.any(axis=0)
        best = min(best, int(dist.min()))
    return VpdqComparison(
        100.0 * int(q_hit.sum()) / len(q), 100.0 * int(c_hit.sum()) / len(c), len(q), len(c), best
    )


@dataclass(frozen=True)
class _Frames:
    """Every vPDQ entry's kept frames as one matrix; entry ``i`` owns rows
    ``starts[i]:starts[i+1]``."""

    entry_ids: np.ndarray
    bank_ids: np.ndarray
    starts: np.ndarray  # len(entries) + 1
    words: np.ndarray  # (frames, 4) uint64

    @classmethod
    def build(cls, entries: Sequence[tuple[int, int, list[VpdqFeature]]]) -> _Frames:
        kept = [(e, b, f) for e, b, f in entries if f]
        sizes = [len(f) for _, _, f in kept]
        starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        words = _words([x for _, _, f in kept for x in f]) if kept else np.zeros((0, 4), np.uint64)
        return cls(
            np.array([e for e, _, _ in kept], np.int64),
            np.array([b for _, b, _ in kept], np.int64),
            starts,
            words,
        )


class VpdqIndex:
    """The vPDQ entries of every bank, current with the feed (module docstring)."""

    def __init__(self, feed: BankFeed, *, quality_floor: int = 50) -> None:
        self.feed = feed
        self.quality_floor = quality_floor
        self._entries: dict[int, tuple[int, list[VpdqFeature]]] = {}
        self._frames = _Frames.build([])
        self._mark: Any = None
        self._gone: set[int] = set()  # vPDQ entries removed (a restore brings them back)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._frames.entry_ids)

    def refresh(self) -> bool:
        """Apply entries added, removed and restored since the last call (one database view);
        True if anything changed."""
        with self._lock, self.feed.view() as view:
            mark = view.mark()
            previous = self._mark
            if previous is not None and mark == previous:
                return False
            # A full read the first time, when ids went backwards, or when imports were still
            # running at the last mark on a database that commits ids out of order.
            full = previous is None or mark.max_entry_id < previous.max_entry_id
            full = full or (not mark.ordered and bool(previous.running))
            if full:
                self._entries.clear()
                self._gone.clear()
            for batch in view.active(0 if full else previous.max_entry_id, mark.max_entry_id):
                self._take(batch)
            tombstones = {int(i) for i in view.tombstones().tolist()}
            for entry_id in set(self._entries) & tombstones:
                del self._entries[entry_id]
                self._gone.add(entry_id)
            restored = self._gone - tombstones
            if restored:
                self._gone -= restored
                for batch in view.active_by_id(np.array(sorted(restored), np.int64)):
                    self._take(batch)
            items = sorted(self._entries.items())
            self._frames = _Frames.build([(e, b, f) for e, (b, f) in items])
            self._mark = mark
            return True

    def _take(self, rows: Iterable[Sequence[Any]]) -> None:
        for entry_id, bank_id, signal, value, *_ in rows:
            if signal == SignalType.VPDQ.value:
                kept = _kept(VpdqHash.from_hex(value).features, self.quality_floor)
                self._entries[int(entry_id)] = (int(bank_id), kept)

    def search(
        self, query: Sequence[VpdqFeature], distance_of: Callable[[int], int], quality_floor: int
    ) -> list[tuple[int, int, VpdqComparison]]:
        """(entry id, bank id, comparison) for every entry sharing a close frame with the
        query. ``distance_of(bank_id)`` is each bank's frame distance."""
        frames = self._frames
        q = _kept(query, quality_floor)
        if not q or not len(frames.entry_ids):
            return []
        owner = np.repeat(np.arange(len(frames.entry_ids)), np.diff(frames.starts))
        limit = np.array([distance_of(int(b)) for b in frames.bank_ids], np.int64)[owner]
        n_entries = len(frames.entry_ids)
        q_hits = np.zeros(n_entries, np.int64)
        col_hit = np.zeros(len(frames.words), bool)
        best = np.full(n_entries, 257, np.int64)
        for _, dist in _distances(_words(q), frames.words):
            close = dist <= limit[None, :]
            col_hit |= close.any(axis=0)
            per_entry = np.logical_or.reduceat(close, frames.starts[:-1], axis=1)
            q_hits += per_entry.sum(axis=0)
            best = np.minimum(best, np.minimum.reduceat(dist, frames.starts[:-1], axis=1).min(0))
        c_hits = np.add.reduceat(col_hit.astype(np.int64), frames.starts[:-1])
        sizes = np.diff(frames.starts)
        out = []
        for i in np.flatnonzero(q_hits).tolist():
            comparison = VpdqComparison(
                100.0 * int(q_hits[i]) / len(q),
                100.0 * int(c_hits[i]) / int(sizes[i]),
                len(q),
                int(sizes[i]),
                int(best[i]),
            )
            out.append((int(frames.entry_ids[i]), int(frames.bank_ids[i]), comparison))
        return out


class VideoMatcher:
    """The :class:`BankIndex` plus video matching: one matcher for the API, crawler and scans.

    Anything that is not a video (no ``frames_vpdq``) is matched by the bank index alone, so
    this is a drop-in for it.
    """

    def __init__(self, index: BankIndex, vpdq: VpdqIndex, policy: VpdqPolicy) -> None:
        self.index = index
        self.vpdq = vpdq
        self.policy = policy
        self._banks: Callable[[], dict[int, Bank]] = lambda: {b.id: b for b in index.load_banks()}
        self._bank_cache: dict[int, Bank] = {}

    # --- the BankIndex surface -------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.index.ready

    @property
    def snapshot(self) -> IndexSnapshot:
        return self.index.snapshot

    @property
    def refreshed_at(self) -> datetime | None:
        return self.index.refreshed_at

    def status(self) -> dict[str, Any]:
        return {**self.index.status(), "vpdq_entries": len(self.vpdq)}

    def refresh(self) -> bool:
        changed = self.index.refresh()
        if self.vpdq.refresh() or changed:
            self._bank_cache = self._banks()
            return True
        return changed

    def match_content(self, hashes: ContentHashes) -> list[MatchView]:
        return self.index.match_content(hashes)

    def close(self) -> None:
        close = getattr(self.index, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        """Anything else of the bank index (its status parts, checkpoints...) as it is."""
        if name == "index":  # not set yet: no recursion while unpickling or half-built
            raise AttributeError(name)
        return getattr(self.index, name)

    def match_hashes(self, values: Sequence[HashValue]) -> list[list[MatchView]]:
        return self.index.match_hashes(values)

    # --- videos ------------------------------------------------------------------------

    def match_result(self, result: Any) -> list[MatchView]:
        """Exact and image matches from the bank index; for a video, frames and vPDQ too."""
        views = list(self.index.match_result(result))
        frames = getattr(result, "frames_vpdq", None)
        if frames:
            views += self._frame_matches(frames)
            views += self._video_matches([f.feature for f in frames])
        views.sort(key=lambda v: (v.match_type != "exact", v.distance, v.entry_id))
        return views

    def _frame_matches(self, frames: Sequence[Any]) -> list[MatchView]:
        floor = self.index.quality_floor
        usable = [f for f in frames if f.feature.quality >= floor]
        found = self.index.match_hashes([f.feature.hash for f in usable])
        best: dict[int, tuple[MatchView, Any, int]] = {}
        for frame, views in zip(usable, found, strict=True):
            for view in views:
                known = best.get(view.entry_id)
                count = known[2] + 1 if known else 1
                if known is None or view.distance < known[0].distance:
                    best[view.entry_id] = (view, frame, count)
                else:
                    best[view.entry_id] = (known[0], known[1], count)
        return [
            VideoMatchView(
                **_base(view), frame=frame.frame, timestamp=frame.feature.timestamp, frames=count
            )
            for view, frame, count in best.values()
        ]

    def _video_matches(self, features: Sequence[VpdqFeature]) -> list[MatchView]:
        banks = self._bank_cache or self._banks()
        self._bank_cache = banks
        live = {bank_id: b for bank_id, b in banks.items() if b.enabled}

        def distance_of(bank_id: int) -> int:
            bank = live.get(bank_id)
            if bank is None:
                return -1  # a disabled or unknown bank: no frame is close enough
            return int(bank.thresholds.get(SignalType.VPDQ.value, self.policy.distance))

        out: list[MatchView] = []
        for entry_id, bank_id, comparison in self.vpdq.search(
            features, distance_of, self.policy.quality_floor
        ):
            if bank_id in live and self.policy.matches(comparison):
                out.append(_video_view(live[bank_id], entry_id, comparison))
        return out


def _base(view: MatchView) -> dict[str, Any]:
    return {
        "bank": view.bank,
        "entry_id": view.entry_id,
        "signal_type": view.signal_type,
        "distance": view.distance,
        "variant": view.variant,
        "match_type": view.match_type,
        "classification": view.classification,
        "trusted": view.trusted,
    }


def _video_view(bank: Bank, entry_id: int, comparison: VpdqComparison) -> VideoMatchView:
    label = bank.classification.category.value if bank.classification else None
    return VideoMatchView(
        bank=bank.name,
        entry_id=entry_id,
        signal_type=SignalType.VPDQ.value,
        distance=comparison.best_distance,
        variant=None,
        match_type="near",
        classification=label,
        trusted=bank.trusted,
        frames=comparison.query_frames,
        query_match_percent=round(comparison.query_match_percent, 2),
        compared_match_percent=round(comparison.compared_match_percent, 2),
    )
