"""Compiled kernels of the exact PDQ: luma, Jarosz filter, 64x64 decimation, DCT, quality.

Every kernel repeats the float32 arithmetic of Meta's C++ reference (as bound by ``pdqhash``)
operation for operation, so the result is bit-identical; only the memory layout differs.
This module imports numba, so :mod:`keepdown.hashing.pdq` imports it on first use: nothing
is compiled (or loaded from numba's cache) until a hash is asked for.

Steps of :func:`filter_to_64x64`, streaming over the image so no full-size float buffer
exists (the reference keeps two):

1. For each block of ``LANES`` rows: luma, bit-identical to the ``pdqhash`` binding's,
   transposed so the row-wise box filter runs on ``LANES`` rows at once in SIMD lanes.
2. First box filter along rows (the reference's ``box1DFloat``: running float32 sum, add
   then subtract, divide by the current window count), transposed back into a ring of
   row blocks holding the rows the column filter still needs.
3. First box filter along columns, one step per row across the whole width (SIMD along
   the row), each finished row going to step 4.
4. Second box filter along rows, running sums in full but divisions only at the 64
   columns the decimation keeps.
5. Second box filter along columns on those 64 columns, kept at the 64 decimation rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Rows filtered together in the row-wise passes (SIMD lanes; two AVX registers of float32).
LANES = 16


@njit(cache=True, nogil=True)
def _luma_block(img, channels, r0, nr, rows):  # pragma: no cover - compiled
    """Rows ``r0 .. r0+nr-1`` of ``img`` as float32 luma into ``rows`` (LANES x W).

    ``img`` is H x (W * channels) uint8, C-contiguous: RGB triplets, or grey (R = G = B).
    The binding computes ``float32(R*0.299 + G*0.587 + B*0.114)`` in float64. That is the
    correctly rounded float32 of ``(299 R + 587 G + 114 B) / 1000`` (checked for all 2**24
    colours in tests/hashing/test_pdq.py), which one float32 division of exact operands
    gives: 8 lanes per instruction instead of 4, no float64 conversions.
    """
    width = rows.shape[1]
    thousand = np.float32(1000.0)
    for r in range(nr):
        src = img[r0 + r]
        dst = rows[r]
        if channels == 3:
            for j in range(width):
                n = (
                    np.float32(src[3 * j]) * np.float32(299.0)
                    + np.float32(src[3 * j + 1]) * np.float32(587.0)
                    + np.float32(src[3 * j + 2]) * np.float32(114.0)
                )
                dst[j] = n / thousand
        else:  # 1000 v / 1000 is v: grey luma is the grey value itself
            for j in range(width):
                dst[j] = np.float32(src[j])


@njit(cache=True, nogil=True)
def _to_lanes(rows, lanes_out, nr):  # pragma: no cover - compiled
    """Transpose ``nr`` rows of ``rows`` (LANES x W) into lanes of ``lanes_out`` (W x LANES)."""
    for j in range(rows.shape[1]):
        for r in range(nr):
            lanes_out[j, r] = rows[r, j]


@njit(cache=True, nogil=True)
def _from_lanes(lanes_in, rows, nr):  # pragma: no cover - compiled
    """Transpose lanes of ``lanes_in`` (W x LANES) back into ``nr`` rows of ``rows``."""
    for r in range(nr):
        for j in range(lanes_in.shape[0]):
            rows[r, j] = lanes_in[j, r]


@njit(cache=True, nogil=True)
def _box_lanes(src, dst, n, w):  # pragma: no cover - compiled
    """The reference's ``box1DFloat`` along axis 0 of ``src`` (n x LANES), lane by lane."""
    lanes = src.shape[1]
    half = (w + 2) // 2
    s = np.zeros(lanes, np.float32)
    ri = 0
    for _ in range(half - 1):  # phase 1: accumulate, no output
        for k in range(lanes):
            s[k] += src[ri, k]
        ri += 1
    cnt = half - 1
    oi = 0
    for _ in range(w - half + 1):  # phase 2: growing window
        cnt += 1
        c = np.float32(cnt)
        for k in range(lanes):
            s[k] += src[ri, k]
            dst[oi, k] = s[k] / c
        ri += 1
        oi += 1
    c = np.float32(cnt)
    for _ in range(n - w):  # phase 3: full window, add then subtract
        li = ri - w
        for k in range(lanes):
            s[k] += src[ri, k]
            s[k] -= src[li, k]
            dst[oi, k] = s[k] / c
        ri += 1
        oi += 1
    for _ in range(half - 1):  # phase 4: shrinking window
        cnt -= 1
        c = np.float32(cnt)
        li = ri - w
        for k in range(lanes):
            s[k] -= src[li, k]
            dst[oi, k] = s[k] / c
        ri += 1
        oi += 1


@njit(cache=True, nogil=True)
def _box_lanes_sampled(src, n, w, keep, out, row0, nr):  # pragma: no cover - compiled
    """``box1DFloat`` along axis 0 of ``src``, storing only outputs whose index is in ``keep``.

    ``out[row0 + lane, m]`` receives output ``keep[m]`` of lane ``lane`` (lanes < ``nr``).
    The running sums are those of the full filter, so the kept values are bit-identical.
    """
    lanes = src.shape[1]
    half = (w + 2) // 2
    s = np.zeros(lanes, np.float32)
    m = 0
    n_keep = keep.shape[0]
    cnt = 0
    for t in range(n + half - 1):
        if t < n:
            if t < half - 1 or t < w:
                cnt += 1
                for k in range(lanes):
                    s[k] += src[t, k]
            else:
                for k in range(lanes):
                    s[k] += src[t, k]
                    s[k] -= src[t - w, k]
        else:
            cnt -= 1
            for k in range(lanes):
                s[k] -= src[t - w, k]
        oi = t - half + 1
        while m < n_keep and keep[m] == oi:
            c = np.float32(cnt)
            for k in range(nr):
                out[row0 + k, m] = s[k] / c
            m += 1


@njit(cache=True, nogil=True)
def filter_to_64x64(img, channels, win_rows, win_cols, keep_rows, keep_cols):  # pragma: no cover
    """Jarosz-filter ``img`` twice (box along rows, then columns) and decimate to 64x64.

    ``img`` is H x (W * channels) uint8 (see :func:`_luma_block`). ``win_rows`` is the
    window along each row (from the width), ``win_cols`` along each column (from the
    height); ``keep_rows`` / ``keep_cols`` are the decimation indices.
    """
    height, width = img.shape[0], img.shape[1] // channels
    lanes = LANES
    rows = np.empty((lanes, width), np.float32)  # luma of a block of rows
    c1 = np.empty((lanes, width), np.float32)  # column-filtered rows awaiting step 4
    lt = np.zeros((width, lanes), np.float32)  # a block of rows in lanes
    rt = np.zeros((width, lanes), np.float32)  # the same, box-filtered along the rows
    n_blocks = (win_cols + lanes - 1) // lanes + 2  # ring: rows t - win_cols .. t live
    ring = np.empty((n_blocks, lanes, width), np.float32)
    p = np.empty((height, 64), np.float32)  # second row pass at the kept columns
    colsum = np.zeros(width, np.float32)
    half_c = (win_cols + 2) // 2
    cnt = 0
    lane = 0
    out_row = 0
    for t in range(height + half_c - 1):
        if t < height and t % lanes == 0:  # steps 1-2 for the next block of rows
            nr = min(lanes, height - t)
            _luma_block(img, channels, t, nr, rows)
            _to_lanes(rows, lt, nr)
            _box_lanes(lt, rt, width, win_rows)
            _from_lanes(rt, ring[(t // lanes) % n_blocks], nr)
        cnt = _column_step(ring, colsum, t, height, win_cols, cnt)  # step 3
        if t >= half_c - 1:
            _mean_row(colsum, cnt, c1[lane])
            lane += 1
            if lane == lanes or out_row + lane == height:  # step 4 for a block of rows
                _to_lanes(c1, lt, lane)
                _box_lanes_sampled(lt, width, win_rows, keep_cols, p, out_row, lane)
                out_row += lane
                lane = 0
    return _cols_sampled(p, win_cols, keep_rows)


@njit(cache=True, nogil=True, inline="always")
def _column_step(ring, colsum, t, height, win_cols, cnt):  # pragma: no cover - compiled
    """Step 3 for output row ``t``: slide the column box window (add row ``t``, drop row
    ``t - win_cols``); returns the rows now in the window."""
    lanes = LANES
    n_blocks = ring.shape[0]
    width = colsum.shape[0]
    old = t - win_cols
    sub = ring[(old // lanes) % n_blocks, old % lanes]
    if t < height:
        add = ring[(t // lanes) % n_blocks, t % lanes]
        if old >= 0:
            for j in range(width):
                colsum[j] += add[j]
                colsum[j] -= sub[j]
        else:
            cnt += 1
            for j in range(width):
                colsum[j] += add[j]
    else:
        cnt -= 1
        for j in range(width):
            colsum[j] -= sub[j]
    return cnt


@njit(cache=True, nogil=True, inline="always")
def _mean_row(colsum, cnt, dst):  # pragma: no cover - compiled
    c = np.float32(cnt)
    for j in range(colsum.shape[0]):
        dst[j] = colsum[j] / c


@njit(cache=True, nogil=True)
def _cols_sampled(p, w, keep):  # pragma: no cover - compiled
    """Second column pass on the 64 kept columns, kept at the 64 decimation rows."""
    n = p.shape[0]
    half = (w + 2) // 2
    s = np.zeros(64, np.float32)
    out = np.empty((64, 64), np.float32)
    m = 0
    cnt = 0
    for t in range(n + half - 1):
        if t < n:
            if t < w:
                cnt += 1
                for k in range(64):
                    s[k] += p[t, k]
            else:
                for k in range(64):
                    s[k] += p[t, k]
                    s[k] -= p[t - w, k]
        else:
            cnt -= 1
            for k in range(64):
                s[k] -= p[t - w, k]
        oi = t - half + 1
        while m < 64 and keep[m] == oi:
            c = np.float32(cnt)
            for k in range(64):
                out[m, k] = s[k] / c
            m += 1
    return out


@njit(cache=True, nogil=True)
def luma_image(img, channels):  # pragma: no cover - compiled
    """Luma of a whole H x (W * channels) image (a 64x64 one is hashed unfiltered)."""
    height, width = img.shape[0], img.shape[1] // channels
    out = np.empty((height, width), np.float32)
    _luma_block(img, channels, 0, height, out)
    return out


@njit(cache=True, nogil=True)
def dct_64_to_16(a, d):  # pragma: no cover - compiled
    """``D A D^T`` restricted to the 16x16 low frequencies, summed in the reference's order.

    Each output is still the sum over ``k`` in ascending order, from zero, as the reference
    adds it (so the floats are the same); the loops run ``k`` outside and the output index
    inside, over contiguous rows, so the compiler adds 8 outputs at a time instead of one.
    """
    t = np.zeros((16, 64), np.float32)
    for i in range(16):
        row = t[i]
        for k in range(64):
            weight = d[i, k]
            source = a[k]
            for j in range(64):
                row[j] += weight * source[j]
    dt = np.ascontiguousarray(d.T)  # 64 x 16: dt[k, j] = d[j, k]
    b = np.zeros((16, 16), np.float32)
    for i in range(16):
        row = b[i]
        for k in range(64):
            weight = t[i, k]
            source = dt[k]
            for j in range(16):
                row[j] += weight * source[j]
    return b


@njit(cache=True, nogil=True)
def quality(a):  # pragma: no cover - compiled
    """The reference's image-domain quality: quantised gradient sum / 90, at most 100."""
    total = 0
    hundred = np.float32(100.0)
    scale = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            total += abs(int((a[i, j] - a[i + 1, j]) * hundred / scale))
    for i in range(64):
        for j in range(63):
            total += abs(int((a[i, j] - a[i, j + 1]) * hundred / scale))
    return min(total // 90, 100)


@njit(cache=True, nogil=True)
def torben_median(m):  # pragma: no cover - compiled
    """Torben Mogensen's median as the reference implements it (may return a midpoint)."""
    n = m.shape[0]
    lo = m[0]
    hi = m[0]
    for i in range(1, n):
        lo = min(lo, m[i])
        hi = max(hi, m[i])
    two = np.float32(2.0)
    while True:
        guess = (lo + hi) / two
        less = greater = equal = 0
        max_lt = lo
        min_gt = hi
        for i in range(n):
            v = m[i]
            if v < guess:
                less += 1
                if v > max_lt:
                    max_lt = v
            elif v > guess:
                greater += 1
                if v < min_gt:
                    min_gt = v
            else:
                equal += 1
        if less <= (n + 1) // 2 and greater <= (n + 1) // 2:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= (n + 1) // 2:
        return max_lt
    if less + equal >= (n + 1) // 2:
        return guess
    return min_gt
