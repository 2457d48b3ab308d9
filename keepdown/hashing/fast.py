"""JPEG decoding for PDQ through libjpeg-turbo (simplejpeg), and the fast mode's filter.

Fast mode steps (:func:`decode_jpeg_scaled`, then :func:`scale_aware_64x64` on its luma):

1. Read the JPEG header only; refuse more than ``max_pixels`` (:class:`ImageTooLarge`).
2. Decode the JPEG's own Y plane (its luma, before any colour conversion) at the smallest
   DCT scale (1/8, 1/4, 1/2 or 1) that keeps the short side at least :data:`FAST_MIN_SIDE`
   pixels: libjpeg-turbo skips most of the IDCT work, and the chroma planes are neither
   upsampled nor converted. Y differs from the luma of the decoded RGB only where the colour
   conversion clips: on matchable pictures (PDQ quality >= 50) that costs 0-2 bits of drift
   at p95 against RGB, for 5-30% less time (measured in ``docs/pdq.md``). Decoding at 1/8
   where the short side would fall to 128 drifts p95 10 / max 18 bits on photographs at
   1920x1080: not taken.
3. Filter scale-aware: the reference's two box-filter passes and 64x64 decimation are a
   linear map along each axis. We build that map at full size (window sizes from the full
   image) and give each scaled pixel the summed weight of the full-size pixels it stands
   for; applying it to the scaled image is two small matrix products. An ordinary PDQ on
   the scaled image would use the scaled image's own (smaller) windows: up to 32 bits off.

The result is the 64x64 image the exact filter would give, up to the decoder's scaling and
float rounding: a few bits of drift in the hash (measured in ``docs/pdq.md``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import simplejpeg

from keepdown.errors import DecodeError, ImageTooLarge

__all__ = [
    "FAST_COLORSPACE",
    "FAST_MIN_SIDE",
    "apply_bands",
    "axis_operator",
    "decode_jpeg_rgb",
    "decode_jpeg_scaled",
    "is_jpeg",
    "jpeg_scale",
    "jpeg_size",
    "readonly",
    "scale_aware_64x64",
]

#: Fast mode decodes at a reduced scale only while the short side stays at least this long.
FAST_MIN_SIDE = 256
#: What fast mode decodes: the JPEG's Y plane ("GRAY"), or "RGB" and its luma.
FAST_COLORSPACE = "GRAY"
_SCALES = (8, 4, 2)  # DCT-domain reductions libjpeg-turbo does cheaply
_MIN_DIM = 5  # the reference hashes nothing smaller (all-zero hash, quality 0)
_COLORSPACES = ("YCbCr", "Gray")


def is_jpeg(data: bytes) -> bool:
    """True when ``data`` starts like a JPEG (SOI marker followed by another marker)."""
    return data[:3] == b"\xff\xd8\xff"


def jpeg_size(data: bytes, *, max_pixels: int) -> tuple[int, int]:
    """(height, width) from the JPEG header; ImageTooLarge over ``max_pixels``.

    Only YCbCr and greyscale JPEGs are accepted (DecodeError otherwise): for CMYK and YCCK
    files libjpeg-turbo's conversion is not Pillow's, so the caller decodes those with Pillow.
    """
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DecodeError(f"not a readable JPEG: {exc}", format="JPEG") from exc
    if colorspace not in _COLORSPACES:
        raise DecodeError(
            f"JPEG colour space {colorspace} is left to the general decoder",
            format="JPEG",
            colorspace=colorspace,
        )
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image is {width}x{height} = {width * height} pixels, over the limit of "
            f"{max_pixels} pixels",
            width=width,
            height=height,
            max_pixels=max_pixels,
        )
    return height, width


def decode_jpeg_rgb(data: bytes, *, max_pixels: int) -> np.ndarray:
    """Full-size RGB pixels of a JPEG (ImageTooLarge / DecodeError as for fast mode)."""
    jpeg_size(data, max_pixels=max_pixels)
    return _decode(data, "RGB", 0, 0)


def decode_jpeg_scaled(
    data: bytes,
    *,
    max_pixels: int,
    min_side: int = FAST_MIN_SIDE,
    colorspace: str = FAST_COLORSPACE,
) -> tuple[np.ndarray, int, int] | None:
    """Fast mode's decode: (pixels at reduced scale, full height, full width).

    None when the image is below the reference's minimum size (it hashes to zero). Pixels
    are H x W x 1 for "GRAY" (the JPEG's own Y plane, fast mode's default) and H x W x 3 for
    "RGB". ``min_side`` and ``colorspace`` exist for ``benchmarks/hash_speed.py
    --alternatives``, which measures the choices fast mode did not take (``docs/pdq.md``).
    """
    height, width = jpeg_size(data, max_pixels=max_pixels)
    if height < _MIN_DIM or width < _MIN_DIM:
        return None
    scale = jpeg_scale(height, width, min_side)
    want_h, want_w = -(-height // scale), -(-width // scale)
    pixels = _decode(data, colorspace, want_h, want_w)
    if pixels.shape[:2] != (want_h, want_w):
        raise DecodeError(
            f"JPEG decoded to {pixels.shape[1]}x{pixels.shape[0]}, expected {want_w}x{want_h}",
            format="JPEG",
        )
    return pixels, height, width


def jpeg_scale(height: int, width: int, min_side: int = FAST_MIN_SIDE) -> int:
    """The DCT reduction fast mode decodes a ``height x width`` JPEG at (8, 4, 2 or 1)."""
    return next((s for s in _SCALES if min(height, width) // s >= min_side), 1)


def scale_aware_64x64(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """PDQ's 64x64 filtered image from ``pixels`` at reduced scale of a ``height x width``
    image: luma (H x W, float or uint8) or decoded RGB (H x W x 3 uint8).

    ``rows @ luma @ cols.T`` with the operators of :func:`axis_operator`, applied as bands:
    each of the 64 outputs only weighs a few neighbouring pixels, so a dense product would
    spend most of its time multiplying zeros (20x more work at 640x480). The bands run in a
    compiled loop (:func:`_banded_64x64`): as numpy statements they cost 0.3-0.5 ms per image
    in temporaries and gathers, a third of fast mode's work after decoding at 640x480.

    RGB goes through the row bands as it is (the three channels interleaved) and becomes luma
    only on the 64 filtered rows: the operators are linear, so that is the same image, and it
    saves writing and reading a float luma image as large as the decoded one (a fifth of fast
    mode's time after decoding at 640x480).
    """
    return apply_bands(pixels, _band(height, pixels.shape[0]), _band(width, pixels.shape[1]))


Band = tuple[np.ndarray, np.ndarray]  # (first pixel of each of the 64 outputs, 64 x width)


def apply_bands(pixels: np.ndarray, rows: Band, cols: Band) -> np.ndarray:
    """``rows @ luma(pixels) @ cols.T`` over the bands only: the 64x64 filtered image.

    ``pixels`` is H x W (luma, any numeric type) or H x W x 3 (uint8 RGB, weighed to luma
    after the row bands); ``rows`` and ``cols`` are (first index, weights) bands over its
    rows and columns (:func:`_band`, or a framed variant's in :mod:`keepdown.hashing.plane`).
    """
    out = np.empty((64, 64), np.float32)
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    flat = readonly(np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1))
    _compiled()(flat, channels, rows[0], rows[1], cols[0], cols[1], out)
    return out


def readonly(pixels: np.ndarray) -> np.ndarray:
    """A read-only view of ``pixels``: every caller's array then matches one compiled
    signature (numba compiles writable and read-only arrays separately)."""
    if not pixels.flags.writeable:
        return pixels
    view = pixels.view()
    view.flags.writeable = False
    return view


def _banded_64x64(
    img: np.ndarray,
    channels: int,
    row_first: np.ndarray,
    row_weights: np.ndarray,
    col_first: np.ndarray,
    col_weights: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled by _compiled
    """``out = rows @ luma(img) @ cols.T`` over the bands only; ``img`` is H x (W*channels)."""
    partial = np.zeros((64, img.shape[1]), np.float32)
    for m in range(64):
        acc = partial[m]
        for k in range(row_weights.shape[1]):
            weight = row_weights[m, k]
            line = img[row_first[m] + k]
            for c in range(acc.shape[0]):
                acc[c] += weight * np.float32(line[c])
    luma = partial
    if channels == 3:  # the reference's luma weights, on the 64 filtered rows only
        luma = np.empty((64, img.shape[1] // 3), np.float32)
        for m in range(64):
            for c in range(luma.shape[1]):
                luma[m, c] = (
                    np.float32(0.299) * partial[m, 3 * c]
                    + np.float32(0.587) * partial[m, 3 * c + 1]
                    + np.float32(0.114) * partial[m, 3 * c + 2]
                )
    for m in range(64):
        for n in range(64):
            total = np.float32(0.0)
            for k in range(col_weights.shape[1]):
                total += col_weights[n, k] * luma[m, col_first[n] + k]
            out[m, n] = total


def _band_weights(
    full: int, scaled: int, first: np.ndarray, weights: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Fill ``weights[m, j - first[m]]``: :func:`axis_operator`'s row ``m`` over its band.

    For output ``m`` (kept full-size index ``k``), pass two averages pass one's outputs
    ``f`` in ``[k - a, k + b]``, each of which averages pixels ``[f - a, f + b]`` (clipped):
    a density over the few full-size pixels near ``k``. Scaled pixel ``j`` covers full-size
    ``[j * r, (j + 1) * r)``, ``r = full / scaled``, and gets the density's mass there.
    """
    w = (full + 127) // 128
    half = (w + 2) // 2
    a, b = w - half, half - 1
    ratio = full / scaled
    density = np.zeros(full, np.float64)
    for m in range(64):
        k = int(((m + 0.5) * full) / 64)
        f0, f1 = max(k - a, 0), min(k + b, full - 1)
        s0, s1 = max(f0 - a, 0), min(f1 + b, full - 1) + 1
        density[s0:s1] = 0.0
        for f in range(f0, f1 + 1):
            lo, hi = max(f - a, 0), min(f + b, full - 1) + 1
            share = 1.0 / ((f1 - f0 + 1) * (hi - lo))
            for p in range(lo, hi):
                density[p] += share
        for p in range(s0, s1):
            j = min(int(p / ratio), scaled - 1)
            while j < scaled and j * ratio < p + 1:
                overlap = min(p + 1.0, (j + 1) * ratio) - max(float(p), j * ratio)
                if overlap > 0:
                    weights[m, j - first[m]] += density[p] * overlap
                j += 1


def _band_first(full: int, scaled: int) -> tuple[np.ndarray, int]:
    """Each output's first scaled pixel and the band width (every band inside the image)."""
    w = (full + 127) // 128
    half = (w + 2) // 2
    a, b = w - half, half - 1
    keep = (((np.arange(64) + 0.5) * full) / 64).astype(np.int64)
    s0 = np.maximum(np.maximum(keep - a, 0) - a, 0)
    s1 = np.minimum(np.minimum(keep + b, full - 1) + b, full - 1) + 1
    ratio = full / scaled
    lo = np.minimum((s0 / ratio).astype(np.int64), scaled - 1)
    hi = np.minimum(np.ceil(s1 / ratio).astype(np.int64), scaled)
    width = int((hi - lo).max())
    return np.minimum(lo, scaled - width), width


_kernel: list[Any] = []


def _compiled(which: int = 0) -> Any:
    """The compiled loops (cached on disk), numba loaded on first use only: 0 the banded
    filter, 1 the band weights."""
    if not _kernel:
        from numba import njit

        _kernel.append(njit(cache=True, nogil=True)(_banded_64x64))
        _kernel.append(njit(cache=True, nogil=True)(_band_weights))
    return _kernel[which]


@lru_cache(maxsize=256)
def _band(full: int, scaled: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`axis_operator` as (first index, 64 x band weights), padded with zero weights.

    Computed over each band only, in a compiled loop (microseconds): a scan sees images of
    every size, and building the dense operator for each new one cost 6-16 ms, more than
    hashing the image.
    """
    first, width = _band_first(full, scaled)
    weights = np.zeros((64, width), np.float64)
    _compiled(1)(full, scaled, first, weights)
    return first, weights.astype(np.float32)


def _decode(data: bytes, colorspace: str, min_height: int, min_width: int) -> np.ndarray:
    try:
        pixels: np.ndarray = simplejpeg.decode_jpeg(
            data, colorspace=colorspace, min_height=min_height, min_width=min_width, strict=True
        )
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DecodeError(f"corrupt or truncated JPEG: {exc}", format="JPEG") from exc
    return pixels


@lru_cache(maxsize=64)
def axis_operator(full: int, scaled: int) -> np.ndarray:
    """The 64 x ``scaled`` float32 map from scaled pixels to PDQ's 64 decimated samples.

    Built at full size (``full`` pixels): the reference's box filter output ``k`` averages
    pixels ``[k - a, k + b]`` clipped to the image, ``a = w - (w + 2) // 2``,
    ``b = (w + 2) // 2 - 1``; pass two averages pass one's outputs the same way at each kept
    index. Each scaled pixel then gets the summed weight of the full-size pixels it covers.
    """
    weights = _full_size_weights(full)
    # cumulative weight at every full-pixel boundary, sampled at the scaled pixels' edges
    cum = np.concatenate([np.zeros((64, 1)), np.cumsum(weights, axis=1)], axis=1)
    edges = np.linspace(0.0, full, scaled + 1)
    at_edges = np.stack([np.interp(edges, np.arange(full + 1), row) for row in cum])
    return np.diff(at_edges, axis=1).astype(np.float32)


def _full_size_weights(full: int) -> np.ndarray:
    """64 x ``full`` float64: the two box passes and decimation as weights on input pixels."""
    w = (full + 127) // 128
    half = (w + 2) // 2
    a, b = w - half, half - 1
    keep = np.array([int(((k + 0.5) * full) / 64) for k in range(64)])
    out = np.zeros((64, full + 1))
    for m, k in enumerate(keep):
        firsts = np.arange(max(k - a, 0), min(k + b, full - 1) + 1)  # pass two's window
        lo = np.maximum(firsts - a, 0)
        hi = np.minimum(firsts + b, full - 1) + 1
        share = 1.0 / (len(firsts) * (hi - lo))  # each pass-one output, averaged again
        np.add.at(out[m], lo, share)
        np.add.at(out[m], hi, -share)
    return np.cumsum(out, axis=1)[:, :full]
