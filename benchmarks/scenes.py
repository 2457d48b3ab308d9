"""Benign generated scenes for the hashing benchmarks: photo-like, with edges and texture.

``keepdown.testing.synthetic_jpeg`` draws smooth gradients and soft blobs: fine for timing a
decoder, but PDQ scores such pictures 5-45, below the quality floor of 50 at which hashes are
matched, so fast mode's drift on them says nothing about the pictures that matter. These scenes
(sky, hills, buildings with windows, trees, a road, cars, poles, sensor grain) are drawn the
way ``scripts/make_samples.py`` redrew the shipped samples, at any size with the same layout,
and score PDQ quality 90-100 like photographs. Every one is drawn here from shapes and seeded
noise: nothing is downloaded.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["scene_image", "scene_jpeg"]

Rgb = tuple[int, int, int]


def _colour(rng: np.random.Generator, low: int = 40, high: int = 220) -> Rgb:
    r, g, b = (int(c) for c in rng.integers(low, high, 3))
    return (r, g, b)


def _sky(draw: ImageDraw.ImageDraw, w: int, h: int, top: Rgb, bottom: Rgb) -> None:
    for y in range(h):
        t = y / max(h - 1, 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (w, y)], fill=colour)


def _buildings(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> None:
    ground = int(h * rng.uniform(0.55, 0.7))
    x = int(-w * 0.02)
    while x < w:
        bw, bh = int(w * rng.uniform(0.05, 0.14)), int(h * rng.uniform(0.15, 0.5))
        tone = int(rng.integers(50, 170))
        draw.rectangle([x, ground - bh, x + bw, ground], fill=(tone, tone - 15, tone - 25))
        cell = max(4, int(w * rng.uniform(0.012, 0.02)))
        for wy in range(ground - bh + cell, ground - cell, int(cell * 1.6)):
            for wx in range(x + cell // 2, x + bw - cell, int(cell * 1.4)):
                lit = (230, 210, 130) if rng.random() < 0.35 else (35, 45, 65)
                draw.rectangle([wx, wy, wx + cell * 2 // 3, wy + cell], fill=lit)
        x += bw + int(w * rng.uniform(0.0, 0.02))


def _landscape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> None:
    base = int(h * rng.uniform(0.4, 0.55))
    ridge = [(0, h)] + [
        (x, int(base - h * 0.12 * abs(np.sin(x / (w * rng.uniform(0.08, 0.2))))))
        for x in range(0, w + w // 20, max(1, w // 20))
    ]
    draw.polygon([*ridge, (w, h)], fill=_colour(rng, 30, 110))
    for _ in range(int(rng.integers(15, 40))):
        tx, ty = int(rng.integers(0, w)), int(rng.integers(base, h))
        size = int(h * rng.uniform(0.03, 0.09))
        green = (20, int(rng.integers(60, 130)), 30)
        draw.polygon([(tx, ty - size), (tx - size // 3, ty), (tx + size // 3, ty)], fill=green)


def _street(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> None:
    top = int(h * 0.72)
    draw.polygon([(0, h), (int(w * 0.35), top), (int(w * 0.65), top), (w, h)], fill=(70, 70, 75))
    for k in range(8):  # lane dashes, larger as they come closer
        y0 = top + (h - top) * k // 8
        y1 = y0 + (h - top) // 16
        half = max(1, w * (1 + k) // 400)
        draw.rectangle([w // 2 - half, y0, w // 2 + half, y1], fill=(235, 235, 220))
    for _ in range(int(rng.integers(2, 6))):  # cars
        cx, cy = int(rng.integers(0, w)), int(rng.integers(top, h))
        cw, ch = int(w * rng.uniform(0.06, 0.12)), int(h * rng.uniform(0.04, 0.07))
        draw.rounded_rectangle([cx, cy, cx + cw, cy + ch], radius=ch // 4, fill=_colour(rng))
        draw.rectangle([cx + cw // 5, cy - ch // 2, cx + cw * 4 // 5, cy], fill=(60, 80, 100))
    for _ in range(int(rng.integers(2, 5))):  # poles and wires
        px = int(rng.integers(0, w))
        draw.line([(px, int(h * 0.3)), (px, top)], fill=(40, 35, 30), width=max(2, w // 300))
        draw.line([(0, int(h * 0.32)), (w, int(h * 0.3))], fill=(30, 30, 30), width=1)


def scene_image(seed: int, width: int, height: int) -> Image.Image:
    """One RGB scene, different for each seed, laid out the same way at any size."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    _sky(draw, width, height, _colour(rng, 60, 200), _colour(rng, 160, 250))
    if seed % 2:
        _buildings(draw, rng, width, height)
    else:
        _landscape(draw, rng, width, height)
    _street(draw, rng, width, height)
    if seed % 3 == 0:  # a soft, out-of-focus picture now and then
        img = img.filter(ImageFilter.GaussianBlur(max(1, width // 800)))
    arr = np.asarray(img, dtype=np.float32)
    arr += rng.normal(0, rng.uniform(3, 8), (height, width, 1)).astype(np.float32)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def scene_jpeg(seed: int, width: int, height: int, quality: int = 85) -> bytes:
    """:func:`scene_image` encoded as a JPEG (4:2:0, as cameras and most sites write them)."""
    buf = io.BytesIO()
    scene_image(seed, width, height).save(buf, "JPEG", quality=quality)
    return buf.getvalue()
