"""Robust query variants: the hashes that find a picture through PDQ's blind spots.

PDQ hashes the whole frame at a resolution where 1% of the picture is half a cell, so a copy
cropped by a few percent, letterboxed, or turned by a few degrees lands 40-120 bits from the
original: past any threshold. Bank entries are hashes only (the picture is never kept), so
nothing can be added on their side. What can be done is on the query's side: guess what the
original frame looked like, and hash the guesses. From one decoded picture (its reduced luma
:class:`~keepdown.hashing.plane.Plane`, no second decode):

1. ``trim``: the picture without the bars :func:`~keepdown.hashing.borders.content_box`
   finds (letterbox, pillarbox, screenshot padding, blurred fill); ``trim-rows`` and
   ``trim-cols`` too when both axes have bars, in case one of them was the picture's own,
   and ``trim-even`` when opposite bars differ in length (a centred letterbox around a
   picture with a flat edge of its own: only the shorter bar's length is cut on both sides).
2. ``uncrop-*``: frames reaching past the query's edges, whose missing margins repeat the
   edge pixels, for the copies that were cropped: the whole original frame is rebuilt when the
   guess is within about 1% of the picture (measured: ``benchmarks/robustness.py``).
3. ``turn±N``: the picture turned back by N degrees, the corners repeating their row's
   nearest pixel, framed as it was (a turn that kept a black or white canvas) and inside the
   largest rectangle of the turned picture (a "straighten" that cropped).

The set in :data:`DEFAULT_VARIANTS` was chosen by measurement (greedy gain on the benchmark's
edits at a fixed cost, see ``docs/matching.md``); every variant whose quality is under the
floor is dropped by the matcher like any PDQ hash. A match found only through one of these is
a ``near (robust)`` match: review only, never an automatic action.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keepdown.hashing.borders import content_box
from keepdown.hashing.pdq import PdqResult
from keepdown.hashing.plane import Box, Plane, filled, frame_pdq, rotated

__all__ = [
    "CATALOGUE",
    "DEFAULT_VARIANTS",
    "Variant",
    "robust_hashes",
    "uncrop_box",
]


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of re-framing a query: a frame of the plane, after an optional turn or fill.

    ``box`` is in the (turned) picture's 0-1 coordinates and may reach past them. ``turn``
    is in degrees, counter-clockwise; ``turn_crop`` frames the turned picture's largest
    inner rectangle's *original* frame (a straighten-and-crop undone) instead of the canvas
    the original had when the turn kept it. ``fill`` is a box replaced by a smooth fill.
    """

    name: str
    box: Box = (0.0, 0.0, 1.0, 1.0)
    turn: float = 0.0
    turn_crop: bool = False
    fill: Box | None = None


def uncrop_box(left: float, top: float, right: float, bottom: float) -> Box:
    """The original frame, in the query's coordinates, of a query that was cut by these
    shares of the original's width and height on each side."""
    kept_w, kept_h = 1.0 - left - right, 1.0 - top - bottom
    return (-left / kept_w, -top / kept_h, 1.0 + right / kept_w, 1.0 + bottom / kept_h)


def _uncrops() -> list[Variant]:
    """Cuts of 5% and 10% of each dimension: centred, from one edge, and from one corner,
    and grids in between (named by the share cut on each side, in percent)."""
    out = []
    for total in (0.05, 0.1):
        steps = (0.0, 0.5, 1.0) if total == 0.05 else (0.0, 1 / 3, 2 / 3, 1.0)
        for fx in steps:
            for fy in steps:
                cut = (total * fx, total * fy, total * (1 - fx), total * (1 - fy))
                label = "-".join(f"{round(c * 100, 1):g}" for c in cut)
                out.append(Variant(f"uncrop-{label}", uncrop_box(*cut)))
        for axis in ("x", "y"):  # an aspect change: one axis only, centred
            half = total / 2
            cut = (half, 0.0, half, 0.0) if axis == "x" else (0.0, half, 0.0, half)
            out.append(Variant(f"uncrop-{axis}{round(total * 100):g}", uncrop_box(*cut)))
    return out


def _turns() -> list[Variant]:
    out = []
    for degrees in (1.0, 2.0, 3.0, 5.0, 7.0, 10.0):
        for sign in (1, -1):
            angle = sign * degrees
            out.append(Variant(f"turn{angle:+g}", turn=angle))
            out.append(Variant(f"turn{angle:+g}-crop", turn=angle, turn_crop=True))
    return out


def _fills() -> list[Variant]:
    regions = {
        "top": (0.0, 0.0, 1.0, 0.2),
        "bottom": (0.0, 0.8, 1.0, 1.0),
        "top-left": (0.0, 0.0, 0.35, 0.25),
        "top-right": (0.65, 0.0, 1.0, 0.25),
        "bottom-left": (0.0, 0.75, 0.35, 1.0),
        "bottom-right": (0.65, 0.75, 1.0, 1.0),
    }
    return [Variant(f"fill-{name}", fill=box) for name, box in regions.items()]


#: Every candidate the benchmark measures (``benchmarks/robustness.py --choose``).
CATALOGUE: Mapping[str, Variant] = {v.name: v for v in (*_uncrops(), *_turns(), *_fills())}

#: The variants hashed by default, besides the trims (chosen by measurement, docs/matching.md).
DEFAULT_VARIANTS: tuple[str, ...] = (
    "turn-5",
    "turn+5",
    "turn-2-crop",
    "turn+2-crop",
    "turn+5-crop",
    "turn-5-crop",
    "fill-bottom",
    "uncrop-2.5-2.5-2.5-2.5",
    "uncrop-2.5-0-2.5-5",
    "uncrop-2.5-5-2.5-0",
    "uncrop-0-5-5-0",
    "uncrop-5-2.5-0-2.5",
)


def robust_hashes(plane: Plane, names: Iterable[str] | None = None) -> dict[str, PdqResult]:
    """The trims of ``plane`` (when it has bars) and the named variants' PDQ hashes.

    ``names`` defaults to :data:`DEFAULT_VARIANTS`; unknown names raise KeyError. Variants of a
    picture too small to hash are left out.
    """
    out: dict[str, PdqResult] = {}
    for name, box in _trims(plane).items():
        _put(out, name, frame_pdq(plane, box))
    turned: dict[float, Plane] = {}
    for name in DEFAULT_VARIANTS if names is None else names:
        variant = CATALOGUE[name]
        _put(out, name, _variant_pdq(plane, variant, turned))
    return out


def _trims(plane: Plane) -> dict[str, Box]:
    box = content_box(plane)
    if box is None:
        return {}
    x0, y0, x1, y1 = box
    trims = {"trim": box}
    if (x0 > 0 or x1 < 1) and (y0 > 0 or y1 < 1):
        trims["trim-rows"] = (0.0, y0, 1.0, y1)
        trims["trim-cols"] = (x0, 0.0, x1, 1.0)
    even = _even(x0, 1 - x1) + _even(y0, 1 - y1)
    if even != (x0, 1 - x1, y0, 1 - y1):  # bars of unequal length: one may hold picture
        left, right, top, bottom = even
        trims["trim-even"] = (left, top, 1 - right, 1 - bottom)
    return trims


def _even(start: float, end: float) -> tuple[float, float]:
    """Both bars of an axis cut to the shorter one when they differ by over 1% of the side:
    letterboxes are centred, so the excess of the longer bar is the picture's own flat edge
    (a black sky, a white background) and belongs to the original."""
    if start > 0 and end > 0 and abs(start - end) > 0.01:
        return min(start, end), min(start, end)
    return start, end


def _variant_pdq(plane: Plane, variant: Variant, turned: dict[float, Plane]) -> PdqResult | None:
    source = plane
    if variant.fill is not None:
        source = filled(plane, variant.fill)
    if variant.turn:
        source = turned.get(variant.turn) or turned.setdefault(
            variant.turn, rotated(plane, variant.turn)
        )
        box = _turn_frame(plane, variant.turn, variant.turn_crop)
        return frame_pdq(source, box)
    return frame_pdq(source, variant.box)


def _turn_frame(plane: Plane, degrees: float, crop: bool) -> Box:
    """Where the original frame lies on the canvas of the query turned back by ``degrees``.

    Turned with its canvas kept, the query (W' x H') held the original (W x H) turned, so
    ``W' = W c + H s`` and ``H' = W s + H c``: solve for W and H and centre that box. A
    straighten that cropped to the largest inner rectangle touched every side of the turned
    original, so the original is the whole canvas of the query turned back.
    """
    if crop:
        return (0.0, 0.0, 1.0, 1.0)
    theta = math.radians(abs(degrees))
    c, s = math.cos(theta), math.sin(theta)
    qw, qh = float(plane.full_width), float(plane.full_height)
    det = c * c - s * s
    width, height = (qw * c - qh * s) / det, (qh * c - qw * s) / det
    canvas_w, canvas_h = qw * c + qh * s, qw * s + qh * c  # the query turned back
    if width <= 0 or height <= 0:
        return (0.0, 0.0, 1.0, 1.0)
    mx, my = (1 - width / canvas_w) / 2, (1 - height / canvas_h) / 2
    return (mx, my, 1 - mx, 1 - my)


def _put(out: dict[str, PdqResult], name: str, result: PdqResult | None) -> None:
    if result is not None:
        out[name] = result
