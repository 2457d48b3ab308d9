"""The defence against bad entries in the one match chain (``Runtime.match_stages``): a
grid-like benign picture's hash that got into a third-party feed is quarantined by a stream
of benign uploads, while a genuine near-duplicate pair of another feed entry is unaffected."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from keepdown.app import Runtime
from keepdown.clock import FrozenClock, utc
from keepdown.events import EntryQuarantined
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.model import FeedKind, FeedSpec
from keepdown.exchanges.records import ExchangeRecord, signal
from keepdown.hashing import hash_bytes
from keepdown.settings import Settings
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.testing import sample_image_paths

UPLOADS = 10_000
MIN_MATCHES = 50


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _grid(rng: np.random.Generator) -> bytes:
    """A benign lattice (a tiled grid, as wallpapers, test patterns and default avatars are),
    with a little noise: each upload is other bytes, near the same PDQ hash."""
    y, x = np.mgrid[0:256, 0:256]
    lines = (x % 32 < 4) | (y % 32 < 4)
    pixels = np.where(lines, 30, 225) + rng.integers(-1, 2, size=(256, 256))
    return _png(Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).convert("RGB"))


def _reencoded(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=70)
    return out.getvalue()


def test_a_bursting_feed_entry_is_quarantined_and_a_genuine_pair_is_not(
    db_settings: Settings,
) -> None:
    settings = db_settings.replace(quarantine_min_matches=MIN_MATCHES)
    clock = FrozenClock(utc(2026, 3, 1, 12))
    rng = np.random.default_rng(17)
    grid = hash_bytes(_grid(rng))
    photo_bytes = sample_image_paths()[0].read_bytes()
    photo = hash_bytes(photo_bytes)
    assert grid.pdq is not None
    assert photo.pdq is not None
    with Runtime.open(settings, clock=clock) as runtime:
        runtime.banks.create_bank(
            "stopncii", owner=settings.operator_organisation, label="csam", trust="auto"
        )
        feeds = SqlFeedStore(runtime.storage.engine, runtime.storage.banks)
        # The guard would hold an obvious lattice back; this one got past it (guard off).
        feed = feeds.create_feed(
            FeedSpec(
                "stopncii", FeedKind.STOPNCII, "http://127.0.0.1:9",
                guards=GuardConfig(low_information=False),
            ),
            clock.now(),
        )  # fmt: skip
        records = [
            ExchangeRecord(f"pdq:{h.pdq.hex}", clock.now(), signals=(signal("pdq", h.pdq.hex),))
            for h in (grid, photo)
        ]
        feeds.apply_page(feed, records, Checkpoint(), clock.now())
        matcher = runtime.matcher
        matcher.refresh()
        chain = matcher.stages

        def matches(result: object) -> list:
            return [m for m in matcher.match_result(result, door="upload") if m.bank == "stopncii"]

        acted = quarantined_at = None
        for n in range(1, UPLOADS + 1):
            (found,) = matches(hash_bytes(_grid(rng)) if n <= 200 else grid)
            if found.review_only and quarantined_at is None:
                quarantined_at = n
                acted = n - 1
            if n % 500 == 0:
                for stage in chain:
                    stage.refresh()  # what every process does at each index refresh
            if n % 1000 == 0:  # the genuine pair, now and then: unaffected
                (near,) = matches(hash_bytes(_reencoded(photo_bytes)))
                assert not near.review_only
        assert quarantined_at is not None
        assert acted is not None
        assert quarantined_at == MIN_MATCHES  # the MIN_MATCHES-th match went to review
        assert acted == MIN_MATCHES - 1  # matches that could act before it
        (last,) = matches(grid)
        assert last.review_only
        assert last.review_why
        assert f"threshold {MIN_MATCHES}" in last.review_why
        events = list(runtime.storage.events.read("entry_quarantined"))
        assert len(events) == 1
        assert isinstance(events[0], EntryQuarantined)
        assert events[0].source == "stopncii"
        (near,) = matches(hash_bytes(_reencoded(photo_bytes)))
        assert not near.review_only
        assert near.review_why is None
