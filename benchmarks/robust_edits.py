"""The edits of ``benchmarks/robustness.py``: what re-uploaders do to a picture, at several
strengths, applied to benign pictures only.

Where Meta's ``augly`` (the field's augmentation library; ``pip install augly``) provides the
edit, its function is used with the parameters given here; without augly, or for the edits it
lacks or that fail with the Pillow installed (``meme_format``), the edit is drawn with
Pillow/numpy, as named in :data:`SOURCES`. Each edit takes a PIL image and a seeded random
generator (for the random crop position, sticker position, turn direction) and returns a new
PIL image.

Definitions (shares are of the picture's width and height):

- ``crop N%``: N% of the width and N% of the height are cut, split between the two opposite
  sides at a random ratio (a copy framed anywhere inside the original);
- ``letterbox`` / ``pillarbox``: bars adding 12% / 10% on each side; ``blurred fill``: the
  picture centred on an enlarged, blurred copy of itself in a 9:16 portrait frame, as video
  apps do; ``screenshot padding``: a phone's status bar above and navigation bar below;
- ``rotate N°``: augly's rotate (turn, then keep the largest inner rectangle) by N ± 0.5
  degrees (uniform), either way; ``rotate 5° canvas``: turned on a black canvas holding all
  of it;
- ``overlay text``: augly's overlay_text (random characters, 15% high, left middle);
  ``caption``: a meme-style white text with black outline along the bottom; ``watermark``:
  half-transparent white text in the bottom-right corner; ``emoji``: augly's emoji sticker,
  15% or 25% of the picture, at a random position.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

__all__ = ["EDITS", "SOURCES", "Edit", "augly_available"]

Edit = Callable[[Image.Image, np.random.Generator], Image.Image]

try:  # optional: the benchmark says which edits came from augly
    import augly.image.functional as _augly
    import augly.utils as _augly_utils
except ImportError:  # pragma: no cover - depends on the environment
    _augly = None
    _augly_utils = None


def augly_available() -> bool:
    return _augly is not None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if _augly_utils is not None:
        import os

        path = os.path.join(_augly_utils.FONTS_DIR, "Chunkfive.ttf")
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def jpeg(quality: int) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        if _augly is not None:
            return _augly.encoding_quality(im, quality=quality)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return edit


def resize(factor: float) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        if _augly is not None:
            return _augly.scale(im, factor=factor)
        return im.resize((round(im.width * factor), round(im.height * factor)), Image.BILINEAR)

    return edit


def crop(share: float, centred: bool = False) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        fx = 0.5 if centred else float(rng.uniform(0, 1))
        fy = 0.5 if centred else float(rng.uniform(0, 1))
        box = (share * fx, share * fy, 1 - share * (1 - fx), 1 - share * (1 - fy))
        if _augly is not None:
            return _augly.crop(im, x1=box[0], y1=box[1], x2=box[2], y2=box[3])
        w, h = im.size
        return im.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))

    return edit


def pad(w_share: float, h_share: float, colour: tuple[int, int, int]) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        if _augly is not None:
            return _augly.pad(im, w_factor=w_share, h_factor=h_share, color=colour)
        w, h = im.size
        bw, bh = round(w * w_share), round(h * h_share)
        canvas = Image.new("RGB", (w + 2 * bw, h + 2 * bh), colour)
        canvas.paste(im, (bw, bh))
        return canvas

    return edit


def blurred_fill(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The picture centred on its own enlarged, blurred copy in a 9:16 portrait frame."""
    w, h = im.size
    if w / h > 9 / 16:
        out_w, out_h = w, round(w * 16 / 9)
    else:
        out_w, out_h = round(h * 9 / 16), h
    zoom = max(out_w / w, out_h / h)
    back = im.resize((round(w * zoom) + 1, round(h * zoom) + 1), Image.BILINEAR)
    left, top = (back.width - out_w) // 2, (back.height - out_h) // 2
    back = back.crop((left, top, left + out_w, top + out_h))
    back = back.filter(ImageFilter.GaussianBlur(max(out_w, out_h) / 40))
    back.paste(im, ((out_w - w) // 2, (out_h - h) // 2))
    return back


def screenshot_padding(dark: bool) -> Edit:
    """A phone's status bar (clock, signal, battery) above and navigation bar below."""

    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = im.size
        top, bottom = round(h * 0.06), round(h * 0.1)
        back, ink = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
        out = Image.new("RGB", (w, h + top + bottom), back)
        out.paste(im, (0, top))
        draw = ImageDraw.Draw(out)
        draw.text((w * 0.04, top * 0.15), "9:41", fill=ink, font=_font(max(8, int(top * 0.6))))
        for i in range(3):
            x = w * (0.84 + 0.04 * i)
            draw.rectangle([x, top * 0.3, x + w * 0.02, top * 0.7], fill=ink)
        y = h + top + bottom * 0.35
        for x in (0.2, 0.5, 0.8):
            r = bottom * 0.15
            draw.ellipse([w * x - r, y, w * x + r, y + 2 * r], outline=ink, width=2)
        return out

    return edit


def rotate(degrees: float, canvas: bool = False) -> Edit:
    """Turned by ``degrees`` ± 0.5 (uniform), either way: re-uploaders' angles are not round."""

    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        angle = float(rng.uniform(degrees - 0.5, degrees + 0.5))
        angle = angle if rng.random() < 0.5 else -angle
        if canvas:
            return im.rotate(angle, expand=True, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
        if _augly is not None:
            return _augly.rotate(im, degrees=angle)
        raise RuntimeError("rotate with crop needs augly")

    return edit


def mirror(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    return _augly.hflip(im) if _augly is not None else im.transpose(Image.FLIP_LEFT_RIGHT)


def overlay_text(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    if _augly is not None:
        text = [int(c) for c in rng.integers(0, 200, 10)]
        return _augly.overlay_text(im, text=text)
    draw_on = im.copy()
    draw = ImageDraw.Draw(draw_on)
    size = int(min(im.size) * 0.15)
    draw.text((0, im.height * 0.5), "qwertyuiop", fill=(255, 0, 0), font=_font(size))
    return draw_on


def caption(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = max(8, int(im.height * 0.08))
    font = _font(size)
    text = "WHEN YOU SEE IT"
    width = draw.textlength(text, font=font)
    stroke = max(1, size // 12)
    xy = ((im.width - width) / 2, im.height * 0.88 - size / 2)
    draw.text(xy, text, font=font, fill=(255, 255, 255), stroke_width=stroke, stroke_fill=0)
    return out


def watermark(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    base = im.convert("RGBA")
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(max(8, int(im.height * 0.07)))
    text = "@reposter"
    width = draw.textlength(text, font=font)
    draw.text(
        (im.width - width - im.width * 0.03, im.height * 0.87),
        text,
        font=font,
        fill=(255, 255, 255, 128),
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def emoji(size: float) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        x, y = (float(v) for v in rng.uniform(0, 1 - size, 2))
        if _augly is not None:
            return _augly.overlay_emoji(im, emoji_size=size, x_pos=x, y_pos=y)
        out = im.copy()
        draw = ImageDraw.Draw(out)
        r = size * min(im.size)
        cx, cy = x * im.width + r / 2, y * im.height + r / 2
        draw.ellipse([cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2], fill=(255, 204, 77))
        return out

    return edit


def brightness(factor: float) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        if _augly is not None:
            return _augly.brightness(im, factor=factor)
        return ImageEnhance.Brightness(im).enhance(factor)

    return edit


def contrast(factor: float) -> Edit:
    def edit(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        if _augly is not None:
            return _augly.contrast(im, factor=factor)
        return ImageEnhance.Contrast(im).enhance(factor)

    return edit


def web_screenshot(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    if _augly is None:
        raise RuntimeError("needs augly")
    return _augly.overlay_onto_screenshot(im)


#: name -> (edit, target match rate for keepdown with expansion or None, drawn by augly?)
EDITS: dict[str, tuple[Edit, float | None]] = {
    "jpeg q70": (jpeg(70), None),
    "jpeg q30": (jpeg(30), None),
    "resize 50%": (resize(0.5), None),
    "resize 25%": (resize(0.25), None),
    "crop 5%": (crop(0.05), 0.90),
    "crop 10%": (crop(0.10), 0.75),
    "crop 20%": (crop(0.20), None),
    "crop 10% centred": (crop(0.10, centred=True), None),
    "letterbox black": (pad(0.0, 0.12, (0, 0, 0)), 0.95),
    "letterbox white": (pad(0.0, 0.12, (255, 255, 255)), 0.95),
    "letterbox colour": (pad(0.0, 0.12, (40, 90, 160)), 0.95),
    "pillarbox grey": (pad(0.10, 0.0, (128, 128, 128)), 0.95),
    "blurred fill": (blurred_fill, 0.95),
    "screenshot padding dark": (screenshot_padding(True), None),
    "screenshot padding light": (screenshot_padding(False), None),
    "web screenshot": (web_screenshot, None),
    "rotate 2°": (rotate(2.0), None),
    "rotate 5°": (rotate(5.0), 0.75),
    "rotate 10°": (rotate(10.0), None),
    "rotate 5° canvas": (rotate(5.0, canvas=True), None),
    "mirror": (mirror, None),
    "overlay text": (overlay_text, 0.60),
    "caption": (caption, 0.60),
    "watermark": (watermark, 0.60),
    "emoji 15%": (emoji(0.15), None),
    "emoji 25%": (emoji(0.25), None),
    "brightness 1.3": (brightness(1.3), None),
    "contrast 1.5": (contrast(1.5), None),
}

#: Which implementation drew each edit.
SOURCES: dict[str, str] = {
    name: (
        "augly"
        if _augly is not None
        and not name.startswith(("blurred", "screenshot", "caption", "watermark", "rotate 5° c"))
        else "Pillow/numpy"
    )
    for name in EDITS
}
