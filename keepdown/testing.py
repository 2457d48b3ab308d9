"""Helpers shipped for tests, benchmarks and integrators.

Everything here is benign and generated: synthetic pictures (gradients, shapes, texture) that
stand in for "known material" once their hash is put in a bank. Nothing here is ever a real
photograph of a person.
"""

from __future__ import annotations

import io
import random
from importlib import resources
from pathlib import Path

import numpy as np

from keepdown.clock import FrozenClock, utc

__all__ = [
    "FrozenClock",
    "flip_bits",
    "random_pdq_hex",
    "sample_image_paths",
    "synthetic_image_array",
    "synthetic_jpeg",
    "synthetic_video",
    "utc",
]


def synthetic_image_array(seed: int, width: int = 640, height: int = 480) -> np.ndarray:
    """A benign, photo-like RGB picture (H x W x 3 uint8), different for each seed.

    Smooth colour gradients, a few soft shapes and fine texture: enough structure for PDQ to
    give a high quality score, and enough entropy that JPEG sizes resemble real photographs.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs /= max(width - 1, 1)
    ys /= max(height - 1, 1)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        a, b, f1, f2, p = rng.uniform(-1, 1, 5)
        img[..., c] = (
            128 + 60 * a * xs + 60 * b * ys + 40 * np.sin(6 * f1 * xs + 5 * f2 * ys + 3 * p)
        )
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = rng.uniform(0, 1, 2)
        r = rng.uniform(0.05, 0.3)
        colour = rng.uniform(0, 255, 3)
        mask = np.exp(-((((xs - cx) ** 2 + (ys - cy) ** 2) / (r * r)) ** 2))
        img = img * (1 - mask[..., None]) + colour * mask[..., None]
    img += rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_jpeg(seed: int, width: int = 640, height: int = 480, quality: int = 85) -> bytes:
    """A benign synthetic picture encoded as JPEG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(synthetic_image_array(seed, width, height)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def sample_image_paths() -> list[Path]:
    """The benign sample images shipped inside the package (``keepdown/samples``)."""
    folder = resources.files("keepdown") / "samples"
    return sorted(
        Path(str(p)) for p in folder.iterdir() if p.name.lower().endswith((".jpg", ".png", ".gif"))
    )


def random_pdq_hex(rng: random.Random) -> str:
    """A uniformly random 256-bit PDQ hash as hex."""
    return rng.getrandbits(256).to_bytes(32, "big").hex()


def flip_bits(hex_hash: str, n_bits: int, rng: random.Random) -> str:
    """``hex_hash`` with exactly ``n_bits`` distinct bits flipped: a neighbour at that distance."""
    value = int(hex_hash, 16)
    for bit in rng.sample(range(len(hex_hash) * 4), n_bits):
        value ^= 1 << bit
    return value.to_bytes(len(hex_hash) // 2, "big").hex()


def synthetic_video(
    seed: int,
    *,
    seconds: float = 3.0,
    fps: int = 10,
    width: int = 320,
    height: int = 240,
    scenes: int = 3,
    fmt: str = "mp4",
) -> bytes:
    """A benign generated video (MPEG-4 part 2 in MP4, or VP8 in WebM with ``fmt="webm"``).

    ``scenes`` synthetic pictures follow each other, each slowly panned so that neighbouring
    frames differ a little, as in a real video. Encoded in memory with PyAV.
    """
    import av

    buffer = io.BytesIO()
    pictures = [_scene(seed * 100 + i, width + 64, height + 48) for i in range(scenes)]
    total = max(1, round(seconds * fps))
    with av.open(buffer, mode="w", format=fmt) as container:
        stream = container.add_stream("libvpx" if fmt == "webm" else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 8_000_000
        for n in range(total):
            picture = pictures[min(n * scenes // total, scenes - 1)]
            shift = n % 32
            frame = np.ascontiguousarray(picture[shift : shift + height, shift : shift + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _scene(seed: int, width: int, height: int) -> np.ndarray:
    """A synthetic picture with bold blocks drawn over it: edges keep PDQ quality high after
    video compression."""
    img = synthetic_image_array(seed, width, height)
    rng = np.random.default_rng(seed)
    for _ in range(14):
        x, y = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        w, h = int(rng.integers(8, width // 3)), int(rng.integers(8, height // 3))
        img[y : y + h, x : x + w] = rng.integers(0, 256, 3, dtype=np.uint8)
    return img
