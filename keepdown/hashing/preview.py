"""Previews an analyst may look at: small, grayscale and blurred, rendered on the server.

The review page never hands the browser the media it fetched. :func:`render_preview` decodes
the bytes with the same limits as hashing (:mod:`keepdown.hashing.decode`: size, pixels,
formats, bombs) and within the process's decode budget (:mod:`keepdown.hashing.budget`),
then:

1. shrinks the picture to at most ``max_side`` pixels on its longest side (a preview is
   small by design, and shrinking first makes the blur cheap and irreversible; a JPEG is
   decoded at reduced scale to begin with, :func:`keepdown.hashing.decode.decode_small`);
2. drops colour when ``grayscale`` is set;
3. applies a Gaussian blur of ``blur`` pixels (0: none, for a deliberate reveal);
4. encodes a fresh JPEG without any metadata (no EXIF, no GPS, no colour profile), so what
   reaches the browser is only these pixels, never the original file.

Only the first frame of an animated image is shown. Nothing is written to disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFilter

from keepdown.hashing import budget
from keepdown.hashing.decode import DecodeLimits, decode_small, probe_image, process_limits
from keepdown.settings import Settings

__all__ = ["Preview", "render_preview"]

MAX_BLUR = 40


@dataclass(frozen=True)
class Preview:
    """A rendered preview: JPEG bytes and their size in pixels."""

    jpeg: bytes
    width: int
    height: int
    blurred: bool
    grayscale: bool
    content_type: str = "image/jpeg"


def render_preview(
    data: bytes,
    *,
    max_side: int = 240,
    blur: int = 12,
    grayscale: bool = True,
    settings: Settings | None = None,
    wait: float | None = None,
) -> Preview:
    """A preview of ``data`` (steps in the module docstring); DecodeError and friends if the
    bytes are not an image keepdown decodes."""
    side = max(16, min(int(max_side), 2048))
    limits = DecodeLimits.from_settings(settings) if settings else process_limits()
    info = probe_image(data, limits=limits)
    cost = budget.decode_cost(info.width, info.height, info.source_mode, rgb_array=False)
    with budget.process_budget().hold(cost, wait=wait):
        image = Image.fromarray(decode_small(data, side, limits=limits))
    if grayscale:
        image = image.convert("L")
    radius = max(0, min(int(blur), MAX_BLUR))
    if radius:
        image = image.filter(ImageFilter.GaussianBlur(radius=radius))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, optimize=True)
    return Preview(
        jpeg=out.getvalue(),
        width=image.width,
        height=image.height,
        blurred=radius > 0,
        grayscale=grayscale,
    )
