"""PDQ from JPEG bytes: keepdown's exact and fast modes against python-threatexchange, one core.

Steps:

1. Generate ``--n`` benign photo-like q85 JPEGs per size (``benchmarks/scenes.py``: sky,
   buildings or hills, a street, grain; PDQ quality 77-100 like photographs, so the drift
   measured is the drift of pictures that can match) and cache them under
   ``benchmarks/.cache/hash_speed/``.
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
   - floor: decoding the JPEG at the scale and colour space fast mode uses (fast mode's own
     ``decode_jpeg_scaled``), nothing else.

4. Check every exact hash equals python-threatexchange's, and report fast mode's drift (all
   images, and those of quality >= 50).
5. With ``--alternatives``: the choices fast mode did not take (RGB and its luma instead of
   the JPEG's Y plane; decoding at 1/8 when the short side stays >= 128 instead of 256),
   each with its own decode floor and its drift from exact mode on the benchmark images, on
   the smooth synthetic JPEGs of ``keepdown.testing`` (quality < 50), on the reference JPEGs
   (``KEEPDOWN_TESTDATA`` or ``../shared/testdata``) and on reference photos resized to
   1920x1080 and 1500x1100.

Needs the bench extra (``pip install -e '.[bench]'``: pdqhash, threatexchange, imagehash)::

    PYTHONPATH=. python benchmarks/hash_speed.py --n 4 --repeat 3 [--alternatives]
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
from PIL import Image  # noqa: E402
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes  # noqa: E402
from threatexchange.signal_type.pdq.signal import PdqSignal  # noqa: E402

from benchmarks.scenes import scene_jpeg  # noqa: E402
from keepdown.hashing.fast import (  # noqa: E402
    FAST_COLORSPACE,
    FAST_MIN_SIDE,
    decode_jpeg_scaled,
    scale_aware_64x64,
)
from keepdown.hashing.pdq import (  # noqa: E402
    PdqResult,
    dihedral_from_64x64,
    pdq_fast_from_jpeg,
    pdq_from_jpeg_exact,
    pdq_from_rgb,
)
from keepdown.testing import synthetic_jpeg  # noqa: E402

SIZES = ((640, 480), (1280, 720), (1920, 1080), (4000, 3000))
CACHE = Path(__file__).resolve().parent / ".cache" / "hash_speed"
MAX_PIXELS = 100_000_000
CONTENDERS = ("exact", "exact_pillow", "fast", "pytx", "pdqhash", "phash", "floor")


def jpegs(width: int, height: int, n: int, smooth: bool = False) -> list[bytes]:
    """The benchmark's photo-like scenes (or, with ``smooth``, keepdown.testing's gradients)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in range(n):
        kind = "smooth" if smooth else "scene"
        path = CACHE / f"{kind}-{width}x{height}-q85-{seed}.jpg"
        if not path.exists():
            draw = synthetic_jpeg if smooth else scene_jpeg
            path.write_bytes(draw(seed, width, height, quality=85))
        out.append(path.read_bytes())
    return out


def floor_decode(
    data: bytes, min_side: int = FAST_MIN_SIDE, colorspace: str = FAST_COLORSPACE
) -> tuple[np.ndarray, int, int] | None:
    """Decode at the scale and colour space fast mode uses: fast mode's own decode call."""
    return decode_jpeg_scaled(data, max_pixels=MAX_PIXELS, min_side=min_side, colorspace=colorspace)


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


#: (short side kept, colour space): fast mode's choice first, then those it did not take.
ALTERNATIVES = ((FAST_MIN_SIDE, "GRAY"), (FAST_MIN_SIDE, "RGB"), (128, "GRAY"), (128, "RGB"))


def fast_variant(data: bytes, min_side: int, colorspace: str) -> PdqResult:
    """Fast mode with another scale rule or colour space ("GRAY": the JPEG's Y plane)."""
    scaled = decode_jpeg_scaled(
        data, max_pixels=MAX_PIXELS, min_side=min_side, colorspace=colorspace
    )
    assert scaled is not None
    pixels, height, width = scaled
    luma = pixels[..., 0] if colorspace == "GRAY" else pixels
    return dihedral_from_64x64(scale_aware_64x64(luma, height, width))["original"]


def reference_jpegs() -> list[bytes]:
    """The reference test data's RGB/grey JPEGs (empty when the test data is absent)."""
    base = os.environ.get("KEEPDOWN_TESTDATA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "testdata"
    root = root / "pdq-reference"
    found = [*(root / "data").rglob("*.jpg"), *(root / "pytx-resources").glob("*.jp*g")]
    return [p.read_bytes() for p in sorted(found) if "CMYK" not in p.name]


def resized(photos: list[bytes], width: int, height: int) -> list[bytes]:
    out = []
    for data in photos:
        with Image.open(io.BytesIO(data)) as im:
            if min(im.size) < 200:
                continue
            buf = io.BytesIO()
            im.convert("RGB").resize((width, height), Image.BICUBIC).save(buf, "JPEG", quality=90)
            out.append(buf.getvalue())
    return out


def alternatives(n: int, repeat: int) -> None:
    """Decode floors and drift of the scale rules / colour spaces fast mode did not take."""
    labels = [f"short side >= {m}, {c}" for m, c in ALTERNATIVES]
    print("\n--alternatives: decode floor, images/s on one core (CPU time)")
    print("| size | " + " | ".join(labels) + " |")
    print("| --- " * (len(labels) + 1) + "|")
    for width, height in SIZES:
        times: list[list[float]] = [[] for _ in ALTERNATIVES]
        for data in jpegs(width, height, n):
            for _ in range(repeat):
                for i, (side, space) in enumerate(ALTERNATIVES):
                    times[i].append(
                        cpu_seconds(lambda d=data, s=side, c=space: floor_decode(d, s, c))
                    )
        cells = " | ".join(f"{1.0 / statistics.median(t):,.1f}" for t in times)
        print(f"| {width}x{height} | {cells} |")
    photos = reference_jpegs()
    sets = {
        "benchmark scenes": [d for w, h in SIZES for d in jpegs(w, h, n)],
        "smooth synthetic JPEGs": [d for w, h in SIZES for d in jpegs(w, h, n, smooth=True)],
        "reference JPEGs": photos,
        "reference photos at 1920x1080 q90": resized(photos, 1920, 1080),
        "reference photos at 1500x1100 q90": resized(photos, 1500, 1100),
    }
    for name, images in sets.items():
        exact = [pdq_from_jpeg_exact(d, max_pixels=MAX_PIXELS) for d in images]
        for side, space in ALTERNATIVES:
            bits = [
                e.hash - fast_variant(d, side, space).hash
                for d, e in zip(images, exact, strict=False)
            ]
            good = [b for b, e in zip(bits, exact, strict=False) if e.quality >= 50]
            print(drift_line(f"{name}, short side >= {side}, {space}", bits))
            print(drift_line("  of which quality >= 50", good))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="JPEGs per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per image")
    parser.add_argument(
        "--alternatives", action="store_true", help="also measure the rejected fast-mode choices"
    )
    parser.add_argument(
        "--smooth",
        action="store_true",
        help="time keepdown.testing's smooth synthetic JPEGs (quality < 50) instead of scenes",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    warm = jpegs(640, 480, 1)[0]
    for call in calls(warm).values():  # compile / load numba's cache outside the timings
        call()
    kind = "smooth synthetic JPEGs" if args.smooth else "photo-like scenes"
    print(f"images/s on one core (CPU time), median per image; q85 {kind}")
    print(
        "| size | keepdown exact | keepdown exact (Pillow decode) | keepdown fast | pytx "
        "| pdqhash + Pillow | imagehash phash | floor (scaled decode) "
        "| exact/pytx | fast/pytx | fast/floor |"
    )
    print("| --- " * 11 + "|")
    all_drifts: list[tuple[int, int]] = []
    bad = 0
    for width, height in SIZES:
        images = jpegs(width, height, args.n, smooth=args.smooth)
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
    qualities = [q for _, q in all_drifts]
    print(
        f"exact-mode PDQ quality of the benchmark images: min {min(qualities)}, "
        f"median {statistics.median(qualities):.0f}, max {max(qualities)}"
    )
    if args.alternatives:
        alternatives(args.n, args.repeat)


if __name__ == "__main__":
    main()
