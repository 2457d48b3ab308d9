"""PDQ perceptual hashes, bit-identical to the reference, and a faster JPEG-only mode.

Exact mode (:func:`pdq_from_rgb`, :func:`pdq_dihedral_from_rgb`) gives, for the same decoded
pixels, the same hash *and* quality as ``pdqhash`` (Meta's C++ behind python-threatexchange
and HMA), bit for bit. Steps:

1. Luma and the two-pass Jarosz (box) filter, decimated to 64x64
   (:mod:`keepdown.hashing.pdq_filter`, compiled on first use).
2. Quality from the 64x64 image's quantised gradients.
3. DCT to the 16x16 lowest frequencies; each bit says "above the median coefficient".
4. The 8 rotations and mirrors (:data:`DIHEDRAL_NAMES`) come from the same 16x16 DCT by
   sign changes and a transpose, as the reference does.

Bits are laid out as python-threatexchange prints them: bit ``k`` (row ``k // 16``, column
``k % 16`` of the DCT) is worth ``2**k`` in the 256-bit big-endian number.

Fast mode (:func:`pdq_fast_from_jpeg`) decodes a JPEG at reduced DCT scale and applies a
scale-aware filter (:mod:`keepdown.hashing.fast`): a few bits from exact mode, several
times faster. Bank entries are always hashed in exact mode.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from keepdown.errors import InvalidInput
from keepdown.hashing.fast import (
    decode_jpeg_rgb,
    decode_jpeg_scaled,
    is_jpeg,
    readonly,
    scale_aware_64x64,
)
from keepdown.hashing.types import PdqHash

__all__ = [
    "DIHEDRAL_NAMES",
    "PdqResult",
    "is_jpeg",
    "pdq_dihedral_from_rgb",
    "pdq_fast_from_jpeg",
    "pdq_from_64x64",
    "pdq_from_jpeg_exact",
    "pdq_from_rgb",
    "warm_up",
]

#: The 8 rotations and mirrors, in ``pdqhash.compute_dihedral``'s order.
DIHEDRAL_NAMES: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)

#: The reference hashes nothing smaller than this on either side (all-zero hash, quality 0).
MIN_HASHABLE_DIM = 5


@dataclass(frozen=True, slots=True)
class PdqResult:
    """One PDQ hash with the quality of the image it came from (0-100)."""

    hash: PdqHash
    quality: int


def pdq_from_rgb(rgb: np.ndarray) -> PdqResult:
    """PDQ hash and quality of an H x W x 3 uint8 RGB (or H x W uint8 grey) array.

    Bit-identical to ``pdqhash.compute`` on the same pixels (grey counts as R = G = B).
    """
    img, channels = _flat_rows(rgb)
    height, width = img.shape[0], img.shape[1] // channels
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return _ZERO
    kernels = _kernels()
    # the reference skips the filter at exactly 64x64
    square64 = height == 64 and width == 64
    buf = kernels.luma_image(img, channels) if square64 else _filtered_64x64(img, channels)
    dct = kernels.dct_64_to_16(buf, _dct_matrix())
    return PdqResult(_bits_to_hash(dct), int(kernels.quality(buf)))


def pdq_dihedral_from_rgb(rgb: np.ndarray) -> dict[str, PdqResult]:
    """The 8 rotations and mirrors' PDQ hashes, keyed by :data:`DIHEDRAL_NAMES`.

    One luma and filter pass; bit-identical to ``pdqhash.compute_dihedral`` (which, unlike
    ``compute``, filters a 64x64 image too).
    """
    img, channels = _flat_rows(rgb)
    height, width = img.shape[0], img.shape[1] // channels
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return dict.fromkeys(DIHEDRAL_NAMES, _ZERO)
    buf = _filtered_64x64(img, channels)
    return dihedral_from_64x64(buf)


def pdq_from_jpeg_exact(data: bytes, *, max_pixels: int) -> PdqResult:
    """Exact-mode PDQ of a JPEG decoded by libjpeg-turbo (simplejpeg) at full size.

    Same pixels as Pillow's decode of the same bytes (tested on the reference images and
    generated JPEGs), without Pillow's image-to-array copy. Raises ImageTooLarge / DecodeError.
    """
    return pdq_from_rgb(decode_jpeg_rgb(data, max_pixels=max_pixels))


def pdq_fast_from_jpeg(
    data: bytes, *, max_pixels: int, dihedral: bool = False
) -> PdqResult | dict[str, PdqResult]:
    """Fast-mode PDQ of a JPEG: reduced-scale decode, scale-aware filter (a few bits of drift).

    Returns one :class:`PdqResult`, or the 8 variants keyed by :data:`DIHEDRAL_NAMES` when
    ``dihedral``. Raises ImageTooLarge before decoding anything over ``max_pixels`` and
    DecodeError on a corrupt or truncated JPEG.
    """
    scaled = decode_jpeg_scaled(data, max_pixels=max_pixels)
    if scaled is None:  # smaller than the reference hashes
        return dict.fromkeys(DIHEDRAL_NAMES, _ZERO) if dihedral else _ZERO
    pixels, height, width = scaled
    luma = pixels[..., 0] if pixels.shape[2] == 1 else pixels  # Y plane, or RGB to weigh
    buf = scale_aware_64x64(luma, height, width)
    return dihedral_from_64x64(buf) if dihedral else pdq_from_64x64(buf)


def pdq_from_64x64(buf: np.ndarray) -> PdqResult:
    """Quality, DCT and bits of a filtered, decimated 64x64 float32 image (one orientation)."""
    kernels = _kernels()
    dct = kernels.dct_64_to_16(buf, _dct_matrix())
    return PdqResult(_bits_to_hash(dct), int(kernels.quality(buf)))


def dihedral_from_64x64(buf: np.ndarray) -> dict[str, PdqResult]:
    """Quality, DCT and the 8 variants' bits from a filtered, decimated 64x64 float32 image."""
    kernels = _kernels()
    quality = int(kernels.quality(buf))
    dct = kernels.dct_64_to_16(buf, _dct_matrix())
    return {
        name: PdqResult(_bits_to_hash(variant), quality)
        for name, variant in zip(DIHEDRAL_NAMES, _dihedral_dcts(dct), strict=True)
    }


def _dihedral_dcts(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """The reference's ``dct16OriginalTo*``: a rotation or mirror of the image is a sign
    pattern on the DCT (odd frequencies change sign when their axis is reversed), plus a
    transpose when the axes swap."""
    odd_i = (np.arange(16) & 1).astype(bool)[:, None]
    odd_j = odd_i.T
    flip_rows = np.where(odd_i, a, -a)  # negate even rows
    flip_cols = np.where(odd_j, a, -a)  # negate even columns
    checker = np.where(odd_i ^ odd_j, -a, a)
    return (
        a,
        flip_cols.T,  # rotate90: B[j][i] = j odd ? A : -A
        checker,  # rotate180
        flip_rows.T,  # rotate270: B[j][i] = i odd ? A : -A
        flip_rows,  # flipx
        flip_cols,  # flipy
        a.T,  # flipplus1
        checker.T,  # flipminus1
    )


def _bits_to_hash(dct16: np.ndarray) -> PdqHash:
    flat = np.ascontiguousarray(dct16, dtype=np.float32).reshape(256)
    median = _kernels().torben_median(flat)
    little = np.packbits(flat > median, bitorder="little")  # byte m holds bits 8m .. 8m+7
    return PdqHash(little[::-1].tobytes())


def _flat_rows(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """Check the array; return it as H x (W * channels) C-contiguous read-only rows and the
    channels.

    Non-contiguous input (a view with strides, reversed channels...) is copied once: the
    compiled luma reads each row as one flat run of bytes. The rows are a read-only view
    whatever the input, so Pillow's arrays (read-only) and simplejpeg's (writable) share one
    compiled signature: a writable array would cost a second compilation of every kernel
    (3-10 s, once per machine).
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        got = rgb.dtype if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InvalidInput(f"PDQ needs a uint8 pixel array, got {got}")
    if rgb.ndim == 2:
        return readonly(np.ascontiguousarray(rgb)), 1
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidInput(f"PDQ needs an H x W x 3 RGB or H x W grey array, got {rgb.shape}")
    height, width = rgb.shape[:2]
    return readonly(np.ascontiguousarray(rgb).reshape(height, width * 3)), 3


def _filtered_64x64(img: np.ndarray, channels: int) -> np.ndarray:
    height, width = img.shape[0], img.shape[1] // channels
    filtered: np.ndarray = _kernels().filter_to_64x64(
        img,
        channels,
        jarosz_window(width),
        jarosz_window(height),
        decimation_indices(height),
        decimation_indices(width),
    )
    return filtered


def jarosz_window(size: int) -> int:
    """The reference's ``computeJaroszFilterWindowSize(size, 64)``: half a 64th, rounded up."""
    return (size + 2 * 64 - 1) // (2 * 64)


def decimation_indices(size: int) -> np.ndarray:
    """The 64 pixel indices the reference's ``decimateFloat`` keeps (centres of 64 cells)."""
    return np.array([int(((k + 0.5) * size) / 64) for k in range(64)], dtype=np.int64)


_lock = threading.Lock()
_state: dict[str, object] = {}


def _kernels() -> ModuleType:
    """The compiled kernels, imported (and numba loaded) on first use only."""
    mod = _state.get("kernels")
    if mod is None:
        with _lock:
            from keepdown.hashing import pdq_filter

            _state["kernels"] = mod = pdq_filter
    return mod  # type: ignore[return-value]


def warm_up() -> float:
    """Load (or, the first time on a machine, compile) every PDQ kernel; returns the seconds.

    A process that hashes pays this once, on its first hash, unless it calls this first:
    about 0.5-1 s loading numba and its on-disk cache, 8-15 s compiling when there is no
    cache yet (a new install). A server calls it at start so its first upload is not slow.
    """
    start = time.perf_counter()
    pixels = np.arange(96 * 80 * 3, dtype=np.uint32).astype(np.uint8).reshape(96, 80, 3)
    pdq_dihedral_from_rgb(pixels)
    pdq_from_rgb(pixels)
    pdq_from_rgb(pixels[:64, :64])  # a 64x64 image skips the filter (luma only)
    dihedral_from_64x64(scale_aware_64x64(pixels[..., 0], 192, 160))  # fast mode's filter
    return time.perf_counter() - start


def _dct_matrix() -> np.ndarray:
    """The reference's 16x64 DCT matrix: float32 of (float32 sqrt(2/64)) * cos(...) in double."""
    mat = _state.get("dct")
    if mat is None:
        scale = float(np.float32(math.sqrt(2.0 / 64.0)))
        mat = np.array(
            [
                [
                    scale * math.cos((math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1))
                    for j in range(64)
                ]
                for i in range(16)
            ],
            dtype=np.float32,
        )
        _state["dct"] = mat
    return mat  # type: ignore[return-value]


_ZERO = PdqResult(PdqHash(bytes(32)), 0)
