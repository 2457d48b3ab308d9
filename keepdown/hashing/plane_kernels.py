"""Compiled loops of :mod:`keepdown.hashing.plane`: block-averaged luma, framed PDQ weights,
rotation and the repetition of edge pixels into the corners a turn leaves empty.

Imported on first use (it loads numba); every function is cached on disk like the PDQ kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def block_luma(img, channels, k, out):  # pragma: no cover - compiled
    """``out[i, j]``: the mean luma of the ``k x k`` block of ``img`` at ``(i k, j k)``.

    ``img`` is H x (W * channels) uint8 (RGB triplets or grey); the last row and column of
    blocks may be partial, and average what they cover. Luma weights are the reference's.
    """
    height, width = img.shape[0], img.shape[1] // channels
    rows, cols = out.shape
    acc = np.zeros(cols, np.float32)
    cnt = np.zeros(cols, np.float32)
    for i in range(rows):
        acc[:] = 0.0
        cnt[:] = 0.0
        for y in range(i * k, min((i + 1) * k, height)):
            line = img[y]
            for x in range(width):
                j = x // k
                if channels == 3:
                    v = (
                        np.float32(line[3 * x]) * np.float32(0.299)
                        + np.float32(line[3 * x + 1]) * np.float32(0.587)
                        + np.float32(line[3 * x + 2]) * np.float32(0.114)
                    )
                else:
                    v = np.float32(line[x])
                acc[j] += v
                cnt[j] += 1.0
        for j in range(cols):
            out[i, j] = acc[j] / cnt[j]


@njit(cache=True, nogil=True)
def frame_weights(full, lo, hi, n, dense):  # pragma: no cover - compiled
    """PDQ's 64 filtered, decimated samples along one axis of a *framed* picture, as weights
    on the ``n`` plane pixels: ``dense[m, j]``.

    The frame covers plane coordinates ``[lo, hi)`` (it may reach beyond ``[0, n)``: those
    pixels repeat the nearest edge pixel) and stands for a picture ``full`` pixels long, whose
    box-filter windows the reference would use. Full-size pixel ``p`` covers plane
    coordinates ``[lo + p s, lo + (p + 1) s)``, ``s = (hi - lo) / full``, and hands its
    filter weight to the plane pixels under it (the model of ``fast._band_weights``, with a
    frame and clamping).
    """
    w = (full + 127) // 128
    half = (w + 2) // 2
    a, b = w - half, half - 1
    step = (hi - lo) / full
    density = np.zeros(full, np.float64)
    for m in range(64):
        k = int(((m + 0.5) * full) / 64)
        f0, f1 = max(k - a, 0), min(k + b, full - 1)
        s0, s1 = max(f0 - a, 0), min(f1 + b, full - 1) + 1
        density[s0:s1] = 0.0
        for f in range(f0, f1 + 1):
            p0, p1 = max(f - a, 0), min(f + b, full - 1) + 1
            share = 1.0 / ((f1 - f0 + 1) * (p1 - p0))
            for p in range(p0, p1):
                density[p] += share
        for p in range(s0, s1):
            u0 = lo + p * step
            u1 = u0 + step
            j = int(np.floor(u0))
            while j < u1:
                overlap = min(u1, j + 1.0) - max(u0, float(j))
                if overlap > 0:
                    dense[m, min(max(j, 0), n - 1)] += density[p] * overlap / step
                j += 1


@njit(cache=True, nogil=True)
def to_band(dense, first, weights):  # pragma: no cover - compiled
    """Dense 64 x n weights as (first index, 64 x width band), the band padded with zeros."""
    n = dense.shape[1]
    width = weights.shape[1]
    for m in range(64):
        start = 0
        while start < n - 1 and dense[m, start] == 0.0:
            start += 1
        start = min(start, n - width)
        first[m] = start
        for t in range(width):
            weights[m, t] = np.float32(dense[m, start + t])


@njit(cache=True, nogil=True)
def band_width(dense):  # pragma: no cover - compiled
    """The widest run from a row's first to its last non-zero weight."""
    best = 1
    for m in range(dense.shape[0]):
        first, last = -1, -1
        for j in range(dense.shape[1]):
            if dense[m, j] != 0.0:
                if first < 0:
                    first = j
                last = j
        if first >= 0:
            best = max(best, last - first + 1)
    return best


@njit(cache=True, nogil=True)
def rotate_bilinear(src, cos_t, sin_t, out, mask):  # pragma: no cover - compiled
    """``out``: ``src`` turned by the angle whose cosine and sine are given (counter-clockwise
    as Pillow's ``rotate``), centred in ``out``; ``mask`` 1 where a source pixel landed."""
    sh, sw = src.shape
    oh, ow = out.shape
    scy, scx = (sh - 1) / 2.0, (sw - 1) / 2.0
    ocy, ocx = (oh - 1) / 2.0, (ow - 1) / 2.0
    for y in range(oh):
        dy = y - ocy
        for x in range(ow):
            dx = x - ocx
            # inverse map: the source point that lands here
            sx = cos_t * dx - sin_t * dy + scx
            sy = sin_t * dx + cos_t * dy + scy
            if sx < -0.5 or sy < -0.5 or sx > sw - 0.5 or sy > sh - 0.5:
                out[y, x] = 0.0
                mask[y, x] = 0.0
                continue
            x0 = min(max(int(np.floor(sx)), 0), sw - 1)
            y0 = min(max(int(np.floor(sy)), 0), sh - 1)
            x1, y1 = min(x0 + 1, sw - 1), min(y0 + 1, sh - 1)
            fx = min(max(sx - x0, 0.0), 1.0)
            fy = min(max(sy - y0, 0.0), 1.0)
            top = src[y0, x0] * (1 - fx) + src[y0, x1] * fx
            bottom = src[y1, x0] * (1 - fx) + src[y1, x1] * fx
            out[y, x] = np.float32(top * (1 - fy) + bottom * fy)
            mask[y, x] = 1.0


@njit(cache=True, nogil=True)
def extend_rows(luma, mask):  # pragma: no cover - compiled
    """Fill each row's unknown pixels (``mask`` 0) with its nearest known pixel in that row,
    and rows with none from the nearest row that has one: the edge repetition an un-crop uses,
    for the corners a turn leaves empty."""
    h, w = luma.shape
    known_row = np.zeros(h, np.bool_)
    for y in range(h):
        first, last = -1, -1
        for x in range(w):
            if mask[y, x] > 0:
                if first < 0:
                    first = x
                last = x
        if first < 0:
            continue
        known_row[y] = True
        for x in range(first):
            luma[y, x] = luma[y, first]
        for x in range(last + 1, w):
            luma[y, x] = luma[y, last]
        for x in range(first + 1, last):  # a hole inside the row: the nearer side
            if mask[y, x] == 0:
                luma[y, x] = luma[y, x - 1]
    for y in range(h):
        if not known_row[y]:
            best = -1
            for d in range(1, h):
                if y - d >= 0 and known_row[y - d]:
                    best = y - d
                    break
                if y + d < h and known_row[y + d]:
                    best = y + d
                    break
            if best >= 0:
                for x in range(w):
                    luma[y, x] = luma[best, x]
