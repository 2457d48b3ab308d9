"""Sweeps through the scan path: a platform's stored content searched for a request's copies.

A real folder of benign generated pictures, the real scanner (keepdown.scan) keeping the
sweep's journal, keepdown's own hashes of the submitted picture: the sweep finds the identical
copy and a rotated re-encoded one, leaves the unrelated picture, marks copies removed once they
are no longer stored, reopens one said to be removed that is still there, and the request
closes when the last copy is gone.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from benchmarks.scenes import scene_image
from keepdown.events import RemovalRequestClosed, RemovalSweepFinished
from keepdown.hashing import hash_bytes
from keepdown.scan.items import HashOptions
from keepdown.scan.runner import Scanner
from keepdown.scan.sources import open_source
from keepdown.settings import load_settings
from keepdown.submissions.holds import HoldMatch, UploadHashes
from keepdown.submissions.removal import ClockPolicy
from keepdown.submissions.requests import FoundBy, RequestState
from keepdown.submissions.sweep import Sweeper
from tests.submissions.conftest import Platform, form

pytestmark = pytest.mark.parametrize("world", ["sql-sqlite"], indirect=True)


def _no_matches(result: Any) -> list[Any]:
    return []


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def submitted_item(data: bytes) -> dict[str, Any]:
    """The page's item for a picture, with keepdown's own hashes (what the JS computes)."""
    result = hash_bytes(data, dihedral=True)
    assert result.dihedral is not None
    return {
        "media": "image",
        "md5": result.md5.hex,
        "sha256": result.sha256.hex,
        "quality": result.quality,
        "pdq": {name: r.hash.hex for name, r in result.dihedral.items()},
    }


def sweeper_for(platform: Platform, folder: Path, journals: Path) -> Sweeper:
    settings = load_settings(environ={}, overrides={"data_dir": str(journals)})
    scanner = Scanner(settings, _no_matches, options=HashOptions(), processes=1, progress=False)

    def listing(spec: str) -> list[str]:
        source = open_source(spec, settings)
        try:
            return [item.key for item in source.items()]
        finally:
            source.close()

    return Sweeper(
        platform.removals,
        platform.world.service.events,
        platform.world.clock,
        sources=(str(folder),),
        folder=journals,
        refresh=lambda spec, path: scanner.run(spec, path),
        lister=listing,
    )


def test_a_sweep_finds_identical_and_near_copies_and_sees_them_go(
    platform: Platform, tmp_path: Path
) -> None:
    platform.removals.policy = ClockPolicy(sweeping=True)
    picture = scene_image(11, 800, 600)
    original = jpeg(picture)
    store = tmp_path / "uploads"
    (store / "2026").mkdir(parents=True)
    (store / "2026" / "copy.jpg").write_bytes(original)
    (store / "2026" / "turned.jpg").write_bytes(jpeg(picture.rotate(90, expand=True), 85))
    (store / "held.jpg").write_bytes(jpeg(picture, 70))
    (store / "other.jpg").write_bytes(jpeg(scene_image(12, 800, 600)))
    (store / "notes.txt").write_text("not a picture")
    receipt = platform.world.service.submit(form(submitted_item(original)))
    bank = platform.world.banks.store.get_bank("self-submitted-minors")
    held = hash_bytes((store / "held.jpg").read_bytes())
    entry = platform.world.banks.store.get_entry(
        bank.id, "pdq", submitted_item(original)["pdq"]["original"]
    )
    hold = platform.holds.hold_upload(
        organisation="photoshare",
        key_id="kd_platform",
        content_ref="held.jpg",
        hashes=UploadHashes(held.md5.hex, held.sha256.hex, held.pdq.hex, held.quality),
        match=HoldMatch(bank.name, entry.id, "pdq", "near", held.pdq - entry_hash(entry), None),
    )
    _decided, request = platform.holds.decide(hold.id, analyst="ana", decision="confirm")
    sweeper = sweeper_for(platform, store, tmp_path / "journals")

    first = sweeper.sweep(request.id)
    assert first is not None
    found = {i.content_ref: i for i in first.found}
    assert set(found) == {"2026/copy.jpg", "2026/turned.jpg"}
    assert found["2026/copy.jpg"].match_type == "exact"
    assert found["2026/turned.jpg"].match_type == "near"
    assert found["2026/turned.jpg"].distance <= 31
    assert {i.how for i in first.found} == {FoundBy.SWEEP}
    assert first.removed == []  # everything found is still stored
    after = platform.removals.get(request.id)
    assert after.state is RequestState.OPEN
    assert after.last_sweep_at == platform.world.clock.now()

    # the platform says the held upload is gone, but it is still stored: reopened by the sweep
    upload = next(i for i in after.items if i.how is FoundBy.UPLOAD)
    platform.removals.mark_removed(request.id, upload.id, by="kd_platform")
    platform.world.clock.advance(timedelta(hours=2))
    second = sweeper.sweep(request.id)
    assert second.seen_again == [upload.id]
    assert second.found == []  # nothing new; the journal hashed nothing again

    # now it is really deleted, with both copies
    for name in ("held.jpg", "2026/copy.jpg", "2026/turned.jpg"):
        (store / name).unlink()
    platform.world.clock.advance(timedelta(hours=3))
    third = sweeper.sweep(request.id)
    assert sorted(third.removed) == sorted(i.id for i in platform.removals.get(request.id).items)
    closed = platform.removals.get(request.id)
    assert closed.state is RequestState.CLOSED
    assert all(i.removed_by == "sweep" for i in closed.items)
    [event] = platform.world.log.of(RemovalRequestClosed)
    assert event.hours == pytest.approx(5.0)
    assert event.in_time
    sweeps = platform.world.log.of(RemovalSweepFinished)
    assert [s.found for s in sweeps] == [2, 0, 0]
    assert receipt.submission.active


def test_a_persons_request_is_swept_for_copies_of_what_it_names(
    platform: Platform, tmp_path: Path
) -> None:
    platform.removals.policy = ClockPolicy(sweeping=True)
    picture = scene_image(21, 640, 480)
    store = tmp_path / "media"
    store.mkdir()
    (store / "posted.jpg").write_bytes(jpeg(picture))
    (store / "reposted.jpg").write_bytes(jpeg(picture))  # the identical file again
    (store / "recompressed.jpg").write_bytes(jpeg(picture, 60))
    (store / "unrelated.jpg").write_bytes(jpeg(scene_image(22, 640, 480)))
    request = platform.removals.from_person(
        organisation="photoshare", content_refs=["posted.jpg"], by="trust-and-safety"
    )
    sweeper = sweeper_for(platform, store, tmp_path / "journals")
    result = sweeper.sweep_all()[0]
    assert {i.content_ref: i.match_type for i in result.found} == {
        "reposted.jpg": "exact",
        "recompressed.jpg": "near",
    }
    # the near copy is not the same picture after all (an analyst looked): dismissed
    near = next(i for i in result.found if i.match_type == "near")
    platform.removals.dismiss(request.id, near.id, by="ana", note="a different crop")
    (store / "posted.jpg").unlink()
    (store / "reposted.jpg").unlink()
    sweeper.sweep_all()
    assert platform.removals.get(request.id).state is RequestState.CLOSED


def entry_hash(entry: Any) -> Any:
    from keepdown.hashing.types import PdqHash

    return PdqHash.from_hex(entry.value)
