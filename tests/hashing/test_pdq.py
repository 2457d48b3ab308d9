"""Exact-mode PDQ against the reference: ``pdqhash`` (Meta's C++) as the oracle, golden values.

Bit-identical hash and quality on the same pixels is the contract, for the hash and for all
8 rotations and mirrors, on the reference images and on generated arrays of every shape.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keepdown.errors import DecodeError, ImageTooLarge, InvalidInput
from keepdown.hashing.fast import decode_jpeg_rgb
from keepdown.hashing.pdq import (
    DIHEDRAL_NAMES,
    PdqResult,
    pdq_dihedral_from_rgb,
    pdq_from_jpeg_exact,
    pdq_from_rgb,
)
from keepdown.hashing.types import PdqHash
from keepdown.testing import synthetic_image_array, synthetic_jpeg

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tiff", ".gif")


def reference_hex(bits: np.ndarray) -> str:
    """python-threatexchange's conversion of pdqhash's bit vector to hex."""
    return f"{int(''.join(str(int(b)) for b in bits), 2):064x}"


def reference(rgb: np.ndarray) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return reference_hex(bits), quality


def reference_dihedral(rgb: np.ndarray) -> dict[str, tuple[str, int]]:
    variants, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return {n: (reference_hex(b), quality) for n, b in zip(DIHEDRAL_NAMES, variants, strict=True)}


def ours(result: PdqResult) -> tuple[str, int]:
    return result.hash.hex, result.quality


def reference_images(root: Path) -> list[Path]:
    found = [*(root / "data").rglob("*"), *(root / "pytx-resources").glob("*")]
    return sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES)


def pixels(kind: str, height: int, width: int, seed: int) -> np.ndarray:
    """Generated pixels of several characters: noise, blocks, flat, gradient, photo-like."""
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "blocks":
        small = rng.integers(0, 256, (height // 7 + 1, width // 7 + 1, 3), dtype=np.uint8)
        return small.repeat(7, 0).repeat(7, 1)[:height, :width].copy()
    if kind == "uniform":
        return np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    if kind == "gradient":
        ramp = np.add.outer(np.arange(height), np.arange(width)) * int(rng.integers(1, 5))
        return np.stack([ramp % 256, (ramp // 3) % 256, 255 - ramp % 256], -1).astype(np.uint8)
    return synthetic_image_array(seed, width, height)


KINDS = st.sampled_from(["noise", "blocks", "uniform", "gradient", "photo"])


def test_float32_luma_equals_the_bindings_float64_luma_for_every_colour():
    # pdq_filter computes (299 R + 587 G + 114 B) / 1000 in float32; the binding computes
    # R*0.299 + G*0.587 + B*0.114 in float64 and rounds. All 2**24 colours, a slab at a time.
    from keepdown.hashing.pdq_filter import luma_image

    grid = np.arange(256, dtype=np.uint8)
    for blue in range(256):
        slab = np.empty((256, 256, 3), np.uint8)
        slab[:, :, 0] = grid[:, None]
        slab[:, :, 1] = grid[None, :]
        slab[:, :, 2] = blue
        want = (slab[:, :, 0] * 0.299 + slab[:, :, 1] * 0.587 + slab[:, :, 2] * 0.114).astype(
            np.float32
        )
        for top in range(0, 256, 64):
            for left in range(0, 256, 64):
                tile = np.ascontiguousarray(slab[top : top + 64, left : left + 64])
                got = luma_image(tile.reshape(64, 64 * 3), 3)
                assert np.array_equal(got, want[top : top + 64, left : left + 64]), blue


def test_bridge_photo_prints_the_published_hash(pdq_reference):
    rgb = np.asarray(Image.open(pdq_reference / "data/bridge-mods/aaa-orig.jpg").convert("RGB"))
    result = pdq_from_rgb(rgb)
    assert ours(result) == (BRIDGE, 100)
    assert result.hash == PdqHash.from_hex(BRIDGE)


def test_every_reference_image_all_variants_equal_pdqhash(pdq_reference):
    images = reference_images(pdq_reference)
    assert len(images) >= 50
    mismatches = []
    for path in images:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        variants = pdq_dihedral_from_rgb(rgb)
        assert tuple(variants) == DIHEDRAL_NAMES
        want = reference_dihedral(rgb)
        got = {name: ours(r) for name, r in variants.items()}
        # compute() equals compute_dihedral()'s original except at 64x64 (tested below)
        if got != want or ours(pdq_from_rgb(rgb)) != want["original"]:
            mismatches.append(path.name)
    assert mismatches == []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=KINDS,
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_generated_arrays_are_bit_identical(kind, height, width, seed):
    rgb = pixels(kind, height, width, seed)
    assert ours(pdq_from_rgb(rgb)) == reference(rgb)
    got = {name: ours(r) for name, r in pdq_dihedral_from_rgb(rgb).items()}
    assert got == reference_dihedral(rgb)


@settings(max_examples=25, deadline=None)
@given(kind=KINDS, side=st.integers(60, 68), seed=st.integers(0, 2**32 - 1))
def test_sizes_around_64_including_the_unfiltered_square(kind, side, seed):
    # At exactly 64x64 compute() skips the filter but compute_dihedral() does not.
    rgb = pixels(kind, side, 64, seed)
    assert ours(pdq_from_rgb(rgb)) == reference(rgb)
    got = {name: ours(r) for name, r in pdq_dihedral_from_rgb(rgb).items()}
    assert got == reference_dihedral(rgb)


@pytest.mark.parametrize(("height", "width"), [(1080, 1920), (1920, 1080)])
def test_large_photo_like_images(height, width):
    rgb = synthetic_image_array(height + width, width, height)
    assert ours(pdq_from_rgb(rgb)) == reference(rgb)


@settings(max_examples=30, deadline=None)
@given(height=st.integers(1, 200), width=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_grey_arrays_hash_as_grey_stacked_into_rgb(height, width, seed):
    grey = pixels("photo", height, width, seed)[:, :, 1].copy()
    stacked = np.stack([grey] * 3, axis=-1)  # what python-threatexchange does with mode L
    assert ours(pdq_from_rgb(grey)) == reference(stacked)
    got = {name: ours(r) for name, r in pdq_dihedral_from_rgb(grey).items()}
    assert got == reference_dihedral(stacked)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, :, ::-1],  # reversed channels
        lambda a: a[::2, ::3],  # strided rows and columns
        lambda a: np.asfortranarray(a),
        lambda a: np.dstack([a, a[:, :, :1]])[:, :, :3],  # RGBA-like buffer, alpha ignored
        lambda a: a.transpose(1, 0, 2),
    ],
    ids=["bgr-view", "strided", "fortran", "rgba-slice", "transposed"],
)
def test_non_contiguous_arrays(view):
    rgb = view(synthetic_image_array(11, 301, 207))
    assert ours(pdq_from_rgb(rgb)) == reference(rgb)


def test_below_five_pixels_the_hash_is_zero_with_quality_zero():
    for shape in [(1, 1, 3), (4, 400, 3), (400, 4, 3), (4, 4)]:
        rgb = np.full(shape, 200, np.uint8)
        assert ours(pdq_from_rgb(rgb)) == ("0" * 64, 0)
        assert {ours(r) for r in pdq_dihedral_from_rgb(rgb).values()} == {("0" * 64, 0)}
    assert ours(pdq_from_rgb(np.zeros((4, 9, 3), np.uint8))) == reference(
        np.zeros((4, 9, 3), np.uint8)
    )


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 4), np.uint8), np.zeros(10, np.uint8)],
    ids=["float", "four-channels", "one-dimensional"],
)
def test_arrays_it_cannot_hash_are_refused(bad):
    with pytest.raises(InvalidInput, match="PDQ needs"):
        pdq_from_rgb(bad)
    with pytest.raises(InvalidInput, match="PDQ needs"):
        pdq_dihedral_from_rgb(bad)


def _measured(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _pytx_pixels(path: Path) -> np.ndarray | None:
    """python-threatexchange's array for RGB, RGBA (first 3 channels) and L files."""
    with Image.open(path) as im:
        if im.mode not in ("RGB", "RGBA", "L"):
            return None  # mode conversion is the decoder's business (tests/hashing/test_facade)
        arr = np.asarray(im)
    return arr[:, :, :3] if arr.ndim == 3 else arr


def test_golden_values_measured_with_pdqhash_and_pillow(pdq_reference):
    rows = _measured(pdq_reference / "expected/pdqhash-pillow-measured.csv")
    checked = 0
    for row in rows:
        arr = _pytx_pixels(pdq_reference / row["path"])
        if arr is None:
            continue
        assert ours(pdq_from_rgb(arr)) == (row["hash"], int(row["quality"])), row["path"]
        checked += 1
    assert checked >= 48


def test_golden_dihedral_values(pdq_reference):
    rows = _measured(pdq_reference / "expected/pdqhash-pillow-dihedral-measured.csv")
    by_path: dict[str, dict[str, tuple[str, int]]] = {}
    for row in rows:
        by_path.setdefault(row["path"], {})[row["transform"]] = (row["hash"], int(row["quality"]))
    checked = 0
    for path, want in by_path.items():
        arr = _pytx_pixels(pdq_reference / path)
        if arr is None:
            continue
        got = {name: ours(r) for name, r in pdq_dihedral_from_rgb(arr).items()}
        assert got == want, path
        checked += 1
    assert checked >= 48


def test_within_ten_bits_of_the_cpp_reference_at_quality_80_or_more(pdq_reference):
    rows = _measured(pdq_reference / "expected/cpp-reference-int64-from-sql-readme.csv")
    checked = 0
    for row in rows:
        if int(row["quality"]) < 80:
            continue
        with Image.open(pdq_reference / row["path"]) as im:
            result = pdq_from_rgb(np.asarray(im.convert("RGB")))
        assert result.hash - PdqHash.from_hex(row["hash"]) <= 10, row["path"]
        assert result.quality == int(row["quality"]), row["path"]
        checked += 1
    assert checked >= 15


# --- exact mode from JPEG bytes through libjpeg-turbo (simplejpeg) ----------------------------


def _jpeg(seed: int, width: int, height: int, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(synthetic_image_array(seed, width, height)).save(buf, "JPEG", **save)
    return buf.getvalue()


def test_simplejpeg_exact_mode_equals_pillow_decode_on_reference_jpegs(pdq_reference):
    checked = 0
    for path in reference_images(pdq_reference):
        if path.suffix.lower() not in (".jpg", ".jpeg"):
            continue
        data = path.read_bytes()
        with Image.open(path) as im:
            if im.mode == "CMYK":
                with pytest.raises(DecodeError, match="CMYK"):
                    pdq_from_jpeg_exact(data, max_pixels=10**8)
                continue
            rgb = np.asarray(im.convert("RGB"))
        assert np.array_equal(decode_jpeg_rgb(data, max_pixels=10**8), rgb), path.name
        assert pdq_from_jpeg_exact(data, max_pixels=10**8) == pdq_from_rgb(rgb), path.name
        checked += 1
    assert checked >= 35


@pytest.mark.parametrize(
    "save",
    [
        {"quality": 85},
        {"quality": 90, "subsampling": 0},
        {"quality": 75, "subsampling": 1},
        {"quality": 85, "progressive": True},
        {"quality": 20, "optimize": True},
    ],
    ids=["420", "444", "422", "progressive", "low-quality"],
)
def test_simplejpeg_exact_mode_equals_pillow_decode_on_generated_jpegs(save):
    data = _jpeg(7, 517, 389, **save)
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert ours(pdq_from_jpeg_exact(data, max_pixels=10**6)) == reference(rgb)


def test_simplejpeg_exact_mode_greyscale_jpeg():
    buf = io.BytesIO()
    Image.fromarray(synthetic_image_array(3, 300, 200)[:, :, 0]).save(buf, "JPEG")
    grey = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    got = pdq_from_jpeg_exact(buf.getvalue(), max_pixels=10**6)
    assert ours(got) == reference(np.stack([grey] * 3, -1))


def test_exact_jpeg_errors():
    data = synthetic_jpeg(2, 640, 480)
    with pytest.raises(ImageTooLarge, match="640x480"):
        pdq_from_jpeg_exact(data, max_pixels=640 * 480 - 1)
    with pytest.raises(DecodeError):
        pdq_from_jpeg_exact(data[: len(data) // 2], max_pixels=10**6)
    with pytest.raises(DecodeError):
        pdq_from_jpeg_exact(b"\xff\xd8\xff" + bytes(200), max_pixels=10**6)
