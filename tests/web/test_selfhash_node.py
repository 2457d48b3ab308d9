"""The in-browser hashes (keepdown/web/static/js/selfhash) bit-identical to keepdown's Python.

keepdown's Python draws or decodes the pixel buffers and hashes them; node's built-in test
runner (``node --test tests/web/selfhash/``) hashes the same buffers with the JavaScript and
demands identical PDQ hashes, qualities and 8 rotations and mirrors:

- every image of the PDQ reference test data, decoded by keepdown (``decode_image``, the path
  a bank entry takes);
- 1,000 generated buffers of many sizes (1x1 to 1920x1080, both orientations, around 64 and
  the window-size steps of 128): noise, blocks, flat, gradients, keepdown's photo-like
  pictures and the benchmarks' street and landscape scenes; grey, RGB and RGBA (the
  browser's canvas gives RGBA; alpha must be ignored).

MD5 and SHA-256 are checked inside the Node test against node's own. Node must be installed
(``scripts/check.sh`` installs Debian's ``nodejs`` when it is missing); without it the test
skips, or fails when ``KEEPDOWN_REQUIRE_NODE`` is set (CI).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.scenes import scene_image
from keepdown.hashing.decode import DecodeLimits, decode_image
from keepdown.hashing.pdq import _dct_matrix, pdq_dihedral_from_rgb, pdq_from_rgb
from keepdown.settings import load_settings
from keepdown.testing import synthetic_image_array
from tests.conftest import REPO, skip_or_fail

NODE_TESTS = REPO / "tests" / "web" / "selfhash"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tiff", ".gif")
RANDOM_CASES = 1000

#: Sizes every run has: the smallest hashable, around 64, the window steps, both HD shapes.
FIXED_SIZES = (
    (1, 1), (4, 4), (4, 9), (5, 5), (5, 301), (301, 5), (6, 7), (63, 63), (64, 64), (65, 65),
    (64, 65), (127, 129), (128, 128), (129, 129), (255, 257), (256, 384), (383, 385),
    (1080, 1920), (1920, 1080),
)  # fmt: skip
KINDS = ("noise", "blocks", "uniform", "gradient", "photo", "scene")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        skip_or_fail("node is not installed (apt-get install nodejs)", "KEEPDOWN_REQUIRE_NODE")
    return str(found)


def generated(kind: str, height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "blocks":
        side = int(rng.integers(2, 12))
        small = rng.integers(0, 256, (height // side + 1, width // side + 1, 3), dtype=np.uint8)
        return small.repeat(side, 0).repeat(side, 1)[:height, :width].copy()
    if kind == "uniform":
        return np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    if kind == "gradient":
        ramp = np.add.outer(np.arange(height), np.arange(width)) * int(rng.integers(1, 5))
        return np.stack([ramp % 256, (ramp // 3) % 256, 255 - ramp % 256], -1).astype(np.uint8)
    if kind == "photo":
        return synthetic_image_array(seed, width, height)
    # the scenes are drawn at 64 pixels a side at least (smaller ones have no room for a
    # building), then cut to size
    drawn = scene_image(seed, max(width, 64), max(height, 64))
    return np.asarray(drawn)[:height, :width].copy()


def random_shapes(count: int, seed: int) -> Iterator[tuple[str, int, int, int]]:
    """(kind, height, width, seed): the fixed sizes in every kind, then log-uniform sizes."""
    rng = np.random.default_rng(seed)
    n = 0
    for i, (height, width) in enumerate(FIXED_SIZES):
        big = height * width > 500_000
        for kind in ("noise", "scene") if big else KINDS:
            yield kind, height, width, 10_000 + i * 10 + KINDS.index(kind)
            n += 1
    while n < count:
        height, width = (int(v) for v in np.exp(rng.uniform(0, np.log(900), 2)))
        yield KINDS[n % len(KINDS)], max(height, 1), max(width, 1), 20_000 + n
        n += 1


def channel_forms(rgb: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """What keepdown's Python hashes, what the JavaScript gets, and its channel count:
    mostly RGB, every 7th grey (R = G = B for both), every 5th RGBA with random alpha."""
    if index % 7 == 3:
        grey = rgb[..., 1].copy()
        return grey, grey, 1
    if index % 5 == 2:
        alpha = np.random.default_rng(index).integers(0, 256, rgb.shape[:2], dtype=np.uint8)
        return rgb, np.dstack([rgb, alpha]), 4
    return rgb, rgb, 3


def python_case(name: str, group: str, ours: np.ndarray, theirs: np.ndarray, channels: int):
    one = pdq_from_rgb(ours)
    variants = pdq_dihedral_from_rgb(ours)
    height, width = ours.shape[:2]
    return {
        "name": name,
        "group": group,
        "width": width,
        "height": height,
        "channels": channels,
        "hash": one.hash.hex,
        "quality": one.quality,
        "dihedral": {k: v.hash.hex for k, v in variants.items()},
        "dihedral_quality": variants["original"].quality,
    }, np.ascontiguousarray(theirs).tobytes()


#: Pillow's way of turning stored pixels for each EXIF orientation (ImageOps.exif_transpose).
PILLOW_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def orientation_cases() -> dict:
    """A 5x3 RGBA picture turned by Pillow for each orientation, and small JPEG, PNG and
    WebP files carrying each tag (what orientation.js must read and do)."""
    rgba = np.random.default_rng(8).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    turned = {}
    for tag, how in PILLOW_TURNS.items():
        out = np.asarray(image.transpose(how))
        turned[tag] = {"width": out.shape[1], "height": out.shape[0], "data": _b64(out)}
    files = []
    for tag in range(1, 9):
        for fmt in ("JPEG", "PNG", "WEBP"):
            exif = Image.Exif()
            exif[0x0112] = tag
            buf = io.BytesIO()
            image.convert("RGB").save(buf, fmt, exif=exif.tobytes())
            files.append({"format": fmt, "tag": tag, "data": _b64(buf.getvalue())})
    return {"pixels": _b64(rgba), "width": 5, "height": 3, "turned": turned, "files": files}


def _b64(data: bytes | np.ndarray) -> str:
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    return base64.b64encode(raw).decode()


def reference_images(root: Path) -> list[Path]:
    found = [*(root / "data").rglob("*"), *(root / "pytx-resources").glob("*")]
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES)


def write_cases(folder: Path, reference: Path) -> dict[str, int]:
    """Write manifest.json and pixels.bin; returns the number of cases per group."""
    limits = DecodeLimits.from_settings(load_settings(environ={}))
    cases = []
    counts = {"reference": 0, "random": 0, "photo-like": 0}
    with (folder / "pixels.bin").open("wb") as pixels:

        def add(case: dict, data: bytes) -> None:
            case.update(offset=pixels.tell(), length=len(data))
            pixels.write(data)
            cases.append(case)
            counts[case["group"]] += 1

        for path in reference_images(reference):
            rgb = decode_image(path.read_bytes(), limits=limits).rgb
            add(*python_case(str(path.relative_to(reference)), "reference", rgb, rgb, 3))
        for i, (kind, height, width, seed) in enumerate(random_shapes(RANDOM_CASES, 2026)):
            ours, theirs, channels = channel_forms(generated(kind, height, width, seed), i)
            group = "photo-like" if kind in ("photo", "scene") else "random"
            name = f"{kind} {width}x{height}x{channels} seed {seed}"
            add(*python_case(name, group, ours, theirs, channels))
    dct = np.ascontiguousarray(_dct_matrix(), dtype="<f4").tobytes()
    manifest = {
        "cases": cases,
        "dct_float32_le_base64": base64.b64encode(dct).decode(),
        "orientation": orientation_cases(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return counts


def run_node(folder: Path, *only: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEPDOWN_SELFHASH_CASES": str(folder)}
    pattern = [f"--test-name-pattern={name}" for name in only]
    return subprocess.run(
        [node(), "--test", "--test-reporter=spec", *pattern, str(NODE_TESTS / "pdq.test.mjs")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, pdq_reference: Path) -> tuple[Path, dict]:
    node()
    folder = tmp_path_factory.mktemp("selfhash")
    return folder, write_cases(folder, pdq_reference)


def test_javascript_hashes_equal_keepdowns_python_bit_for_bit(cases) -> None:
    folder, counts = cases
    assert counts["reference"] >= 50
    assert counts["random"] + counts["photo-like"] >= RANDOM_CASES
    run = run_node(folder)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    results = json.loads((folder / "node-results.json").read_text())
    for group, count in counts.items():  # every buffer was compared, none differed
        assert results[group] == {"compared": count, "mismatches": 0}, group
    assert results["dct"] == {"compared": 1, "mismatches": 0}
    assert results["exact"] == {"compared": 1000, "mismatches": 0}
    assert results["luma"] == {"compared": 255001, "mismatches": 0}
    assert results["orientation"] == {"compared": 7 + 24, "mismatches": 0}


def test_the_node_test_fails_when_one_expected_hash_is_wrong(cases, tmp_path: Path) -> None:
    """The comparison can fail: one flipped bit in one expectation is caught and named."""
    folder, _counts = cases
    manifest = json.loads((folder / "manifest.json").read_text())
    small = [c for c in manifest["cases"] if c["group"] == "random"][:40]
    victim = small[17]
    flipped = f"{int(victim['dihedral']['rotate90'], 16) ^ (1 << 100):064x}"
    victim["dihedral"]["rotate90"] = flipped
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "cases": small}))
    (tmp_path / "pixels.bin").symlink_to(folder / "pixels.bin")
    run = run_node(tmp_path, "random buffer equals")
    assert run.returncode != 0
    assert victim["name"] in run.stdout
    results = json.loads((tmp_path / "node-results.json").read_text())
    assert results["random"] == {"compared": 40, "mismatches": 1}
