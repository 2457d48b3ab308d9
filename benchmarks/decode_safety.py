"""What safe decoding and the exact hashes cost, next to the bare calls, in one run.

1. Decode: the reference pipeline's decode (``Image.open`` -> ``convert("RGB")`` ->
   ``np.asarray``) against :func:`keepdown.hashing.decode.decode_image` (byte and pixel
   limits, format restriction, bomb guard, warnings handling, mode conversion) on benign
   synthetic q85 JPEGs and PNGs of several sizes. Medians of ``--repeat`` runs, one core.
2. Exact hashes: each of ``hashlib``'s MD5, SHA-1 and SHA-256 alone against keepdown's one
   pass computing the three together, in MB/s over ``--mib`` MiB.

    python benchmarks/decode_safety.py --repeat 15 --mib 256
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from keepdown.hashing.decode import DecodeLimits, decode_image
from keepdown.hashing.exact import exact_hashes_of_stream
from keepdown.settings import load_settings
from keepdown.testing import synthetic_image_array

SIZES = ((640, 480), (1920, 1080), (4000, 3000))


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bare_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encoded(width: int, height: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    options = {"quality": 85} if fmt == "JPEG" else {}
    Image.fromarray(synthetic_image_array(1, width, height)).save(buf, fmt, **options)
    return buf.getvalue()


def bench_decode(repeat: int) -> None:
    limits = DecodeLimits.from_settings(load_settings(environ={}))
    print("| image | bare Pillow decode ms | keepdown decode_image ms | ratio |")
    print("| --- | --- | --- | --- |")
    for fmt in ("JPEG", "PNG"):
        for width, height in SIZES:
            data = encoded(width, height, fmt)
            assert np.array_equal(bare_decode(data), decode_image(data, limits=limits).rgb)
            bare = median_ms(lambda d=data: bare_decode(d), repeat)
            safe = median_ms(lambda d=data: decode_image(d, limits=limits), repeat)
            print(f"| {fmt} {width}x{height} | {bare:.2f} | {safe:.2f} | {safe / bare:.2f} |")


class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced on demand (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(1024 * 1024)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, len(self.block) if n < 0 else n)
        self.left -= n
        return self.block[:n]


def bench_exact(mib: int) -> None:
    size = mib * 1024 * 1024
    alone = {}
    for name in ("md5", "sha1", "sha256"):
        start = time.perf_counter()
        hasher = hashlib.new(name)
        stream = Zeros(size)
        while chunk := stream.read(1024 * 1024):
            hasher.update(chunk)
        alone[name] = mib / (time.perf_counter() - start)
    start = time.perf_counter()
    exact_hashes_of_stream(Zeros(size))
    together = mib / (time.perf_counter() - start)
    ceiling = 1 / sum(1 / speed for speed in alone.values())
    print("\n" + ", ".join(f"{name} alone {speed:.0f} MB/s" for name, speed in alone.items()))
    print(f"keepdown md5+sha1+sha256 in one pass: {together:.0f} MB/s "
          f"(sum of the three alone: {ceiling:.0f} MB/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mib", type=int, default=64)
    args = parser.parse_args()
    bench_decode(args.repeat)
    bench_exact(args.mib)


if __name__ == "__main__":
    main()
