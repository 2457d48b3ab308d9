"""The in-browser hashes through the browser's own decoder, in Debian's Chromium (Playwright).

The worker the submission page uses (keepdown/web/static/js/selfhash/worker.js) hashes files on
a loopback page (``benchmarks/browser_hashing.py``'s harness); keepdown's Python hashes the
same bytes. Asserted here, on a small set (the full table is the benchmark's, in
docs/self-submission.md):

- MD5 and SHA-256 equal keepdown's on every file;
- PDQ of JPEG, PNG and WebP pictures of quality >= 80 within 10 bits of keepdown's (Meta's
  rule for another decoder; Chromium's decoders give keepdown's pixels, so 0 is measured);
- EXIF orientation handled as keepdown's ``apply_exif_orientation`` says, off and on,
  although Chromium turns JPEGs and PNGs upright whatever it is asked;
- a picture the browser cannot open keeps its exact hashes and says why PDQ is missing; a
  file that is neither picture nor video, or one over the size limit, is refused clearly.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from benchmarks.browser_hashing import CHROMIUM, Harness, compare, generated_files, harness
from keepdown.hashing import hash_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Harness]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    with harness() as h:
        yield h


def within(row: dict[str, Any], bits: int = 10) -> bool:
    return row["distance"] is not None and row["worst_variant"] <= bits


def test_reference_photos_hash_as_keepdown_hashes_them(browser: Harness, pdq_reference: Path):
    names = [
        "data/bridge-mods/aaa-orig.jpg",
        "data/bridge-mods/sharpen-a-lot.jpg",
        "data/reg-test-input/labelme-subset/q2821.jpg",
        "data/misc-images/modes/RGB.jpg",
        "data/misc-images/modes/P.png",
        "data/misc-images/modes/HSV.webp",
    ]
    for name in names:
        row = compare(browser, name, (pdq_reference / name).read_bytes())
        assert row["md5_equal"], row
        assert row["sha256_equal"], row
        assert row["quality"] >= 80, row
        assert row["browser_quality"] == row["quality"], row
        assert within(row), row


@pytest.mark.parametrize("exif", [False, True], ids=["orientation-kept", "orientation-applied"])
def test_exif_orientation_follows_keepdowns_setting(browser: Harness, pdq_reference, exif: bool):
    # a 12-megapixel phone photo tagged "rotate 90": Chromium turns it upright regardless
    photo = pdq_reference / "data/reg-test-input/exif-rotn/exif-rotn-6.jpg"
    row = compare(browser, photo.name, photo.read_bytes(), exif=exif)
    assert within(row), row
    # and generated PNG and WebP files tagged with the other orientations (WebP is not turned
    # by Chromium: the correction must go the other way)
    for name, data in generated_files([(320, 200)], range(1, 8, 2)):
        if name.endswith((".png", ".webp", ".jpg")) and "lossless" not in name:
            row = compare(browser, name, data, exif=exif)
            assert within(row), row


def test_a_picture_the_browser_cannot_open_keeps_its_exact_hashes(browser: Harness):
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(buf, "TIFF")
    data = buf.getvalue()
    answer = browser.hash("picture.tiff", data)
    ours = hash_bytes(data)
    assert answer["result"]["format"] == "TIFF"
    assert answer["result"]["pdq_error"] == "undecodable"
    assert "pdq" not in answer["result"]
    assert (answer["result"]["md5"], answer["result"]["sha256"]) == (ours.md5.hex, ours.sha256.hex)


def test_what_is_not_a_picture_or_too_large_is_refused(browser: Harness):
    answer = browser.hash("notes.txt", b"just some text, not a picture")
    assert answer["error"]["code"] == "unsupported"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(buf, "JPEG")
    answer = browser.hash("big.jpg", buf.getvalue(), maxImageBytes=100)
    assert answer["error"]["code"] == "too_large"
    answer = browser.hash("many.jpg", buf.getvalue(), maxPixels=399)
    assert answer["result"]["pdq_error"] == "too_large"
    # a video is hashed exactly (no PDQ from the worker)
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    answer = browser.hash("clip.mp4", video)
    ours = hash_bytes(video)
    assert answer["result"]["kind"] == "video"
    assert (answer["result"]["md5"], answer["result"]["sha256"]) == (ours.md5.hex, ours.sha256.hex)
