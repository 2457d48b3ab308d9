"""A decoded picture's reduced luma plane, and PDQ hashes of framed, turned or patched copies
of it, without decoding again.

Robust matching (:mod:`keepdown.hashing.robust`) hashes a dozen or two variants of one query
picture: its trimmed content, "un-cropped" frames that reach beyond its edges, copies turned
back by a few degrees. Decoding and filtering the full-size picture for each would cost a
dozen full hashes; instead:

1. The picture is reduced once to a luma :class:`Plane` whose short side is at least
   :data:`PLANE_MIN_SIDE` pixels: the fast JPEG path's own reduced Y plane when there is
   one, else block means of the decoded RGB (one pass, :func:`plane_from_rgb`).
2. A *frame* of the plane (a box in the picture's own 0-1 coordinates, which may reach past
   its edges: those pixels repeat the edge, as an un-crop needs) is filtered straight to
   PDQ's 64x64 image with the full-size window sizes (:func:`frame_64x64`): the scale-aware
   filter of fast mode (``docs/pdq.md``), built per frame, with no copy of the pixels.
3. A turned copy (:func:`rotated`, from the plane halved when it is large: four times less
   work, no measurable loss at PDQ's 64x64) and a patched copy (:func:`filled`) are new
   planes; the pixels they lack repeat the nearest known line, as an un-crop repeats edges.

Hashes from a plane are a few bits from exact mode's on the same frame (the fast mode's
drift): fine for a query, never used for a bank entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import numpy as np

from keepdown.hashing.fast import Band, apply_bands, readonly
from keepdown.hashing.pdq import MIN_HASHABLE_DIM, PdqResult, pdq_from_64x64

__all__ = [
    "PLANE_MIN_SIDE",
    "Box",
    "Plane",
    "filled",
    "frame_64x64",
    "frame_pdq",
    "plane_from_rgb",
    "plane_from_scaled",
    "rotated",
]

#: The plane keeps at least this many pixels on its short side (fast mode's own floor).
PLANE_MIN_SIDE = 256
#: A turn works on a plane at least this short side (halved from the plane when it allows).
TURN_MIN_SIDE = 128
#: A box (x0, y0, x1, y1) in the picture's own coordinates: (0, 0, 1, 1) is the whole picture.
Box = tuple[float, float, float, float]
WHOLE: Box = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class Plane:
    """Reduced luma (h x w float32) of a ``full_height x full_width`` picture.

    ``scale_y`` and ``scale_x`` are plane pixels per full-size pixel: full-size row ``r``
    starts at plane row ``r * scale_y``.
    """

    luma: np.ndarray
    full_height: int
    full_width: int
    scale_y: float
    scale_x: float

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.luma.shape[0]), int(self.luma.shape[1])


def plane_from_rgb(rgb: np.ndarray, min_side: int = PLANE_MIN_SIDE) -> Plane:
    """Block means of a decoded H x W x 3 uint8 (or H x W grey) picture, one pass over it.

    The block is the largest whole factor keeping the short side at least ``min_side``.
    """
    height, width = rgb.shape[0], rgb.shape[1]
    channels = 3 if rgb.ndim == 3 else 1
    k = max(1, min(height, width) // min_side)
    out = np.empty((-(-height // k), -(-width // k)), np.float32)
    flat = readonly(np.ascontiguousarray(rgb).reshape(height, width * channels))
    _kernels().block_luma(flat, channels, k, out)
    return Plane(out, height, width, 1.0 / k, 1.0 / k)


def plane_from_scaled(luma: np.ndarray, full_height: int, full_width: int) -> Plane:
    """A plane from fast mode's reduced-scale decode (the JPEG's Y plane at 1/2 .. 1/8)."""
    values = np.ascontiguousarray(luma.reshape(luma.shape[0], luma.shape[1]), np.float32)
    return Plane(
        values,
        full_height,
        full_width,
        values.shape[0] / full_height,
        values.shape[1] / full_width,
    )


def frame_64x64(plane: Plane, box: Box = WHOLE) -> np.ndarray | None:
    """PDQ's filtered 64x64 image of the picture framed by ``box``; None when the frame is
    smaller than the reference hashes (under 5 full-size pixels on a side)."""
    x0, y0, x1, y1 = box
    full_w = round((x1 - x0) * plane.full_width)
    full_h = round((y1 - y0) * plane.full_height)
    if full_w < MIN_HASHABLE_DIM or full_h < MIN_HASHABLE_DIM or x1 <= x0 or y1 <= y0:
        return None
    h, w = plane.shape
    span_y = plane.full_height * plane.scale_y
    span_x = plane.full_width * plane.scale_x
    rows = _frame_band(full_h, round(y0 * span_y, 3), round(y1 * span_y, 3), h)
    cols = _frame_band(full_w, round(x0 * span_x, 3), round(x1 * span_x, 3), w)
    return apply_bands(plane.luma, rows, cols)


def frame_pdq(plane: Plane, box: Box = WHOLE) -> PdqResult | None:
    """The PDQ hash and quality of the framed picture (see :func:`frame_64x64`)."""
    buf = frame_64x64(plane, box)
    return None if buf is None else pdq_from_64x64(buf)


@lru_cache(maxsize=2048)
def _frame_band(full: int, lo: float, hi: float, n: int) -> Band:
    """One axis's weights for a frame (cached: the catalogue's frames recur at each size)."""
    kernels = _kernels()
    dense = np.zeros((64, n), np.float64)
    kernels.frame_weights(full, lo, hi, n, dense)
    width = min(int(kernels.band_width(dense)), n)
    first = np.zeros(64, np.int64)
    weights = np.zeros((64, width), np.float32)
    kernels.to_band(dense, first, weights)
    first.flags.writeable = False
    weights.flags.writeable = False
    return first, weights


def rotated(plane: Plane, degrees: float) -> Plane:
    """The plane turned counter-clockwise by ``degrees`` on a canvas holding all of it; the
    corners no source pixel reaches repeat the nearest pixel of their row (as an un-crop
    repeats the edge: measured better than a blurred or mean fill)."""
    plane = _halved(plane) if min(plane.shape) >= 2 * TURN_MIN_SIDE else plane
    h, w = plane.shape
    theta = math.radians(degrees)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    out_w = math.ceil(abs(w * cos_t) + abs(h * sin_t) - 1e-6)
    out_h = math.ceil(abs(w * sin_t) + abs(h * cos_t) - 1e-6)
    luma = np.empty((out_h, out_w), np.float32)
    mask = np.empty((out_h, out_w), np.float32)
    kernels = _kernels()
    kernels.rotate_bilinear(plane.luma, cos_t, sin_t, luma, mask)
    kernels.extend_rows(luma, mask)
    return Plane(
        luma,
        max(1, round(out_h / plane.scale_y)),
        max(1, round(out_w / plane.scale_x)),
        plane.scale_y,
        plane.scale_x,
    )


def filled(plane: Plane, box: Box) -> Plane:
    """A copy of the plane whose pixels inside ``box`` repeat the nearest line of picture
    outside it (above or below; beside it for a box as tall as the picture): a guess at what
    a caption, sticker or watermark covers, made the way an un-crop guesses a margin."""
    h, w = plane.shape
    x0, y0, x1, y1 = box
    r0, r1 = max(0, round(y0 * h)), min(h, round(y1 * h))
    c0, c1 = max(0, round(x0 * w)), min(w, round(x1 * w))
    luma = plane.luma.copy()
    if r1 > r0 and c1 > c0:
        _repeat_edges(luma, r0, r1, c0, c1)
    return Plane(luma, plane.full_height, plane.full_width, plane.scale_y, plane.scale_x)


def _repeat_edges(luma: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> None:
    h, w = luma.shape
    if r0 > 0 or r1 < h:  # fill from the rows above and below, each half from its side
        middle = (r0 + r1) // 2 if (r0 > 0 and r1 < h) else (r1 if r0 > 0 else r0)
        if r0 > 0:
            luma[r0:middle, c0:c1] = luma[r0 - 1, c0:c1]
        if r1 < h:
            luma[middle:r1, c0:c1] = luma[r1, c0:c1]
    elif c0 > 0 or c1 < w:  # a full-height box: from the columns beside it
        middle = (c0 + c1) // 2 if (c0 > 0 and c1 < w) else (c1 if c0 > 0 else c0)
        if c0 > 0:
            luma[r0:r1, c0:middle] = luma[r0:r1, c0 - 1 : c0]
        if c1 < w:
            luma[r0:r1, middle:c1] = luma[r0:r1, c1 : c1 + 1]


_state: dict[str, ModuleType] = {}


def _halved(plane: Plane) -> Plane:
    """2x2 block means (the odd last row or column dropped: under half a pixel of frame)."""
    h, w = plane.shape
    luma = plane.luma[: h - h % 2, : w - w % 2]
    half = (luma[0::2, 0::2] + luma[1::2, 0::2] + luma[0::2, 1::2] + luma[1::2, 1::2]) / 4
    return Plane(
        np.ascontiguousarray(half, np.float32),
        plane.full_height,
        plane.full_width,
        plane.scale_y / 2,
        plane.scale_x / 2,
    )


def _kernels() -> ModuleType:
    """The compiled loops, loaded (and numba imported) on first use only."""
    mod = _state.get("kernels")
    if mod is None:
        from keepdown.hashing import plane_kernels

        _state["kernels"] = mod = plane_kernels
    return mod
