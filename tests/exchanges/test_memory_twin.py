"""The SQL page writer against the plain in-memory reference: any sequence of pages (records
in any order, repeated, stale, deleted, sharing hashes; full-fetch ends) leaves the same bank
and the same records in both."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from keepdown.banks.classification import map_label
from keepdown.clock import utc
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.memory import MemoryFeedStore
from keepdown.exchanges.model import FeedKind, FeedSpec
from keepdown.exchanges.records import ExchangeRecord, signal
from tests.exchanges.conftest import Feeds

T0 = utc(2025, 6, 1)
VALUES = [f"{i:02x}" * 16 for i in range(1, 7)]
CARD = "7078cb87070f70788f8770780707cf8770788f87f8f0172a8f87f8f0070fe8f1"  # guarded
PDQS = [f"{i:02x}{'5a' * 31}" for i in range(1, 4)] + [CARD]
LABELS = [None, "A1", "B2"]
_names = itertools.count()

records = st.builds(
    lambda key, minute, deleted, md5s, pdq, label: ExchangeRecord(
        key=f"k{key}",
        updated_at=T0 + timedelta(minutes=minute),
        deleted=deleted,
        signals=tuple(signal("md5", VALUES[i]) for i in md5s)
        + ((signal("pdq", PDQS[pdq]),) if pdq is not None else ()),
        label=LABELS[label],
        classification=map_label(LABELS[label]) if LABELS[label] else None,
    ),
    key=st.integers(0, 6),
    minute=st.integers(0, 8),
    deleted=st.booleans(),
    md5s=st.lists(st.integers(0, 5), max_size=2),
    pdq=st.one_of(st.none(), st.integers(0, 3)),
    label=st.integers(0, 2),
)
pages = st.lists(st.tuples(st.lists(records, max_size=6), st.booleans()), min_size=1, max_size=6)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pages=pages)
def test_sql_pages_equal_the_reference(feeds: Feeds, pages: list) -> None:
    name = f"twin-{next(_names)}"
    feeds.banks.create_bank(name, owner="operator")
    spec = FeedSpec(name, FeedKind.NCMEC, "http://x", guards=GuardConfig())
    sql_feed = feeds.store.create_feed(spec, feeds.clock.now())
    memory = MemoryFeedStore()
    mem_feed = memory.create_feed(spec, feeds.clock.now())
    generation = 0
    for page, full_end in pages:
        shown = [
            (r.key, r.updated_at.minute, r.deleted, [v[:4] for _s, v in r.signals]) for r in page
        ]
        note(f"page {shown} full_end={full_end}")
        checkpoint = Checkpoint(generation=generation)
        reconcile = generation if full_end else None
        got = feeds.store.apply_page(
            sql_feed, page, checkpoint, feeds.clock.now(), reconcile=reconcile
        )
        want = memory.apply_page(mem_feed, page, checkpoint, feeds.clock.now(), reconcile=reconcile)
        assert (got.records, got.stale, got.reconciled) == (
            want.records,
            want.stale,
            want.reconciled,
        )
        if full_end:
            generation += 1
    sql_bank = {k: (v[0], v[1], v[2]) for k, v in feeds.entries(name).items()}
    assert sql_bank == memory.bank(name)
    assert feeds.records(sql_feed) == memory.record_states(mem_feed)
