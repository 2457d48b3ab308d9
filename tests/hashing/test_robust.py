"""Robust query variants: planes, frames, trimming, un-cropping and turning back.

The plane's hashes are held to exact mode (the bank's hashes) on the same frame; trimming is
held to known bars and to pictures whose own edges must be left alone; the variants are held
to finding benign edited copies that plain PDQ misses.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from benchmarks.scenes import scene_image
from keepdown.errors import UsageError
from keepdown.hashing import hash_bytes
from keepdown.hashing.borders import content_box
from keepdown.hashing.pdq import pdq_from_rgb
from keepdown.hashing.plane import filled, frame_pdq, plane_from_rgb, plane_from_scaled, rotated
from keepdown.hashing.robust import CATALOGUE, DEFAULT_VARIANTS, robust_hashes, uncrop_box

SIZES = [(640, 480), (800, 600), (480, 640), (1024, 768)]


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    return scene_image(seed, *size)


def rgb(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def letterbox(image: Image.Image, colour, top: float, bottom: float, side: float = 0.0):
    w, h = image.size
    t, b, s = round(h * top), round(h * bottom), round(w * side)
    out = Image.new("RGB", (w + 2 * s, h + t + b), colour)
    out.paste(image, (s, t))
    return out, (s / out.width, t / out.height, (s + w) / out.width, (t + h) / out.height)


@pytest.mark.parametrize("seed", range(6))
def test_plane_frames_stay_close_to_exact_mode(seed):
    image = rgb(scene(seed, SIZES[seed % len(SIZES)]))
    plane = plane_from_rgb(image)
    assert min(plane.shape) >= 256
    assert pdq_from_rgb(image).hash - frame_pdq(plane).hash <= 8
    h, w = image.shape[:2]
    x0, y0, x1, y1 = w // 10, h // 20, w * 8 // 10, h * 9 // 10
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    framed = frame_pdq(plane, (x0 / w, y0 / h, x1 / w, y1 / h))
    assert pdq_from_rgb(crop).hash - framed.hash <= 10


def test_plane_from_the_fast_path_matches_one_from_rgb():
    image = rgb(scene(3, (1024, 768)))
    luma = np.ascontiguousarray(image[::2, ::2].mean(axis=2).astype(np.uint8))
    fast = plane_from_scaled(luma, 768, 1024)
    assert fast.scale_x == pytest.approx(0.5)
    assert frame_pdq(fast).hash - pdq_from_rgb(image).hash <= 12


def test_a_frame_too_small_to_hash_is_none():
    plane = plane_from_rgb(rgb(scene(1)))
    assert frame_pdq(plane, (0.5, 0.5, 0.5 + 2 / 640, 0.6)) is None
    assert frame_pdq(plane, (0.6, 0.1, 0.5, 0.9)) is None


@pytest.mark.parametrize(
    ("colour", "top", "bottom", "side"),
    [
        ((0, 0, 0), 0.12, 0.12, 0.0),
        ((255, 255, 255), 0.1, 0.1, 0.0),
        ((40, 90, 160), 0.08, 0.08, 0.0),
        ((128, 128, 128), 0.0, 0.0, 0.1),
        ((0, 0, 0), 0.03, 0.03, 0.0),
        ((250, 250, 250), 0.06, 0.1, 0.0),  # asymmetric, like screenshot padding
    ],
)
def test_known_bars_are_trimmed(colour, top, bottom, side):
    for seed in (1, 2, 5):
        original = scene(seed)
        padded, truth = letterbox(original, colour, top, bottom, side)
        box = content_box(plane_from_rgb(rgb(padded)))
        assert box is not None
        assert np.allclose(box, truth, atol=0.012), (box, truth)
        trimmed = robust_hashes(plane_from_rgb(rgb(padded)), ())["trim"]
        assert pdq_from_rgb(rgb(original)).hash - trimmed.hash <= 31


def test_a_status_bar_with_a_clock_and_icons_is_still_a_bar():
    original = scene(4)
    padded, truth = letterbox(original, (0, 0, 0), 0.06, 0.1)
    draw = ImageDraw.Draw(padded)
    draw.text((20, 4), "9:41", fill=(255, 255, 255))
    for i in range(3):
        draw.rectangle([540 + 25 * i, 8, 552 + 25 * i, 20], fill=(255, 255, 255))
    box = content_box(plane_from_rgb(rgb(padded)))
    assert box is not None
    assert np.allclose(box, truth, atol=0.012)


def test_pictures_without_bars_are_left_alone():
    for seed in range(1, 13, 2):  # the city scenes: sky on top, road below, no bars
        assert content_box(plane_from_rgb(rgb(scene(seed)))) is None


def dark_edged(seed: int, gradient: bool) -> Image.Image:
    """A photo-like picture whose top fifth is genuinely dark: a noisy night sky with stars,
    or a vignette fading into the picture."""
    rng = np.random.default_rng(seed)
    image = rgb(scene(seed)).astype(np.float32)
    h = image.shape[0]
    band = h // 5
    if gradient:
        fade = np.linspace(0.05, 1.0, band)[:, None, None]
        image[:band] *= fade
    else:
        image[:band] = rng.normal(18, 6, (band, image.shape[1], 1))
        stars = rng.integers(0, image.shape[1], 60), rng.integers(0, band, 60)
        image[stars[1], stars[0]] = 230
    return Image.fromarray(image.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("gradient", [False, True])
def test_a_genuine_dark_edge_is_not_damaged(gradient):
    for seed in (1, 3, 7):
        picture = dark_edged(seed, gradient)
        plane = plane_from_rgb(rgb(picture))
        box = content_box(plane)
        assert box is None or box[1] == 0.0, box  # the dark top is never cut
        found = hash_bytes(jpeg(picture), dihedral=True, robust=True)
        assert found.pdq is not None
        assert found.pdq - pdq_from_rgb(rgb(picture)).hash <= 8  # the picture itself still hashed


def cut(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    box = (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    return image.crop(box)


def test_uncrop_finds_a_cropped_copy_plain_pdq_misses():
    found = 0
    for seed in range(2, 10):
        original = scene(seed)
        copy = cut(original, 0.025, 0.025, 0.025, 0.025)
        target = pdq_from_rgb(rgb(original)).hash
        plane = plane_from_rgb(rgb(copy))
        assert frame_pdq(plane).hash - target > 31  # PDQ's blind spot
        hashes = robust_hashes(plane, ["uncrop-2.5-2.5-2.5-2.5"])
        found += hashes["uncrop-2.5-2.5-2.5-2.5"].hash - target <= 31
    assert found >= 6


def test_uncrop_box_is_the_original_frame():
    box = uncrop_box(0.05, 0.0, 0.05, 0.1)
    assert box == pytest.approx((-0.05 / 0.9, 0.0, 1 + 0.05 / 0.9, 1 + 0.1 / 0.9))


def test_turning_back_finds_a_turned_copy():
    found = 0
    for seed in range(2, 8):
        original = scene(seed)
        turned = original.rotate(5, expand=True, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
        target = pdq_from_rgb(rgb(original)).hash
        hashes = robust_hashes(plane_from_rgb(rgb(turned)), ["turn-5", "turn+5"])
        found += min(h.hash - target for h in hashes.values()) <= 31
    assert found >= 5


def test_rotated_and_filled_planes_keep_their_picture():
    plane = plane_from_rgb(rgb(scene(3)))
    turned = rotated(plane, 90)  # from the plane halved: a turn needs no more detail
    assert turned.shape == (plane.shape[1] // 2, plane.shape[0] // 2)
    assert (turned.full_height, turned.full_width) == (plane.full_width, plane.full_height)
    patched = filled(plane, (0.6, 0.7, 1.0, 1.0))
    assert patched.luma.shape == plane.luma.shape
    assert np.array_equal(patched.luma[:100], plane.luma[:100])
    assert not np.array_equal(patched.luma[-20:, -20:], plane.luma[-20:, -20:])
    assert np.isfinite(patched.luma).all()


def test_hash_bytes_robust_in_both_modes():
    padded, _ = letterbox(scene(5), (0, 0, 0), 0.1, 0.1)
    data = jpeg(padded)
    for mode in ("exact", "fast"):
        result = hash_bytes(data, mode=mode, robust=True)
        assert result.robust is not None
        assert "trim" in result.robust
        trims = {"trim", "trim-rows", "trim-cols", "trim-even"}
        assert set(result.robust) - trims <= set(DEFAULT_VARIANTS)
        assert result.to_dict()["robust"]["trim"]["pdq"] == result.robust["trim"].hash.hex
    chosen = hash_bytes(data, robust=["uncrop-x5"])
    assert set(chosen.robust or {}) == {"trim", "uncrop-x5"}
    assert hash_bytes(data).robust is None
    with pytest.raises(UsageError, match="unknown robust variant"):
        hash_bytes(data, robust=["nope"])


def test_robust_is_not_computed_for_what_is_not_a_picture():
    result = hash_bytes(b"not a picture at all", robust=True)
    assert result.pdq is None
    assert result.robust is None


def test_every_default_variant_is_in_the_catalogue():
    assert set(DEFAULT_VARIANTS) <= set(CATALOGUE)
    assert len(DEFAULT_VARIANTS) == len(set(DEFAULT_VARIANTS))


def test_bars_of_a_small_jpeg_are_cut_at_the_right_line():
    """JPEG's ringing ends a bar's flat run early; the boundary is put at the biggest step."""
    original = scene(6, (256, 256))
    padded, truth = letterbox(original, (0, 0, 0), 0.12, 0.12)
    decoded = np.asarray(Image.open(io.BytesIO(jpeg(padded))).convert("RGB"))
    box = content_box(plane_from_rgb(np.ascontiguousarray(decoded)))
    assert box is not None
    assert np.allclose(box, truth, atol=0.004), (box, truth)


def test_a_picture_with_its_own_flat_edge_letterboxed_gets_an_even_trim():
    original = rgb(scene(3)).copy()
    original[-40:] = 0  # the picture's own black strip at the bottom, as part of the original
    padded, _ = letterbox(Image.fromarray(original), (0, 0, 0), 0.1, 0.1)
    hashes = robust_hashes(plane_from_rgb(rgb(padded)), ())
    assert "trim-even" in hashes
    target = pdq_from_rgb(original).hash
    assert hashes["trim-even"].hash - target <= 31
    assert hashes["trim"].hash - target > hashes["trim-even"].hash - target
