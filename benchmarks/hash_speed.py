"""PDQ from JPEG bytes: keepdown's exact and fast modes against python-threatexchange, one core.

Steps:

1. Generate ``--n`` benign synthetic q85 JPEGs per size (``keepdown.testing.synthetic_jpeg``)
   and cache them under ``benchmarks/.cache/hash_speed/``.
2. Pin the process to one CPU with one thread for numba, OpenMP and BLAS.
3. For every image, round-robin over the contenders (so machine noise hits all alike), time
   each call ``--repeat`` times in CPU time of this thread (the machine is shared: wall time
   would count other people's jobs). Contenders:

   - keepdown exact: ``pdq_from_jpeg_exact`` (libjpeg-turbo full decode, compiled PDQ);
   - keepdown exact on Pillow's decode (what the facade does with non-JPEG formats);
   - keepdown fast: ``pdq_fast_from_jpeg`` (reduced-scale decode, scale-aware filter);
   - python-threatexchange: ``PdqSignal.hash_from_bytes`` (Pillow decode + pdqhash + hex);
   - pdqhash on a full Pillow decode (``pdqhash.compute`` alone, no hex);
   - imagehash.phash on the Pillow image;
   - floor: decoding the JPEG at the scale fast mode uses, nothing else.

4. Check every exact hash equals python-threatexchange's, and report fast mode's drift.

    python benchmarks/hash_speed.py --n 5 --repeat 3
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / numba load: "one core" means one thread

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
import simplejpeg  # noqa: E402
from PIL import Image  # noqa: E402
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes  # noqa: E402
from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402

from keepdown.hashing.fast import FAST_MIN_SIDE  # noqa: E402
from keepdown.hashing.pdq import (  # noqa: E402
    pdq_fast_from_jpeg,
    pdq_from_jpeg_exact,
    pdq_from_rgb,
)
from keepdown.testing import synthetic_jpeg  # noqa: E402

SIZES = ((640, 480), (1280, 720), (1920, 1080), (4000, 3000))
CACHE = Path(__file__).resolve().parent / ".cache" / "hash_speed"
MAX_PIXELS = 100_000_000
CONTENDERS = ("exact", "exact_pillow", "fast", "pytx", "pdqhash", "phash", "floor")


def jpegs(width: int, height: int, n: int) -> list[bytes]:
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in range(n):
        path = CACHE / f"{width}x{height}-q85-{seed}.jpg"
        if not path.exists():
            path.write_bytes(synthetic_jpeg(seed, width, height, quality=85))
        out.append(path.read_bytes())
    return out


def floor_decode(data: bytes) -> np.ndarray:
    """Decode at the scale fast mode picks (same rule as keepdown.hashing.fast)."""
    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    scale = next((s for s in (8, 4, 2) if min(height, width) // s >= FAST_MIN_SIDE), 1)
    return simplejpeg.decode_jpeg(
        data, "RGB", min_height=-(-height // scale), min_width=-(-width // scale)
    )


def calls(data: bytes) -> dict[str, Callable[[], object]]:
    def pillow_rgb() -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    return {
        "exact": lambda: pdq_from_jpeg_exact(data, max_pixels=MAX_PIXELS),
        "exact_pillow": lambda: pdq_from_rgb(pillow_rgb()),
        "fast": lambda: pdq_fast_from_jpeg(data, max_pixels=MAX_PIXELS),
        "pytx": lambda: PdqSignal.hash_from_bytes(data),
        "pdqhash": lambda: pdqhash.compute(pillow_rgb()),
        "phash": lambda: imagehash.phash(Image.open(io.BytesIO(data))),
        "floor": lambda: floor_decode(data),
    }


def cpu_seconds(call: Callable[[], object]) -> float:
    start = time.thread_time()
    call()
    return time.thread_time() - start


def bench_size(images: list[bytes], repeat: int) -> dict[str, float]:
    """Images per second (1 / median CPU seconds per image) for each contender."""
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for data in images:
        todo = calls(data)
        for _ in range(repeat):
            for name in CONTENDERS:
                times[name].append(cpu_seconds(todo[name]))
    return {name: 1.0 / statistics.median(t) for name, t in times.items()}


def check_and_drift(images: list[bytes]) -> tuple[int, list[tuple[int, int]]]:
    """(exact hashes differing from pytx's, [(fast drift bits, exact quality)])."""
    mismatches, drifts = 0, []
    for data in images:
        exact = pdq_from_jpeg_exact(data, max_pixels=MAX_PIXELS)
        pytx_hex, pytx_quality = pdq_from_bytes(data)
        mismatches += (exact.hash.hex, exact.quality) != (pytx_hex, pytx_quality)
        fast = pdq_fast_from_jpeg(data, max_pixels=MAX_PIXELS)
        drifts.append((exact.hash - fast.hash, exact.quality))
    return mismatches, drifts


def drift_line(label: str, bits: list[int]) -> str:
    if not bits:
        return f"{label}: no images"
    return (
        f"{label}: n={len(bits)} mean {np.mean(bits):.2f}, p95 {np.percentile(bits, 95):.1f}, "
        f"max {max(bits)} bits"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="JPEGs per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per image")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    warm = jpegs(640, 480, 1)[0]
    for call in calls(warm).values():  # compile / load numba's cache outside the timings
        call()
    print("images/s on one core (CPU time), median per image; q85 synthetic JPEGs")
    print(
        "| size | keepdown exact | keepdown exact (Pillow decode) | keepdown fast | pytx "
        "| pdqhash + Pillow | imagehash phash | floor (scaled decode) "
        "| exact/pytx | fast/pytx | fast/floor |"
    )
    print("| --- " * 11 + "|")
    all_drifts: list[tuple[int, int]] = []
    bad = 0
    for width, height in SIZES:
        images = jpegs(width, height, args.n)
        rate = bench_size(images, args.repeat)
        mismatches, drifts = check_and_drift(images)
        bad += mismatches
        all_drifts += drifts
        cells = " | ".join(f"{rate[name]:,.1f}" for name in CONTENDERS)
        print(
            f"| {width}x{height} | {cells} | {rate['exact'] / rate['pytx']:.1f}x "
            f"| {rate['fast'] / rate['pytx']:.1f}x | {rate['floor'] / rate['fast']:.2f} |"
        )
    print(
        f"\nexact hash and quality equal to python-threatexchange's: "
        f"{len(all_drifts) - bad} of {len(all_drifts)} images"
    )
    print(drift_line("fast-mode drift, all images", [d for d, _ in all_drifts]))
    print(drift_line("fast-mode drift, quality >= 50", [d for d, q in all_drifts if q >= 50]))


if __name__ == "__main__":
    main()
