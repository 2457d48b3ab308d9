"""The few statistics reports use, defined so anyone can recompute them by hand.

- **median**: the middle value of the sorted values; for an even count, the mean of the two
  middle values (Python's ``statistics.median``);
- **p90** (90th percentile): the *nearest-rank* value, the smallest value that at least 90 % of
  the values are less than or equal to: ``sorted(values)[ceil(0.9 * n) - 1]``. It is always one
  of the measured values, never an interpolation; any other percentile (p50, p99) the same way
  (:func:`percentile`);
- **share**: a fraction between 0 and 1 (None when the denominator is 0).

Durations are in hours, rounded to two decimals only when shown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta

__all__ = ["hours", "median", "p90", "percentile", "share"]


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1): ``sorted(values)[ceil(q * n) - 1]``."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(q * len(ordered))) - 1])


def p90(values: Sequence[float]) -> float | None:
    return percentile(values, 0.9)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
