"""Safe image decoding: hostile bytes in, an RGB pixel array or a clear error out.

Steps for every image:

1. Refuse empty input and input over ``settings.max_image_bytes`` (:class:`InputTooLarge`).
2. Let Pillow identify the format from the bytes, restricted to :data:`ALLOWED_FORMATS`
   (the file name and any served content type are never trusted). Text or HTML served in
   place of an image is named as such.
3. Read the size from the header and refuse anything over ``settings.max_image_pixels``
   (:class:`ImageTooLarge`) *before* a single pixel is allocated; Pillow's own
   decompression-bomb check is kept on and its warning turned into the same error.
4. Decode fully; a truncated or corrupt file is a :class:`DecodeError` with Pillow's reason
   (truncated images are never silently padded).
5. Convert whatever mode the file has to 8-bit RGB (:func:`to_rgb`), optionally after
   applying the EXIF orientation (``settings.apply_exif_orientation``, off by default).

Animated images (GIF, WebP, APNG) and multi-page TIFFs yield their first frame by default;
:func:`iter_frames` yields each frame in turn, at most ``settings.max_gif_frames``, so memory
stays at one frame whatever the frame count.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image, ImageFile, ImageOps

from keepdown.errors import ConfigurationError, DecodeError, ImageTooLarge, InputTooLarge
from keepdown.settings import Settings, process_settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What decoding reads of the settings, and nothing else: the four limits every decode
    checks. Built once per settings object (:meth:`from_settings`) or once per process
    (:func:`process_limits`), so a decode never reads the environment or the settings bag."""

    max_bytes: int  #: ``max_image_bytes``
    max_pixels: int  #: ``max_image_pixels``
    max_frames: int  #: ``max_gif_frames``
    exif_orientation: bool  #: ``apply_exif_orientation``

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeLimits:
        return cls(
            max_bytes=settings.max_image_bytes,
            max_pixels=settings.max_image_pixels,
            max_frames=settings.max_gif_frames,
            exif_orientation=settings.apply_exif_orientation,
        )


@functools.cache
def process_limits() -> DecodeLimits:
    """The decode limits of this process's settings (:func:`keepdown.settings.process_settings`,
    read once)."""
    return DecodeLimits.from_settings(process_settings())


__all__ = [
    "ALLOWED_FORMATS",
    "MEDIA_TYPES",
    "DecodeLimits",
    "DecodedImage",
    "ImageInfo",
    "decode_image",
    "decode_small",
    "iter_frames",
    "probe_image",
    "process_limits",
    "to_rgb",
]

#: Pillow format names keepdown decodes, with the media type reported for each.
MEDIA_TYPES: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
ALLOWED_FORMATS: tuple[str, ...] = tuple(MEDIA_TYPES)

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
#: Pixels converted at a time by :func:`to_rgb` (a strip of rows): 4 MiB of RGB.
STRIP_PIXELS = 1 << 20


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image's header says, read without decoding any pixel."""

    format: str  #: Pillow's format name, e.g. ``"JPEG"``
    width: int
    height: int
    source_mode: str  #: Pillow mode before conversion, e.g. ``"CMYK"``, ``"P"``
    animated: bool  #: more than one frame (GIF, WebP, APNG) or page (TIFF)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """The first frame of an image as RGB pixels, with its header information."""

    info: ImageInfo
    rgb: np.ndarray  #: H x W x 3 uint8, C-contiguous


def probe_image(data: bytes, *, limits: DecodeLimits | None = None) -> ImageInfo:
    """Steps 1-3 only: identify the image and check its limits, decoding no pixel."""
    with _open(data, limits or process_limits()) as im:
        return _info(im)


def decode_image(data: bytes, *, limits: DecodeLimits | None = None) -> DecodedImage:
    """Decode the first frame of ``data`` to RGB within the configured limits."""
    limits = limits or process_limits()
    with _open(data, limits) as im:
        info = _info(im)
        return DecodedImage(info=info, rgb=_frame_rgb(im, limits))


def decode_small(data: bytes, max_side: int, *, limits: DecodeLimits | None = None) -> np.ndarray:
    """The first frame of ``data`` as RGB, shrunk to at most ``max_side`` pixels a side (a
    preview's pixels), within the same limits as :func:`decode_image`.

    A JPEG is decoded at reduced DCT scale (``draft``: libjpeg-turbo skips most of the work
    and memory) and the picture shrunk before it is converted, so memory holds the decoded
    picture once (less for a JPEG) and small copies only."""
    limits = limits or process_limits()
    side = max(1, max_side)
    with _open(data, limits) as im:
        if im.format == "JPEG":
            _pillow_call(lambda: im.draft("RGB", (side, side)), "reduced JPEG decode")
        _pillow_call(im.load, "pixel data")
        frame: Image.Image = im
        if limits.exif_orientation:
            frame = _pillow_call(lambda: ImageOps.exif_transpose(im), "EXIF orientation")
        small = _pillow_call(lambda: _shrunk(frame, side), "shrinking")
        return _pillow_call(lambda: to_rgb(small), f"{small.mode} to RGB conversion")


def _shrunk(im: Image.Image, side: int) -> Image.Image:
    """``im`` within ``side`` x ``side`` (LANCZOS, after a cheap box reduction), in a mode
    Pillow resamples: palettes and other colour spaces are converted first, wide greys
    (16-bit, ``I``, ``F``) to 8-bit a strip at a time as :func:`to_rgb` does."""
    if max(im.size) <= side:
        return im
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        stretch = _wide_range(im)
        grey = Image.new("L", im.size)
        rows = max(1, STRIP_PIXELS // max(1, im.width))
        for top in range(0, im.height, rows):
            strip = im.crop((0, top, im.width, min(im.height, top + rows)))
            grey.paste(_wide_to_l(strip, stretch), (0, top))
        im = grey
    elif mode in ("PA", "RGBa"):
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")
    else:
        im = im.copy()  # thumbnail works in place; the opened image stays as it was
    im.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im


def _info(im: Image.Image) -> ImageInfo:
    return ImageInfo(
        format=str(im.format),
        width=im.width,
        height=im.height,
        source_mode=im.mode,
        # Not n_frames: counting walks every frame header, ~6 us each, so a 50 MB GIF of
        # tiny frames would cost seconds before the first pixel; is_animated reads one.
        animated=bool(_pillow_call(lambda: getattr(im, "is_animated", False), "frame count")),
    )


def iter_frames(data: bytes, *, limits: DecodeLimits | None = None) -> Iterator[np.ndarray]:
    """Yield every frame of ``data`` as RGB, at most ``max_gif_frames`` of them.

    Frames are decoded one at a time (Pillow composes each GIF frame onto the previous ones,
    as a browser shows it), so memory holds one frame whatever the animation's length.
    """
    limits = limits or process_limits()
    with _open(data, limits) as im:
        for index in range(limits.max_frames):
            if index and not _pillow_call(functools.partial(_seek, im, index), f"frame {index}"):
                return
            yield _frame_rgb(im, limits)


def _seek(im: Image.Image, index: int) -> bool:
    """Move to frame ``index``; False past the last frame (Pillow signals it by EOFError)."""
    try:
        im.seek(index)
    except EOFError:
        return False
    return True


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode as an H x W x 3 uint8 array.

    Alpha is dropped, keeping the stored colour under it, as Meta's reference tools,
    pdqhash and python-threatexchange do: compositing onto a background moves a partly
    transparent test image 46-68 bits away from the hash those tools publish (see
    docs/hashing.md). Deeper-than-8-bit greys are scaled, not clipped (:func:`_wide_to_l`).

    The array is filled a strip of rows at a time (:data:`STRIP_PIXELS` pixels), each strip
    converted on its own: every conversion here works pixel by pixel, so the result is the
    same as converting the whole picture, but memory holds the picture once in Pillow and
    once in the array, never a whole converted copy nor Pillow's whole ``tobytes()`` (which
    builds its bytes twice over): 7 bytes a pixel at most instead of 11 to 15.
    """
    width, height = im.size
    out = np.empty((height, width, 3), np.uint8)
    stretch = _wide_range(im)
    rows = max(1, STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows)))
        out[top : top + strip.height] = _strip_rgb(strip, stretch)
    return out


def _strip_rgb(im: Image.Image, stretch: tuple[float, float] | None) -> np.ndarray:
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        im = _wide_to_l(im, stretch)
    elif mode in ("PA", "RGBa"):
        # Pillow has no direct path to RGB; RGBA keeps (or un-premultiplies) the colour.
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def _wide_range(im: Image.Image) -> tuple[float, float] | None:
    """The value range :func:`_wide_to_l` maps to 0-255 for ``I`` and ``F`` pictures, read
    from the whole picture (a strip alone would stretch its own range), NaN and infinities
    counted as 0 as :func:`_wide_to_l` counts them; a strip at a time."""
    if im.mode not in ("I", "F"):
        return None
    width, height = im.size
    rows = max(1, STRIP_PIXELS // max(1, width))
    low, high = np.inf, -np.inf
    for top in range(0, height, rows):
        values = np.asarray(im.crop((0, top, width, min(height, top + rows))), np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    return low, high


def _wide_to_l(im: Image.Image, stretch: tuple[float, float] | None = None) -> Image.Image:
    """16-bit, 32-bit integer and float greys as 8-bit L.

    Pillow's own conversion clips these at 255, which turns a 16-bit photo almost white.
    16-bit images keep their full range (value >> 8, what a viewer shows). ``F`` images in
    0-1 are scaled by 255. ``I`` and ``F`` images holding 0-255 values (Pillow's convention)
    are rounded as they are; any other range is stretched linearly from its minimum to its
    maximum (PDQ barely moves under such a linear change of brightness). ``stretch`` is the
    whole picture's (minimum, maximum) when ``im`` is a strip of it.
    """
    values = np.asarray(im)
    if im.mode in _SIXTEEN_BIT_MODES:
        grey = (values.astype(np.uint32) >> 8).astype(np.uint8)
        return Image.fromarray(grey, "L")
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = stretch if stretch is not None else (float(values.min()), float(values.max()))
    if im.mode == "F" and low >= 0.0 and high <= 1.0:
        values = values * 255.0  # the usual 0-1 float convention
    elif low < 0.0 or high > 255.0:
        span = high - low
        values = (values - low) * (255.0 / span) if span else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


@contextmanager
def _open(data: bytes, limits: DecodeLimits) -> Iterator[Image.Image]:
    """Steps 1-3: check bytes, identify the format, check pixels; the image is closed after."""
    _check_bytes(data, limits)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in this process switched on Pillow's padding of truncated files; we would
        # hash grey padding as if it were the picture, so refuse rather than guess.
        raise ConfigurationError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: truncated images would hash wrongly"
        )
    limit = limits.max_pixels
    _align_pillow_limit(limit)
    im = _pillow_call(
        lambda: Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS), "image header", data
    )
    try:
        _check_pixels(im.width, im.height, limit)
        yield im
    finally:
        im.close()


def _frame_rgb(im: Image.Image, limits: DecodeLimits) -> np.ndarray:
    """Steps 3-5 for the current frame (TIFF pages may each have their own size)."""
    _check_pixels(im.width, im.height, limits.max_pixels)
    _pillow_call(im.load, "pixel data")
    frame: Image.Image = im
    if limits.exif_orientation:
        frame = _pillow_call(lambda: ImageOps.exif_transpose(im), "EXIF orientation")
    return _pillow_call(lambda: to_rgb(frame), f"{im.mode} to RGB conversion")


def _check_bytes(data: bytes, limits: DecodeLimits) -> None:
    if not data:
        raise DecodeError("empty input: no image bytes")
    if len(data) > limits.max_bytes:
        raise InputTooLarge(
            f"image is {len(data)} bytes, over the {limits.max_bytes}-byte limit (max_image_bytes)",
            size_bytes=len(data),
            limit=limits.max_bytes,
        )


def _check_pixels(width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise DecodeError(f"image has no pixels ({width}x{height})")
    if width * height > limit:
        raise ImageTooLarge(
            f"image is {width}x{height} = {width * height} pixels, over the {limit}-pixel "
            "limit (max_image_pixels); refused before decoding",
            width=width,
            height=height,
            limit=limit,
        )


def _align_pillow_limit(limit: int) -> None:
    """Keep Pillow's process-wide bomb limit on, and never below ours.

    Pillow warns above ``MAX_IMAGE_PIXELS`` and refuses above twice that, during
    ``Image.open``. If its limit were lower than ours it would refuse images our settings
    allow, so we raise it to ours; we never lower it (another setting in this process may
    want more) and never switch it off. Anything it flags is over our limit too.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < limit:
        Image.MAX_IMAGE_PIXELS = limit


def _pillow_call(call: Callable[[], T], what: str, data: bytes | None = None) -> T:
    """Run one Pillow call, turning whatever it raises on bad input into our errors.

    Pillow's plugins raise many kinds of exception on malformed input (OSError,
    SyntaxError, ValueError, struct.error, EOFError, IndexError, ...), so every
    ``Exception`` from this narrow call is a decode failure of the input, never a crash.
    """
    try:
        # Pillow warns about damage it can read past (corrupt EXIF...): the pixels are what we
        # hash, so those warnings are dropped rather than leaked into the caller's log, and
        # a bomb warning becomes an error. catch_warnings swaps the process-wide filter list
        # for the duration of this one call.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return call()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"decompression bomb refused before decoding: {exc}") from exc
    except (DecodeError, ConfigurationError, InputTooLarge):
        raise
    except MemoryError as exc:
        raise ImageTooLarge(f"not enough memory to decode the {what}") from exc
    except Exception as exc:
        raise DecodeError(_reason(exc, what, data), reason=type(exc).__name__) from exc


def _reason(exc: Exception, what: str, data: bytes | None) -> str:
    if isinstance(exc, Image.UnidentifiedImageError) and data is not None:
        head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith(b"<"):
            return "not an image: the bytes look like HTML or XML (a web page served as an image?)"
        allowed = ", ".join(ALLOWED_FORMATS)
        return f"not a recognised image format (keepdown decodes {allowed})"
    return f"cannot decode {what}: {exc}"
