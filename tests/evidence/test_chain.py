"""The chain's definition, pinned: the encoding, the hashes, and where a walk says it breaks.

Hand-made rows (the same shape storage gives); the stored-log tests tamper with real tables.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from keepdown.clock import utc
from keepdown.errors import InvalidInput
from keepdown.events import NoticeSent, TaskRan
from keepdown.evidence import (
    GENESIS,
    Anchor,
    MemoryChain,
    at_text,
    canonical_json,
    event_hash,
    event_payload,
    extend,
    leaf_hash,
    link_hash,
    walk,
)
from keepdown.evidence.encoding import parse_at_text


def _chain(n: int) -> MemoryChain:
    chain = MemoryChain()
    for i in range(n):
        chain.emit(
            TaskRan(
                at=utc(2026, 7, 1) + timedelta(minutes=i), task=f"t{i}", outcome="ok", seconds=0.5
            )
        )
    return chain


def test_genesis_and_one_hash_are_what_the_docs_say() -> None:
    assert hashlib.sha256(b"keepdown-event-chain-v1").digest() == GENESIS
    assert GENESIS.hex() == "749e2960735829ac5113939d463105c9dc158dd73ab8aeba870c8eff029fca22"
    payload = '{"a":1}'
    leaf = hashlib.sha256(
        b"\x00" + b"1\nx\n2026-07-01T00:00:00.000000Z\n" + payload.encode()
    ).digest()
    assert leaf_hash(b"1\nx\n2026-07-01T00:00:00.000000Z\n" + payload.encode()) == leaf
    expected = hashlib.sha256(b"\x01" + GENESIS + leaf).digest()
    assert event_hash(GENESIS, 1, "x", "2026-07-01T00:00:00.000000Z", payload) == expected
    assert link_hash(GENESIS, leaf) == expected
    # pinned: a change to the encoding or the hashing shows here first
    assert expected.hex() == "a63f29c447041c1f9f5646cecb9e99fd5ad779d15af3d3cfc9d965a3f21b52c7"


def test_canonical_json_sorts_keys_compacts_and_escapes() -> None:
    assert (
        canonical_json({"b": 1, "a": [1, "é"], "c": None}) == '{"a":[1,"\\u00e9"],"b":1,"c":null}'
    )
    with pytest.raises(InvalidInput):
        canonical_json({"x": float("nan")})
    event = NoticeSent(
        at=utc(2026, 7, 1, 12), notice_ref="KD-1", provider="p", locations=("1", "2")
    )
    text = event_payload(event)
    assert text.isascii()
    assert ", " not in text
    assert text.startswith('{"at":"2026-07-01T12:00:00+00:00"')


def test_event_times_are_utc_with_microseconds() -> None:
    local = datetime(2026, 7, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert at_text(local) == "2026-07-01T12:00:00.000005Z"
    assert parse_at_text(at_text(local)) == local.astimezone(UTC)
    with pytest.raises(InvalidInput):
        at_text(datetime(2026, 7, 1))


def test_an_untouched_chain_walks_to_its_head() -> None:
    chain = _chain(5)
    result = walk(chain.rows())
    assert result.ok
    assert result.checked == 5
    assert (result.first, result.last) == (1, 5)
    assert result.head == chain.head().hash


@pytest.mark.parametrize("position", [1, 3, 5])
def test_a_changed_event_breaks_at_its_own_position(position: int) -> None:
    rows = list(_chain(5).rows())
    p, kind, at, payload, stored = rows[position - 1]
    rows[position - 1] = (p, kind, at, payload.replace('"ok"', '"failed"'), stored)
    result = walk(rows)
    assert result.broken is not None
    assert (result.broken.position, result.broken.reason) == (position, "changed")
    assert result.checked == position - 1


def test_a_changed_time_breaks_too() -> None:
    rows = list(_chain(3).rows())
    p, kind, _, payload, stored = rows[1]
    rows[1] = (p, kind, "2026-06-30T00:00:00.000000Z", payload, stored)
    assert walk(rows).broken.position == 2


def test_a_removed_event_is_missing_at_its_position_even_if_later_hashes_were_redone() -> None:
    chain = _chain(5)
    rows = [r for r in chain.rows() if r[0] != 3]
    result = walk(rows)
    assert (result.broken.position, result.broken.reason) == (3, "missing")
    # rewrite every later hash so they chain again: the gap still shows
    rewritten, previous = [], GENESIS
    for p, kind, at, payload, _ in rows:
        previous = event_hash(previous, p, kind, at, payload)
        rewritten.append((p, kind, at, payload, previous))
    assert walk(rewritten).broken.reason == "missing"


def test_reordered_events_break_at_the_first_moved_position() -> None:
    rows = list(_chain(6).rows())
    a, b = rows[1], rows[4]
    rows[1], rows[4] = (2, *a[1:4], b[4]), (5, *b[1:4], a[4])  # contents and hashes swapped
    assert walk(rows).broken.position == 2
    rows = list(_chain(6).rows())
    rows[1], rows[4] = (2, *rows[4][1:]), (5, *rows[1][1:])  # whole rows moved
    assert walk(rows).broken.position == 2


def test_gaps_before_the_live_chain_are_the_databases_own() -> None:
    rows, previous = [], GENESIS
    for p in (1, 2, 5, 6):
        previous = event_hash(previous, p, "k", "2026-07-01T00:00:00.000000Z", "{}")
        rows.append((p, "k", "2026-07-01T00:00:00.000000Z", "{}", previous))
    assert walk(rows, dense_from=7).ok
    assert walk(rows, dense_from=3).broken.reason == "missing"


def test_an_unsealed_row_is_a_break() -> None:
    rows = list(_chain(3).rows())
    rows[2] = (*rows[2][:4], None)
    assert walk(rows).broken.reason == "unsealed"


def test_walking_from_an_anchor_checks_only_what_follows() -> None:
    chain = _chain(6)
    anchor = Anchor(3, chain.hash_at(3))
    result = walk(chain.rows(3), anchor)
    assert result.ok
    assert result.checked == 3
    assert walk(chain.rows(3), Anchor(3, b"\0" * 32)).broken.position == 4


def test_leaves_extend_one_checkpoint_to_a_later_one() -> None:
    chain = _chain(8)
    earlier = Anchor(3, chain.hash_at(3))
    later = extend(earlier, list(chain.leaves(4, 8)))
    assert later == Anchor(8, chain.head().hash)
    with pytest.raises(ValueError, match="must follow"):
        extend(later, [(2, b"\0" * 32)])
