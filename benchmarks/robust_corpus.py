"""The benign pictures of ``benchmarks/robustness.py``: originals and distractors.

Originals are read in place: the PDQ reference photos (``<testdata>/pdq-reference``),
scikit-image's bundled pictures when scikit-image is installed, and generated scenes
(``benchmarks/scenes.py``). Distractors are generated: scenes with other seeds, and abstract
pictures (shapes, gradients, lines of text) so that not every distractor is drawn alike.
Nothing is downloaded and nothing here shows a person except scikit-image's astronaut
portrait (a public NASA photograph).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.scenes import scene_image
from keepdown.hashing.pdq import pdq_from_rgb

__all__ = ["distractor_jpegs", "originals"]

MAX_SIDE = 1600
_REFERENCE = (
    "data/bridge-mods/aaa-orig.jpg",
    "data/reg-test-input/labelme-subset/q0122.jpg",
    "data/reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "data/reg-test-input/pen-and-coaster.png",
    "data/misc-images/c.png",
    "pytx-resources/rgb.jpeg",
)
_SKIMAGE = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "coffee",
    "coins",
    "color",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "ihc",
    "microaneurysms",
    "moon",
    "motorcycle_left",
    "page",
    "retina",
    "rocket",
    "text",
    "logo",
    "phantom",
)
_SIZES = ((640, 480), (800, 600), (1024, 768), (480, 640), (1280, 720), (1200, 1200))


def _capped(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    scale = MAX_SIDE / max(image.size)
    if scale < 1:
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.LANCZOS
        )
    return image


def _matchable(image: Image.Image) -> bool:
    return pdq_from_rgb(np.asarray(image)).quality >= 50


def originals(scenes: int, testdata: str) -> tuple[list[Image.Image], str]:
    """The bank's pictures and a line saying where they came from."""
    out: list[Image.Image] = []
    counts: dict[str, int] = {}
    root = Path(testdata) / "pdq-reference"
    for rel in _REFERENCE:
        if (root / rel).exists():
            out.append(_capped(Image.open(root / rel)))
            counts["PDQ reference"] = counts.get("PDQ reference", 0) + 1
    try:
        import skimage.data as skdata

        folder = Path(skdata.__file__).parent
        for name in _SKIMAGE:
            found = sorted(folder.glob(f"{name}.*"))
            if found:
                out.append(_capped(Image.open(found[0])))
                counts["scikit-image"] = counts.get("scikit-image", 0) + 1
    except ImportError:
        pass
    for seed in range(scenes):
        width, height = _SIZES[seed % len(_SIZES)]
        out.append(scene_image(1000 + seed, width, height))
    counts["scenes"] = scenes
    kept = [im for im in out if _matchable(im)]
    label = ", ".join(f"{n} {k}" for k, n in counts.items())
    return kept, f"{label}; {len(out) - len(kept)} under quality 50 left out"


def abstract_image(seed: int, width: int, height: int) -> Image.Image:
    """Shapes, gradients and lines of text: unlike the scenes, unlike any original."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            128
            + 100
            * np.sin(
                xs / width * rng.uniform(1, 9) + ys / height * rng.uniform(1, 9) + rng.uniform(0, 6)
            )
            for _ in range(3)
        ],
        axis=2,
    )
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(5, 25))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(10, width // 2)), y0 + int(rng.integers(10, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif shape == 1:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(1, 12)))
    for line in range(int(rng.integers(0, 6))):
        text = "".join(chr(int(c)) for c in rng.integers(65, 90, int(rng.integers(5, 30))))
        draw.text((10, 10 + line * height // 8), text, fill=(0, 0, 0))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3))))
    return image


def distractor_jpegs(n: int, seed: int) -> Iterator[bytes]:
    """``n`` JPEGs of unrelated benign pictures: 70% scenes, 30% abstract."""
    for i in range(n):
        width, height = _SIZES[i % len(_SIZES)]
        width, height = width // 2, height // 2  # smaller: the set is large
        if i % 10 < 7:
            image = scene_image(100_000 + seed * 10_000 + i, width, height)
        else:
            image = abstract_image(200_000 + seed * 10_000 + i, width, height)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=85)
        yield buf.getvalue()
