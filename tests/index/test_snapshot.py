"""Snapshots: deltas and removals reach queries without a rebuild; compaction changes nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from keepdown.errors import InvalidHash
from keepdown.hashing.types import Md5, PdqHash, Sha1, SignalType
from keepdown.index import IndexEntry, IndexSnapshot, LinearPdqIndex, LiveIndex, PdqRows

from .conftest import flip, uniform


def pdq(raw: np.ndarray) -> PdqHash:
    return PdqHash(raw.tobytes())


RAW = uniform(6_000, seed=21)
BASE = [IndexEntry(i, i % 4, pdq(RAW[i])) for i in range(5_000)]


def ids(hits) -> set[int]:
    return {h.entry_id for h in hits}


def reference(entries: list[IndexEntry], query: PdqHash, t: int = 31) -> set[int]:
    rows = PdqRows.from_entries([(e, b, v) for e, b, v in entries if isinstance(v, PdqHash)])
    return ids(LinearPdqIndex(rows).query(query, t))


def test_added_entries_match_at_once_and_removed_ones_stop():
    snap = IndexSnapshot.build(BASE)
    rng = np.random.default_rng(1)
    new = [IndexEntry(9_000 + i, 7, pdq(RAW[5_000 + i])) for i in range(1_000)]
    changed = snap.with_changes(added=new, removed=[3, 9_001])
    assert changed.pdq.main is snap.pdq.main  # no rebuild of the main part
    assert ids(changed.query_pdq(pdq(flip(RAW[5_002], 12, rng)))) == {9_002}
    assert ids(changed.query_pdq(pdq(RAW[3]))) == set()
    assert ids(changed.query_pdq(pdq(RAW[5_001]))) == set()
    assert ids(snap.query_pdq(pdq(RAW[3]))) == {3}  # the old snapshot is untouched


def test_re_adding_an_id_replaces_its_hash():
    snap = IndexSnapshot.build(BASE).with_changes(added=[IndexEntry(7, 2, pdq(RAW[5_500]))])
    assert ids(snap.query_pdq(pdq(RAW[7]))) == set()
    assert [(h.entry_id, h.bank_id) for h in snap.query_pdq(pdq(RAW[5_500]))] == [(7, 2)]
    snap = snap.with_changes(removed=[7]).with_changes(added=[IndexEntry(7, 3, pdq(RAW[7]))])
    assert [(h.entry_id, h.bank_id) for h in snap.query_pdq(pdq(RAW[7]))] == [(7, 3)]


def test_compaction_answers_like_a_fresh_build():
    rng = np.random.default_rng(2)
    added = [IndexEntry(20_000 + i, 1, pdq(flip(RAW[i], 5, rng))) for i in range(0, 400, 2)]
    removed = list(range(100, 300))
    snap = IndexSnapshot.build(BASE).with_changes(added, removed)
    compact = snap.compacted()
    survivors = [e for e in BASE if e.entry_id not in set(removed)] + added
    for i in range(0, 500, 7):
        q = pdq(flip(RAW[i], int(rng.integers(0, 33)), rng))
        want = reference(survivors, q)
        assert ids(snap.query_pdq(q)) == want
        assert ids(compact.query_pdq(q)) == want
    assert compact.counts()[SignalType.PDQ] == len(survivors)
    assert len(compact.pdq.delta) == 0


def test_exact_signals_follow_changes_too():
    md5, sha1 = Md5(b"\x01" * 16), Sha1(b"\x02" * 20)
    snap = IndexSnapshot.build([IndexEntry(1, 1, md5), IndexEntry(2, 2, md5)])
    snap = snap.with_changes(added=[IndexEntry(3, 1, sha1)], removed=[1])
    assert [(h.entry_id, h.distance, h.variant) for h in snap.query_exact(md5)] == [(2, 0, None)]
    assert ids(snap.query_exact(sha1)) == {3}
    assert ids(snap.compacted().query_exact(md5)) == {2}


def test_unknown_value_types_are_refused():
    with pytest.raises(InvalidHash):
        IndexSnapshot.build([IndexEntry(1, 1, "f" * 64)])  # type: ignore[arg-type]


def test_live_index_readers_see_whole_snapshots_while_writers_and_compaction_run():
    live = LiveIndex(IndexSnapshot.build(BASE[:2_000]))
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                snap = live.snapshot
                got = ids(snap.query_pdq(pdq(RAW[10])))
                assert got in ({10}, set())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    compactor = threading.Thread(target=live.compact)
    compactor.start()
    for i in range(2_000, 2_600, 100):
        live.apply(added=BASE[i : i + 100], removed=[10] if i == 2_300 else [])
    compactor.join()
    stop.set()
    for th in threads:
        th.join()
    assert not errors
    final = live.snapshot
    assert ids(final.query_pdq(pdq(RAW[10]))) == set()
    assert ids(final.query_pdq(pdq(RAW[2_550]))) == {2_550}
    assert final.counts()[SignalType.PDQ] == 2_599
