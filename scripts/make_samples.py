"""Regenerate the benign sample images shipped in ``keepdown/samples`` (deterministic).

The samples are the demo bank's stand-ins for known material and what the README's commands
hash, so they must behave like photographs for PDQ: sharp edges and texture give a quality well
above the reference's floor of 50 (smooth blobs score 5-45, and PDQ hashes below the floor are
never matched, which would make the demo's near matches silently impossible).

    python scripts/make_samples.py            # rewrites keepdown/samples/*
    python scripts/make_samples.py --check    # prints each file's PDQ quality

Every picture is drawn here from shapes and seeded noise: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "keepdown" / "samples"
Rgb = tuple[int, int, int]


def _noise(img: Image.Image, rng: np.random.Generator, amount: float = 6.0) -> Image.Image:
    """Sensor-like grain, so flat areas are not perfectly flat (as in a photo)."""
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.normal(0, amount, arr.shape)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _sky(draw: ImageDraw.ImageDraw, w: int, h: int, top: Rgb, bottom: Rgb) -> None:
    for y in range(h):
        t = y / max(h - 1, 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (w, y)], fill=colour)


def city_blocks(rng: np.random.Generator) -> Image.Image:
    w, h = 600, 800
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    _sky(draw, w, h, (120, 160, 210), (220, 200, 170))
    x = 0
    while x < w:
        bw, bh = int(rng.integers(60, 140)), int(rng.integers(250, 700))
        tone = int(rng.integers(60, 150))
        draw.rectangle([x, h - bh, x + bw, h], fill=(tone, tone - 10, tone - 20))
        for wy in range(h - bh + 12, h - 10, 22):
            for wx in range(x + 8, x + bw - 12, 18):
                lit = (230, 210, 120) if rng.random() < 0.3 else (40, 50, 70)
                draw.rectangle([wx, wy, wx + 9, wy + 12], fill=lit)
        x += bw + int(rng.integers(2, 12))
    return _noise(img, rng)


def harbour_shapes(rng: np.random.Generator) -> Image.Image:
    w, h = 640, 480
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    _sky(draw, w, h // 2, (150, 190, 230), (235, 225, 200))
    for y in range(h // 2, h, 6):
        shade = 40 + (y - h // 2) // 4
        draw.rectangle([0, y, w, y + 6], fill=(20, 70 + shade // 2, 110 + shade // 3))
        for x0 in range(int(rng.integers(0, 30)), w, 40):
            draw.arc([x0, y - 3, x0 + 30, y + 5], 200, 340, fill=(200, 220, 235), width=2)
    for _ in range(6):
        bx, by = int(rng.integers(20, w - 120)), int(rng.integers(h // 2 - 10, h - 60))
        hull = [(bx, by), (bx + 100, by), (bx + 80, by + 25), (bx + 15, by + 25)]
        draw.polygon(hull, fill=tuple(int(c) for c in rng.integers(60, 230, 3)))
        draw.line([(bx + 50, by), (bx + 50, by - 70)], fill=(60, 40, 30), width=3)
        draw.polygon(
            [(bx + 52, by - 68), (bx + 52, by - 8), (bx + 95, by - 8)], fill=(245, 245, 240)
        )
    return _noise(img, rng)


def lake_mirror(rng: np.random.Generator) -> Image.Image:
    w, h = 720, 480
    top = Image.new("RGB", (w, h // 2))
    draw = ImageDraw.Draw(top)
    _sky(draw, w, h // 2, (90, 140, 200), (200, 210, 220))
    ridge = [(0, h // 2)]
    for x in range(0, w + 40, 40):
        ridge.append((x, int(h // 2 - 60 - 80 * abs(math.sin(x / 90.0)) - rng.integers(0, 30))))
    ridge.append((w, h // 2))
    draw.polygon(ridge, fill=(50, 80, 60))
    for _ in range(40):
        tx = int(rng.integers(0, w))
        ty = int(rng.integers(h // 2 - 60, h // 2))
        draw.polygon(
            [(tx, ty - 40), (tx - 12, ty), (tx + 12, ty)],
            fill=(20, 60 + int(rng.integers(0, 40)), 30),
        )
    reflection = top.transpose(Image.Transpose.FLIP_TOP_BOTTOM).filter(
        ImageFilter.GaussianBlur(1.5)
    )
    img = Image.new("RGB", (w, h))
    img.paste(top, (0, 0))
    img.paste(
        Image.blend(reflection, Image.new("RGB", reflection.size, (30, 60, 90)), 0.35), (0, h // 2)
    )
    return _noise(img, rng)


def meadow_texture(rng: np.random.Generator) -> Image.Image:
    w, h = 1024, 768
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    _sky(draw, w, h // 3, (130, 180, 235), (210, 225, 235))
    draw.rectangle([0, h // 3, w, h], fill=(70, 120, 40))
    for _ in range(5000):
        x, y = int(rng.integers(0, w)), int(rng.integers(h // 3, h))
        length = 6 + (y - h // 3) // 25
        lean = int(rng.integers(-4, 5))
        g = int(rng.integers(90, 200))
        draw.line([(x, y), (x + lean, y - length)], fill=(40, g, 30), width=1 + (y > h * 2 // 3))
    for _ in range(160):
        x, y = int(rng.integers(0, w)), int(rng.integers(h // 3 + 20, h))
        r = 2 + (y - h // 3) // 90
        colour = [(240, 220, 40), (240, 240, 240), (200, 60, 140)][int(rng.integers(0, 3))]
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return _noise(img, rng, 4.0)


def stone_wall(rng: np.random.Generator) -> Image.Image:
    w, h = 512, 512
    img = Image.new("RGB", (w, h), (150, 145, 140))
    draw = ImageDraw.Draw(img)
    row_h = 32
    for row, y in enumerate(range(0, h, row_h)):
        x = -int(rng.integers(10, 50)) if row % 2 else 0
        while x < w:
            bw = int(rng.integers(40, 90))
            tone = int(rng.integers(110, 200))
            draw.rectangle(
                [x + 2, y + 2, x + bw - 2, y + row_h - 2],
                fill=(tone, tone - int(rng.integers(5, 30)), tone - int(rng.integers(20, 50))),
            )
            x += bw
    return _noise(img, rng, 10.0)


def sunset_gradient(rng: np.random.Generator) -> Image.Image:
    w, h = 800, 600
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    _sky(draw, w, h, (60, 40, 110), (250, 150, 60))
    draw.ellipse([w // 2 - 70, h // 2 - 20, w // 2 + 70, h // 2 + 120], fill=(255, 215, 120))
    skyline = [(0, h)]
    x = 0
    while x < w:
        top = int(h - rng.integers(60, 220))
        skyline += [(x, top), (x + int(rng.integers(20, 70)), top)]
        x = skyline[-1][0]
    skyline.append((w, h))
    draw.polygon(skyline, fill=(25, 20, 35))
    for _ in range(12):
        bx, by = int(rng.integers(0, w)), int(rng.integers(40, h // 2))
        draw.line([(bx, by), (bx + 8, by - 4), (bx + 16, by)], fill=(30, 25, 40), width=2)
    return _noise(img, rng)


def garden_palette(rng: np.random.Generator) -> Image.Image:
    w, h = 400, 300
    img = Image.new("RGB", (w, h), (90, 150, 70))
    draw = ImageDraw.Draw(img)
    for _ in range(70):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(6, 26))
        petal = tuple(int(c) for c in rng.integers(120, 256, 3))
        for k in range(6):
            a = k * math.pi / 3
            px, py = x + r * math.cos(a), y + r * math.sin(a)
            draw.ellipse([px - r / 2, py - r / 2, px + r / 2, py + r / 2], fill=petal)
        draw.ellipse([x - r / 3, y - r / 3, x + r / 3, y + r / 3], fill=(240, 200, 40))
    return img


def kite_frames(rng: np.random.Generator) -> list[Image.Image]:
    """Three frames of a kite in a changing sky: each frame a distinct picture for PDQ."""
    frames = []
    for i in range(3):
        w, h = 320, 240
        img = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(img)
        _sky(draw, w, h, ((60, 90, 200), (200, 120, 60), (40, 160, 90))[i], (230, 230, 220))
        for _ in range(25):
            cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
            draw.ellipse([cx - 18, cy - 8, cx + 18, cy + 8], fill=(250, 250, 250))
        kx, ky = 60 + 90 * i, 50 + 40 * i
        draw.polygon(
            [(kx, ky - 30), (kx + 22, ky), (kx, ky + 40), (kx - 22, ky)], fill=(220, 30, 40)
        )
        draw.line([(kx, ky + 40), (w // 2, h)], fill=(20, 20, 20), width=2)
        frames.append(img.quantize(colors=64, method=Image.Quantize.MEDIANCUT))
    return frames


JPEGS: dict[str, Callable[[np.random.Generator], Image.Image]] = {
    "city-blocks.jpg": city_blocks,
    "harbour-shapes.jpg": harbour_shapes,
    "lake-mirror.jpg": lake_mirror,
    "meadow-texture.jpg": meadow_texture,
    "stone-wall.jpg": stone_wall,
    "sunset-gradient.jpg": sunset_gradient,
}


def write_all(out: Path) -> None:
    for seed, (name, draw) in enumerate(JPEGS.items()):
        draw(np.random.default_rng(seed)).save(out / name, quality=88)
    garden = garden_palette(np.random.default_rng(100))
    garden.quantize(colors=48).save(out / "garden-palette.png")  # a palette PNG on purpose
    first, *rest = kite_frames(np.random.default_rng(200))
    first.save(out / "kite-frames.gif", save_all=True, append_images=rest, duration=300, loop=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only print each file's quality")
    args = parser.parse_args()
    if not args.check:
        write_all(OUT)
    from keepdown.hashing import hash_file

    for path in sorted(OUT.iterdir()):
        result = hash_file(path)
        print(f"{path.name:22} quality {result.quality}")


if __name__ == "__main__":
    main()
