"""Durations as people read them: minutes under an hour, hours above.

Figures are kept in hours at full precision (JSON, CSV and the data file carry the numbers);
only what is shown to a reader is rounded, by :func:`duration_text`, the one rule every view
uses (``keepdown notices figures``, the web pages, the HTML report):

- under a minute: seconds (``40 s``);
- under an hour: whole minutes (``3 min``), so a removal within minutes never reads ``0.0 h``;
- an hour or more: hours to one decimal (``26.5 h``).
"""

from __future__ import annotations

__all__ = ["duration_text"]


def duration_text(hours: float | None, *, missing: str = "–") -> str:
    """``hours`` as text (module docstring); ``missing`` when there is nothing to show."""
    if hours is None:
        return missing
    seconds = hours * 3600.0
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    if seconds < 3570.0:  # 59.5 minutes: rounds to 60 min, shown as 1.0 h
        return f"{seconds / 60.0:.0f} min"
    return f"{hours:.1f} h"
