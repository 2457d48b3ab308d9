"""Charts as server-side SVG: readable without the numbers, carrying the numbers.

A chart with nothing to draw (no row, or only zeros) says "No data for this period." in
words, rather than showing an empty box. Each chart is an inline ``<svg role="img">`` with a
``<title>`` and ``<desc>`` (what a screen reader says), one ``<title>`` per bar (the exact
value on hover), and the value written next to each bar, so the picture, the words and the
numbers say the same thing. The HTML report puts a table with the same numbers next to each
chart. No script, no font, no CDN: the SVG is text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

__all__ = ["NO_DATA", "bar_chart", "column_chart", "stacked_bar_chart"]

WIDTH = 640
BAR = 22
GAP = 8
LABEL_W = 190
PALETTE = ("#1f5f8b", "#d08c2c", "#6a8d3a", "#8b3a62")


NO_DATA = "No data for this period."


def _no_data(title: str, desc: str) -> str:
    """An empty chart says so in words a reader sees, not only a blank box."""
    body = [f'<text x="{WIDTH / 2:g}" y="26" text-anchor="middle" fill="#555">{NO_DATA}</text>']
    return _svg(title, desc or f"{title}. {NO_DATA}", 40, body)


def _svg(title: str, desc: str, height: int, body: list[str]) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:40]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="t-{slug} d-{slug}" '
        f'font-family="sans-serif" font-size="12">'
        f'<title id="t-{slug}">{escape(title)}</title><desc id="d-{slug}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    desc: str = "",
    text: Callable[[float], str] | None = None,
) -> str:
    """Horizontal bars, one per ``(label, value)``, each labelled with its value (as
    ``text`` writes it: e.g. a duration in minutes or hours; default the number and
    ``unit``)."""
    if not any(v for _, v in items):
        return _no_data(title, desc)
    say = text or (lambda v: f"{_fmt(v)}{unit}")
    top = max((v for _, v in items), default=0) or 1
    span = WIDTH - LABEL_W - 80
    height = GAP + len(items) * (BAR + GAP) + GAP
    spoken = "; ".join(f"{label}: {say(v)}" for label, v in items) or "no data"
    body = []
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        w = round(span * value / top, 1)
        shown = say(value)
        body.append(
            f"<g><title>{escape(label)}: {escape(shown)}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + BAR * 0.7}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR}" fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_W + w + 6}" y="{y + BAR * 0.7}">{escape(shown)}</text></g>'
        )
    return _svg(title, desc or f"{title}. {spoken}.", max(height, 40), body)


def stacked_bar_chart(
    title: str,
    series: Sequence[str],
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    desc: str = "",
) -> str:
    """One horizontal bar per row, split into ``series`` parts, with a legend and totals."""
    if not any(sum(values) for _, values in rows):
        return _no_data(title, desc)
    top = max((sum(values) for _, values in rows), default=0) or 1
    span = WIDTH - LABEL_W - 120
    legend_h = 24
    height = legend_h + GAP + len(rows) * (BAR + GAP) + GAP
    body = [
        f'<rect x="{LABEL_W + i * 130}" y="6" width="12" height="12" fill="{PALETTE[i]}"/>'
        f'<text x="{LABEL_W + i * 130 + 16}" y="16">{escape(name)}</text>'
        for i, name in enumerate(series)
    ]
    spoken = []
    for r, (label, values) in enumerate(rows):
        y = legend_h + GAP + r * (BAR + GAP)
        x = float(LABEL_W)
        parts = ", ".join(f"{name} {v}" for name, v in zip(series, values, strict=True))
        spoken.append(f"{label}: {parts}")
        body.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR * 0.7}" text-anchor="end">{escape(label)}</text>'
        )
        for i, value in enumerate(values):
            w = round(span * value / top, 1)
            if w:
                body.append(
                    f'<rect x="{x}" y="{y}" width="{w}" height="{BAR}" fill="{PALETTE[i]}">'
                    f"<title>{escape(label)}, {escape(series[i])}: {value}</title></rect>"
                )
            x += w
        body.append(f'<text x="{x + 6}" y="{y + BAR * 0.7}">{escape(parts)}</text>')
    text = "; ".join(spoken) or "no data"
    return _svg(title, desc or f"{title}. {text}.", max(height, 60), body)


def column_chart(
    title: str,
    series: Sequence[str],
    columns: Sequence[tuple[str, Sequence[float]]],
    *,
    desc: str = "",
) -> str:
    """Grouped vertical columns (one group per label, one column per series), values on top."""
    if not any(v for _, values in columns for v in values):
        return _no_data(title, desc)
    plot_h, base, left = 160, 200, 40
    top = max((v for _, values in columns for v in values), default=0) or 1
    group_w = (WIDTH - left - 10) / max(len(columns), 1)
    col_w = max(min(group_w / (len(series) + 1), 24), 4)
    body = [
        f'<rect x="{left + i * 110}" y="4" width="12" height="12" fill="{PALETTE[i]}"/>'
        f'<text x="{left + i * 110 + 16}" y="14">{escape(name)}</text>'
        for i, name in enumerate(series)
    ]
    body.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#444"/>')
    spoken = []
    for g, (label, values) in enumerate(columns):
        gx = left + g * group_w
        spoken.append(
            f"{label}: " + ", ".join(f"{n} {_fmt(v)}" for n, v in zip(series, values, strict=True))
        )
        for i, value in enumerate(values):
            h = round(plot_h * value / top, 1)
            x = round(gx + 4 + i * col_w, 1)
            body.append(
                f"<g><title>{escape(label)}, {escape(series[i])}: {_fmt(value)}</title>"
                f'<rect x="{x}" y="{base - h}" width="{col_w - 2:.1f}" height="{h}" '
                f'fill="{PALETTE[i]}"/>'
                f'<text x="{x + col_w / 2 - 1:.1f}" y="{base - h - 3}" text-anchor="middle" '
                f'font-size="10">{_fmt(value)}</text></g>'
            )
        body.append(
            f'<text x="{gx + group_w / 2:.1f}" y="{base + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    text = "; ".join(spoken) or "no data"
    return _svg(title, desc or f"{title}. {text}.", base + 24, body)
