"""The bank feed's pages: served in order, verified, and refused when tampered with,
replayed, out of order, misdirected or stale (keepdown.federation.pages)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepdown.banks.classification import Category, Classification
from keepdown.banks.model import Bank, Entry, TrustLevel
from keepdown.clock import utc
from keepdown.evidence.keys import SigningKey
from keepdown.federation.pages import (
    Cursor,
    EntryRow,
    PageRequest,
    entry_row,
    read_changes,
    serve_page,
    verify_page,
)
from keepdown.federation.wire import Refused
from keepdown.hashing.types import SignalType

T0 = utc(2026, 2, 1)


def _bank(label: str | None = "csam") -> Bank:
    return Bank(
        id=1,
        name="shared",
        owner="hotline-a",
        source="",
        source_terms="",
        classification=Classification(Category.CSAM) if label else None,
        default_label=label,
        trust=TrustLevel.AUTO,
        thresholds={},
        enabled=True,
        created_at=T0,
        updated_at=T0,
    )


@dataclass
class MemoryReader:
    """An in-memory ChangeReader over a list of entries (the SQL one's twin)."""

    entries: list[Entry] = field(default_factory=list)

    def add(self, value: str, *, signal: str = "md5") -> Entry:
        entry = Entry(
            id=len(self.entries) + 1,
            bank_id=1,
            signal_type=SignalType(signal),
            value=value,
            source_label="csam",
            classification=Classification(Category.CSAM),
            source_id=None,
            notes=None,
            added_at=T0 + timedelta(seconds=len(self.entries)),
        )
        self.entries.append(entry)
        return entry

    def remove(self, entry_id: int, at: datetime) -> None:
        i = entry_id - 1
        self.entries[i] = replace(self.entries[i], removed_at=at, removal_reason="false-positive")

    def entries_after(self, bank_id: int, after_id: int, limit: int) -> list[EntryRow]:
        return [entry_row(e) for e in self.entries if e.id > after_id][:limit]

    def tombstones_after(
        self, bank_id: int, after: datetime, after_id: int, limit: int
    ) -> list[EntryRow]:
        tombs = sorted(
            (e for e in self.entries if e.removed_at is not None),
            key=lambda e: (e.removed_at, e.id),
        )
        return [entry_row(e) for e in tombs if (e.removed_at, e.id) > (after, after_id)][:limit]


def _md5(i: int) -> str:
    return f"{i:032x}"


def _sync(
    reader: MemoryReader, key: SigningKey, since: str, *, limit: int = 3
) -> tuple[str, dict[str, bool]]:
    """Page from ``since`` to the end, verifying each page: (cursor, state by value)."""
    state: dict[str, bool] = {}
    cursor = since
    for n in range(10_000):
        request = PageRequest("hotline-a", "hotline-b", "shared", cursor, f"nonce-{n}")
        envelope = serve_page(reader, _bank(), request, key, T0, limit=limit)
        page = verify_page(json.dumps(envelope), key.public, request, T0)
        for change in page.changes:
            state[change.value] = not change.deleted
        cursor = page.until
        if not page.more:
            return cursor, state
    raise AssertionError("never caught up")


def test_a_bank_pages_through_in_order_with_tombstones(key_a: SigningKey) -> None:
    reader = MemoryReader()
    for i in range(7):
        reader.add(_md5(i))
    cursor, state = _sync(reader, key_a, "")
    assert state == {_md5(i): True for i in range(7)}
    assert Cursor.parse(cursor).entry_id == 7
    reader.remove(3, T0 + timedelta(hours=1))
    reader.add(_md5(100))
    cursor2, changed = _sync(reader, key_a, cursor)
    assert changed == {_md5(2): False, _md5(100): True}
    _, nothing = _sync(reader, key_a, cursor2)
    assert nothing == {}


def test_a_new_classification_sends_every_entry_again(key_a: SigningKey) -> None:
    reader = MemoryReader()
    for i in range(4):
        reader.add(_md5(i))
    cursor = Cursor.parse(_sync(reader, key_a, "")[0])
    changes, _, _ = read_changes(reader, _bank("harmful-abusive-material"), cursor, 10)
    assert [c.op for c in changes] == ["classify"] * 4


def _page(
    key: SigningKey, after: str = "", nonce: str = "n1", **request: str
) -> tuple[PageRequest, dict]:
    reader = MemoryReader()
    for i in range(5):
        reader.add(_md5(i))
    asked = PageRequest(
        request.get("publisher", "hotline-a"),
        request.get("audience", "hotline-b"),
        "shared",
        after,
        nonce,
    )
    return asked, serve_page(reader, _bank(), asked, key, T0, limit=2)


def test_a_tampered_page_is_refused(key_a: SigningKey) -> None:
    asked, envelope = _page(key_a)
    body = json.loads(envelope["body"])
    body["changes"][0][2] = _md5(99)  # another hash slipped in
    forged = {**envelope, "body": json.dumps(body, sort_keys=True, separators=(",", ":"))}
    with pytest.raises(Refused) as refused:
        verify_page(forged, key_a.public, asked, T0)
    assert refused.value.reason == "tampered"


def test_a_page_signed_by_another_key_is_refused(key_a: SigningKey, key_b: SigningKey) -> None:
    asked, envelope = _page(key_b)
    with pytest.raises(Refused) as refused:
        verify_page(envelope, key_a.public, asked, T0)
    assert refused.value.reason == "unknown_key"


def test_a_replayed_page_is_refused(key_a: SigningKey) -> None:
    asked, envelope = _page(key_a, nonce="earlier")
    with pytest.raises(Refused) as refused:
        verify_page(envelope, key_a.public, replace(asked, nonce="now"), T0)
    assert refused.value.reason == "replayed"


def test_an_out_of_order_page_is_refused(key_a: SigningKey) -> None:
    asked, first = _page(key_a)
    page = verify_page(first, key_a.public, asked, T0)
    # the answer to the first page offered where the second was asked for
    with pytest.raises(Refused) as refused:
        verify_page(first, key_a.public, replace(asked, after=page.until), T0)
    assert refused.value.reason == "out_of_order"


def test_a_page_for_another_peer_or_publisher_is_refused(key_a: SigningKey) -> None:
    asked, envelope = _page(key_a, audience="hotline-c")
    with pytest.raises(Refused) as refused:
        verify_page(envelope, key_a.public, replace(asked, audience="hotline-b"), T0)
    assert refused.value.reason == "misdirected"


def test_a_stale_page_is_refused(key_a: SigningKey) -> None:
    asked, envelope = _page(key_a)
    with pytest.raises(Refused) as refused:
        verify_page(envelope, key_a.public, asked, T0 + timedelta(hours=1))
    assert refused.value.reason == "stale"


def test_a_malformed_cursor_is_refused() -> None:
    for text in ("2.x.1.1.1.1", "1.e.-1.0.0.0", "nonsense"):
        with pytest.raises(Refused):
            Cursor.parse(text)


def test_vpdq_entries_are_not_served(key_a: SigningKey) -> None:
    reader = MemoryReader()
    reader.add(_md5(1))
    reader.entries.append(replace(reader.add(_md5(2)), id=3, signal_type=SignalType.VPDQ))
    changes, _, _ = read_changes(reader, _bank(), Cursor(), 10)
    assert [c.signal_type for c in changes] == ["md5", "md5"]


@settings(max_examples=60, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=2000),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_changed_byte_of_a_body_is_refused(position: int, flip: int, tmp_path_factory) -> None:
    key = SigningKey.load(tmp_path_factory.mktemp("k") / "a.pem", create=True)
    asked, envelope = _page(key)
    raw = bytearray(envelope["body"].encode())
    raw[position % len(raw)] ^= flip
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return
    with pytest.raises(Refused):
        verify_page({**envelope, "body": text}, key.public, asked, T0)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40, unique=True
    ),
    removed=st.sets(st.integers(min_value=0, max_value=39)),
    limit=st.integers(min_value=1, max_value=7),
    split=st.integers(min_value=0, max_value=40),
)
def test_paging_in_any_page_size_ends_in_the_bank_state(
    values: list[int], removed: set[int], limit: int, split: int, tmp_path_factory
) -> None:
    """Any page size, with removals before or between syncs: the subscriber's view ends equal
    to the publisher's bank."""
    key = SigningKey.load(tmp_path_factory.mktemp("k") / "a.pem", create=True)
    reader = MemoryReader()
    for v in values[:split]:
        reader.add(_md5(v))
    state: dict[str, bool] = {}
    cursor, got = _sync(reader, key, "", limit=limit)
    state.update(got)
    for v in values[split:]:
        reader.add(_md5(v))
    for n, i in enumerate(sorted(removed)):
        if i < len(reader.entries):
            reader.remove(i + 1, T0 + timedelta(days=1, seconds=n))
    _, got = _sync(reader, key, cursor, limit=limit)
    state.update(got)
    assert state == {e.value: e.removed_at is None for e in reader.entries}
