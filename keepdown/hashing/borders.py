"""Find the bars around a picture (letterbox, pillarbox, screenshot padding, blurred fill), so
a query can also be hashed without them. Never used on bank entries.

PDQ hashes the whole frame: bars of 5% move a hash 40-60 bits (measured in
``benchmarks/robustness.py``), far past any threshold. :func:`content_box` looks at a
reduced luma :class:`~keepdown.hashing.plane.Plane`, one side at a time, for a run of lines
from the edge inwards that are all one of:

1. **flat**: at least :data:`FLAT_SHARE` of the line's pixels within :data:`FLAT_TOLERANCE`
   grey levels of the outermost line's median, and the line's own median within
   :data:`BAR_DRIFT` of it (a plain bar, black, white or any colour; a few icons or a clock in
   a phone's status bar are allowed, a sky's gradient is not);
2. **blurred**, on both ends of the axis with about the same length: the line's detail
   (mean absolute difference between neighbouring pixels) is under :data:`BLUR_SHARE` of
   the median line detail of the picture's middle fifth (the blurred, enlarged copy of the
   picture that video apps put behind a portrait clip).

A run becomes a bar only when it is at least :data:`MIN_BAR` of the side long and ends at a
sharp, straight boundary: the content's first lines differ from the run's last ones by
:data:`MIN_STEP` grey levels on average (:data:`MIN_STEP_BLURRED` for a pair of blurred
bars) and by several times the typical change inside the run; the boundary is then placed at
the biggest step within two lines (JPEG ringing). A genuinely dark or smooth edge of a
photograph (night sky, a vignette, a wall) fades into the picture instead, or has texture,
and is left alone; when in doubt nothing is trimmed, and the picture as it is is always
matched too. The content must keep :data:`MIN_CONTENT` of each side.
"""

from __future__ import annotations

import numpy as np

from keepdown.hashing.plane import Box, Plane

__all__ = [
    "BAR_DRIFT",
    "BLUR_SHARE",
    "FLAT_SHARE",
    "FLAT_TOLERANCE",
    "MIN_BAR",
    "MIN_CONTENT",
    "MIN_STEP",
    "MIN_STEP_BLURRED",
    "content_box",
]

FLAT_TOLERANCE = 4.0  #: grey levels from the bar's colour (JPEG noise; a noisy dark sky is wider)
BAR_DRIFT = 3.0  #: grey levels a flat line's median may move from the bar's (not a sky's)
FLAT_SHARE = 0.75  #: share of a flat line's pixels within the tolerance (icons, a clock)
BLUR_SHARE = 0.2  #: a blurred line has under this share of the picture's median detail
MIN_BAR = 0.01  #: shortest bar, as a share of the side (and never under 2 plane pixels)
MIN_CONTENT = 0.25  #: what must remain of each side (16:9 in a 9:16 frame keeps 32%)
MIN_STEP = 6.0  #: grey levels of mean change from a bar's last line to the content's first
MIN_STEP_BLURRED = 3.0  #: the same for a pair of blurred bars (the pair is evidence already)


def content_box(plane: Plane) -> Box | None:
    """The picture without its bars, as a box in its own 0-1 coordinates; None when no side
    has a bar (see the module's rules)."""
    luma = plane.luma
    h, w = luma.shape
    if h < 16 or w < 16:
        return None
    detail_rows = np.abs(np.diff(luma, axis=1)).mean(axis=1)
    detail_cols = np.abs(np.diff(luma, axis=0)).mean(axis=0)
    top, bottom = _pair(luma, detail_rows)
    left, right = _pair(luma.T, detail_cols)
    if h - top - bottom < MIN_CONTENT * h:
        top = bottom = 0
    if w - left - right < MIN_CONTENT * w:
        left = right = 0
    if not (top or bottom or left or right):
        return None
    return (left / w, top / h, (w - right) / w, (h - bottom) / h)


def _pair(lines: np.ndarray, detail: np.ndarray) -> tuple[int, int]:
    """The bars at both ends of one axis (``lines`` in order, ``detail`` per line).

    A flat bar stands alone (a status bar is on one side only); blurred bars count only in
    pairs of about the same length, as apps centre the picture on its blurred copy: a smooth
    sky above a picture has no twin below, and is left alone.
    """
    n = lines.shape[0]
    least = max(2, int(np.ceil(MIN_BAR * n)))
    most = int(n * (1 - MIN_CONTENT))
    ends = (lines, lines[::-1])
    flat = [_checked(end, _flat_run(end, most), least, MIN_STEP) for end in ends]
    if all(flat):
        return flat[0], flat[1]
    details = (detail, detail[::-1])
    blurred = [
        _checked(end, _blurred_run(d, most), least, MIN_STEP_BLURRED)
        for end, d in zip(ends, details, strict=True)
    ]
    if all(blurred) and abs(blurred[0] - blurred[1]) <= 0.25 * max(blurred) + 2:
        return blurred[0], blurred[1]
    return flat[0], flat[1]


def _checked(lines: np.ndarray, run: int, least: int, min_step: float) -> int:
    if run < least or not _sharp_boundary(lines, run, min_step):
        return 0
    return _refined(lines, run)


def _refined(lines: np.ndarray, run: int) -> int:
    """The boundary at the biggest step within two lines of where the run stopped: JPEG's
    ringing near the edge of a bar ends the run a line or two early, and on a small picture
    each line left in is a fraction of a percent of the frame."""
    best, best_step = run, -1.0
    for at in range(max(run - 2, 1), min(run + 3, lines.shape[0])):
        step = float(np.abs(lines[at] - lines[at - 1]).mean())
        if step > best_step:
            best, best_step = at, step
    return best


def _flat_run(lines: np.ndarray, most: int) -> int:
    """Lines from the start that are flat in the outermost line's colour (stops at the first
    that is not: most pictures have no bar, and cost one or two lines here)."""
    colour = float(np.median(lines[0]))
    for index in range(min(most + 1, lines.shape[0])):
        line = lines[index]
        near = np.abs(line - colour) <= FLAT_TOLERANCE
        if near.mean() < FLAT_SHARE or abs(float(np.median(line)) - colour) > BAR_DRIFT:
            return index
    return 0


def _blurred_run(detail: np.ndarray, most: int) -> int:
    n = detail.shape[0]
    typical = float(np.median(detail[int(n * 0.4) : max(int(n * 0.6), int(n * 0.4) + 1)]))
    if typical <= 0:
        return 0
    busy = np.flatnonzero(detail[: most + 1] > BLUR_SHARE * typical)
    return int(busy[0]) if busy.size else 0


def _sharp_boundary(lines: np.ndarray, run: int, min_step: float) -> bool:
    """The run ends at a straight edge: a big step across its last lines into the content
    (two lines each side, as a reduced plane blends the bar and the picture in one line),
    compared with the typical step between the run's own lines."""
    if run + 1 >= lines.shape[0]:
        return False
    inner = max(run - 2, 0)
    step = float(np.abs(lines[run + 1] - lines[inner]).mean())
    inside = np.abs(np.diff(lines[: inner + 1], axis=0)).mean(axis=1)
    typical = float(np.median(inside)) if inside.size else 0.0
    return step >= min_step and step >= 3.0 * typical
