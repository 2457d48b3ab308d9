"""Exact-hash index lookups, query forms and the errors bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

from keepdown.errors import InvalidHash, InvalidInput
from keepdown.hashing.types import Md5, PdqHash, Sha1, SignalType
from keepdown.index import ExactIndex, Hit, MihPdqIndex, query_words

from .conftest import rows_of, uniform


def test_exact_lookup_finds_every_entry_with_equal_bytes_only():
    values = [Sha1(bytes([i % 50]) * 20) for i in range(200)]
    index = ExactIndex.from_entries(SignalType.SHA1, [(i, i % 3, v) for i, v in enumerate(values)])
    hits = index.query(Sha1(bytes([7]) * 20))
    assert sorted(h.entry_id for h in hits) == [7, 57, 107, 157]
    assert all(h.distance == 0 and h.variant is None for h in hits)
    assert index.query(Sha1(bytes([7]) * 19 + b"\x08")) == []


def test_exact_keys_sharing_a_prefix_are_told_apart():
    a, b = Md5(b"\x00" * 8 + b"\x01" * 8), Md5(b"\x00" * 8 + b"\x02" * 8)
    index = ExactIndex.from_entries(SignalType.MD5, [(1, 1, a), (2, 1, b)])
    assert index.query(b) == [Hit(2, 1, 0, None)]


def test_exact_index_refuses_other_signal_types():
    index = ExactIndex.from_entries(SignalType.MD5, [])
    with pytest.raises(InvalidHash):
        index.query(Sha1(b"\x00" * 20))
    with pytest.raises(InvalidHash):
        ExactIndex.from_entries(SignalType.MD5, [(1, 1, Sha1(b"\x00" * 20))])


def test_query_forms_agree():
    raw = uniform(3, seed=4)
    hashes = [PdqHash(r.tobytes()) for r in raw]
    names, words = query_words({"a": hashes[0], "b": hashes[1]})
    assert names == ("a", "b")
    assert words.shape == (2, 4)
    assert np.array_equal(query_words(raw)[1], query_words(hashes)[1])
    assert query_words(hashes[0])[0] == ("original",)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 31), np.uint8),
        np.zeros((2, 32), np.int16),
        [],
        ["ff" * 32],
        np.zeros((65, 32), np.uint8),
    ],
)
def test_bad_queries_are_clear_errors(bad):
    with pytest.raises(InvalidInput):
        query_words(bad)


@pytest.mark.parametrize("t", [-1, 257, 3.5, True])
def test_bad_thresholds_are_clear_errors(t):
    index = MihPdqIndex.build(rows_of(uniform(10, seed=1)))
    with pytest.raises(InvalidInput):
        index.query(PdqHash(b"\x00" * 32), t)


def test_mismatched_ids_are_refused():
    with pytest.raises(InvalidInput):
        rows_of(uniform(10, seed=1)).__class__.from_arrays(uniform(3, 1), [1, 2], [1, 2, 3])


def test_both_pdq_indexes_satisfy_the_protocol():
    from keepdown.index import LinearPdqIndex, PdqIndex

    rows = rows_of(uniform(10, seed=2))
    assert isinstance(MihPdqIndex.build(rows), PdqIndex)
    assert isinstance(LinearPdqIndex(rows), PdqIndex)


def test_tables_that_do_not_fit_the_rows_are_refused():
    from keepdown.index import ChunkLayout

    rows = rows_of(uniform(100, seed=2))
    built = MihPdqIndex.build(rows, ChunkLayout.even(16))
    with pytest.raises(InvalidInput):
        MihPdqIndex(rows, ChunkLayout.even(16), built.tables[:, :50], built.offsets)
    with pytest.raises(InvalidInput):
        MihPdqIndex(rows, ChunkLayout.even(12), built.tables, built.offsets)
