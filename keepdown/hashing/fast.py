"""JPEG decoding for PDQ through libjpeg-turbo (simplejpeg), and the fast mode's filter.

Fast mode steps (:func:`decode_jpeg_scaled`, then :func:`scale_aware_64x64` on its luma):

1. Read the JPEG header only; refuse more than ``max_pixels`` (:class:`ImageTooLarge`).
2. Decode at the smallest DCT scale (1/8, 1/4, 1/2 or 1) that keeps the short side at
   least :data:`FAST_MIN_SIDE` pixels: libjpeg-turbo skips most of the IDCT work. We decode
   to RGB and take luma from it, as exact mode does: the JPEG's own Y plane would be
   ~6% cheaper to decode but differs from luma of the decoded RGB where colours clip, and
   measured 2.5x the drift (p95 10 bits against 4 on the reference and benchmark images).
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
    "FAST_MIN_SIDE",
    "axis_operator",
    "decode_jpeg_rgb",
    "decode_jpeg_scaled",
    "is_jpeg",
    "jpeg_size",
    "scale_aware_64x64",
]

#: Fast mode decodes at a reduced scale only while the short side stays at least this long.
FAST_MIN_SIDE = 256
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
    data: bytes, *, max_pixels: int, min_side: int = FAST_MIN_SIDE, colorspace: str = "RGB"
) -> tuple[np.ndarray, int, int] | None:
    """Fast mode's decode: (pixels at reduced scale, full height, full width).

    None when the image is below the reference's minimum size (it hashes to zero).
    ``min_side`` and ``colorspace`` ("RGB" or "GRAY", the JPEG's Y plane as H x W x 1)
    exist for ``benchmarks/hash_speed.py --alternatives``, which measures the choices fast
    mode did not take; fast mode itself uses the defaults (see ``docs/pdq.md`` for why).
    """
    height, width = jpeg_size(data, max_pixels=max_pixels)
    if height < _MIN_DIM or width < _MIN_DIM:
        return None
    scale = next((s for s in _SCALES if min(height, width) // s >= min_side), 1)
    want_h, want_w = -(-height // scale), -(-width // scale)
    pixels = _decode(data, colorspace, want_h, want_w)
    if pixels.shape[:2] != (want_h, want_w):
        raise DecodeError(
            f"JPEG decoded to {pixels.shape[1]}x{pixels.shape[0]}, expected {want_w}x{want_h}",
            format="JPEG",
        )
    return pixels, height, width


def scale_aware_64x64(luma: np.ndarray, height: int, width: int) -> np.ndarray:
    """PDQ's 64x64 filtered image from ``luma`` at reduced scale of a ``height x width`` image.

    ``rows @ luma @ cols.T`` with the operators of :func:`axis_operator`, applied as bands:
    each of the 64 outputs only weighs a few neighbouring pixels, so a dense product would
    spend most of its time multiplying zeros (20x more work at 640x480). The bands run in a
    compiled loop (:func:`_banded_64x64`): as numpy statements they cost 0.3-0.5 ms per image
    in temporaries and gathers, a third of fast mode's work after decoding at 640x480.
    """
    row_first, row_weights = _band(height, luma.shape[0])
    col_first, col_weights = _band(width, luma.shape[1])
    out = np.empty((64, 64), np.float32)
    _compiled()(np.ascontiguousarray(luma), row_first, row_weights, col_first, col_weights, out)
    return out


def _banded_64x64(img, row_first, row_weights, col_first, col_weights, out):  # pragma: no cover
    """Compiled by :func:`_compiled`: ``out = rows @ img @ cols.T`` over the bands only."""
    partial = np.zeros((64, img.shape[1]), np.float32)
    for m in range(64):
        acc = partial[m]
        for k in range(row_weights.shape[1]):
            weight = row_weights[m, k]
            line = img[row_first[m] + k]
            for c in range(acc.shape[0]):
                acc[c] += weight * line[c]
    for m in range(64):
        for n in range(64):
            total = np.float32(0.0)
            for k in range(col_weights.shape[1]):
                total += col_weights[n, k] * partial[m, col_first[n] + k]
            out[m, n] = total


_kernel: list[Any] = []


def _compiled() -> Any:
    """:func:`_banded_64x64` compiled (cached on disk), numba loaded on first use only."""
    if not _kernel:
        from numba import njit

        _kernel.append(njit(cache=True, nogil=True)(_banded_64x64))
    return _kernel[0]


@lru_cache(maxsize=64)
def _band(full: int, scaled: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`axis_operator` as (first index, 64 x band weights), padded with zero weights."""
    op = axis_operator(full, scaled)
    nonzero = op > 0
    first = nonzero.argmax(axis=1)
    last = scaled - 1 - nonzero[:, ::-1].argmax(axis=1)
    width = int((last - first).max()) + 1
    first = np.minimum(first, scaled - width)  # keep every band inside the image
    cols = first[:, None] + np.arange(width)
    return first, np.take_along_axis(op, cols, axis=1).astype(np.float32)


def _decode(data: bytes, colorspace: str, min_height: int, min_width: int) -> np.ndarray:
    try:
        return simplejpeg.decode_jpeg(
            data, colorspace=colorspace, min_height=min_height, min_width=min_width, strict=True
        )
    except (ValueError, TypeError, RuntimeError) as exc:
        raise DecodeError(f"corrupt or truncated JPEG: {exc}", format="JPEG") from exc


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
