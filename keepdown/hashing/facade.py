"""The hashing facade: :func:`hash_bytes` and :func:`hash_file`, bytes or a file to every hash.

Steps:

1. Exact hashes (MD5, SHA-1, SHA-256) of the bytes, always: they match on any file, image
   or not. A file is streamed in fixed chunks when it is over the image byte limit.
2. Decode the image within the limits of :mod:`keepdown.hashing.decode` (a video goes to
   :mod:`keepdown.hashing.video` instead).
3. PDQ hash and quality of the first frame; on request the 8 rotations and mirrors
   (``dihedral=True``), a PDQ per frame of an animated image (``all_frames=True``) and the
   robust query variants (``robust=True``: trimmed, un-cropped, turned back; from the same
   decoded pixels, :mod:`keepdown.hashing.robust`). Never for bank entries.

Step 2 draws on the process's decode budget (:mod:`keepdown.hashing.budget`): the header is
read first, the decode's peak memory estimated and held until the hashes are done, so the
pictures decoded at once never hold more than ``hash_memory_budget_bytes``. ``wait`` bounds
the time a call waits for its share (then :class:`~keepdown.errors.Overloaded`, the one
error these functions raise for a readable input); the default waits as long as it takes.

When step 2 fails (not an image, corrupt, truncated, too large) the result still carries the
exact hashes, ``pdq`` is ``None`` and ``pdq_error`` holds the error from the error tree: a
scan wants the exact hashes of every file and to hear why a picture could not be hashed.
Only a file that cannot be read at all raises.

``mode="exact"`` gives PDQ hashes bit-identical to the reference (pdqhash on Pillow's
decode; JPEGs are decoded by libjpeg-turbo straight into the pixel array, the same pixels
without Pillow's copy: 3 bytes a pixel instead of 7). ``mode="fast"`` hashes JPEGs through a
reduced-scale decode (a few bits of drift, several times faster) and falls back to exact for
other formats. **Bank entries are always hashed in exact mode.**
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from types import MappingProxyType
from typing import Any, BinaryIO, Literal

import numpy as np

from keepdown.errors import (
    DecodeError,
    ImageTooLarge,
    InputTooLarge,
    InvalidInput,
    NotFound,
    UsageError,
)
from keepdown.hashing import budget
from keepdown.hashing.decode import (
    DecodeLimits,
    ImageInfo,
    decode_image,
    iter_frames,
    probe_image,
    process_limits,
)
from keepdown.hashing.exact import ExactHasher, ExactHashes, exact_hashes
from keepdown.hashing.fast import (
    decode_jpeg_rgb,
    decode_jpeg_scaled,
    jpeg_scale,
    jpeg_size,
    scale_aware_64x64,
)
from keepdown.hashing.pdq import (
    PdqResult,
    dihedral_from_64x64,
    is_jpeg,
    pdq_dihedral_from_rgb,
    pdq_from_64x64,
    pdq_from_rgb,
)
from keepdown.hashing.plane import plane_from_rgb, plane_from_scaled
from keepdown.hashing.robust import CATALOGUE, DEFAULT_VARIANTS, robust_hashes
from keepdown.hashing.types import Md5, PdqHash, Sha1, Sha256
from keepdown.settings import Settings, process_settings

__all__ = ["HashMode", "HashResult", "hash_bytes", "hash_file"]

HashMode = Literal["exact", "fast"]


@dataclass(frozen=True, slots=True)
class HashResult:
    """Every hash of one input. Exact hashes are always set; the PDQ fields when decodable.

    ``mode`` is the PDQ path that actually ran: ``"fast"`` only for a JPEG hashed through
    the fast path. ``frames`` (when asked) holds one PDQ per frame, the first being ``pdq``.
    ``robust`` (when asked) maps each robust query variant's name to its PDQ: for matching
    a query only, never to be stored as a bank entry.
    """

    md5: Md5
    sha1: Sha1
    sha256: Sha256
    size_bytes: int
    mode: HashMode = "exact"
    pdq: PdqHash | None = None
    quality: int | None = None
    dihedral: Mapping[str, PdqResult] | None = None
    frames: tuple[PdqResult, ...] | None = None
    robust: Mapping[str, PdqResult] | None = None
    media_type: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    pdq_error: InvalidInput | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: hashes as lowercase hex, the error as its ``to_dict()``."""
        return {
            "size_bytes": self.size_bytes,
            "md5": self.md5.hex,
            "sha1": self.sha1.hex,
            "sha256": self.sha256.hex,
            "pdq": self.pdq.hex if self.pdq else None,
            "quality": self.quality,
            "mode": self.mode,
            "media_type": self.media_type,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "dihedral": (
                {name: _pdq_dict(r) for name, r in self.dihedral.items()}
                if self.dihedral is not None
                else None
            ),
            "frames": [_pdq_dict(r) for r in self.frames] if self.frames is not None else None,
            "robust": (
                {name: _pdq_dict(r) for name, r in self.robust.items()}
                if self.robust is not None
                else None
            ),
            "pdq_error": self.pdq_error.to_dict() if self.pdq_error else None,
        }


Robust = bool | Iterable[str]


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What to compute besides the exact hashes and the main PDQ."""

    dihedral: bool = False
    all_frames: bool = False
    robust: tuple[str, ...] | None = None  # variant names, None for none
    wait: float | None = None  # seconds to wait for the decode budget; None: no limit


def hash_bytes(
    data: bytes,
    *,
    settings: Settings | None = None,
    mode: str = "exact",
    dihedral: bool = False,
    all_frames: bool = False,
    robust: Robust = False,
    wait: float | None = None,
) -> HashResult:
    """Exact hashes of ``data`` and, when it is a decodable image, its PDQ hash.

    Never raises for undecodable media: see ``pdq_error``. Use ``mode="exact"`` (the
    default) for anything that goes into a bank. Pass ``settings`` when hashing in a loop.
    ``robust`` asks for the robust query variants: True for the default set, or their names.
    ``wait``: seconds to wait for the decode budget at most (module docstring).
    """
    checked = _check_mode(mode)
    wanted = _wanted(dihedral, all_frames, robust, wait)
    return _result(exact_hashes(data), data, _Limits.of(settings), checked, wanted)


def hash_file(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    settings: Settings | None = None,
    mode: str = "exact",
    dihedral: bool = False,
    all_frames: bool = False,
    robust: Robust = False,
    wait: float | None = None,
) -> HashResult:
    """Like :func:`hash_bytes` for a path or a binary file object (read to its end).

    At most ``max_image_bytes + 1`` bytes are held in memory: a larger input is streamed
    through the exact hashes in chunks and reported with ``pdq_error`` = InputTooLarge.
    A missing path raises :class:`NotFound`; an unreadable one :class:`InvalidInput`.
    """
    checked = _check_mode(mode)
    wanted = _wanted(dihedral, all_frames, robust, wait)
    limits = _Limits.of(settings)
    if not isinstance(source, str | os.PathLike):
        return _hash_stream(source, limits, checked, wanted)
    try:
        with open(source, "rb") as stream:
            return _hash_stream(stream, limits, checked, wanted)
    except FileNotFoundError as exc:
        raise NotFound(f"no such file: {os.fspath(source)}", path=os.fspath(source)) from exc
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {os.fspath(source)}: {exc.strerror or exc}", path=os.fspath(source)
        ) from exc


@dataclass(frozen=True, slots=True)
class _Limits:
    """The settings one hashing call reads: the decode limits for pictures, and the whole
    settings only for a video (its own limits are built from them in video.py)."""

    settings: Settings
    decode: DecodeLimits

    @classmethod
    def of(cls, settings: Settings | None) -> _Limits:
        if settings is None:  # the process's own, read once (no environment read per call)
            return cls(process_settings(), process_limits())
        return cls(settings, DecodeLimits.from_settings(settings))


def _wanted(dihedral: bool, all_frames: bool, robust: Robust, wait: float | None) -> _Wanted:
    if robust is True:
        names: tuple[str, ...] | None = DEFAULT_VARIANTS
    elif robust is False:
        names = None
    else:
        names = tuple(robust)
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown:
            raise UsageError(f"unknown robust variant {unknown[0]!r}", variant=unknown[0])
    return _Wanted(dihedral=dihedral, all_frames=all_frames, robust=names, wait=wait)


def _hash_stream(stream: BinaryIO, limits: _Limits, mode: HashMode, wanted: _Wanted) -> HashResult:
    limit = limits.decode.max_bytes
    head = stream.read(limit + 1)
    if len(head) <= limit:
        return _result(exact_hashes(head), head, limits, mode, wanted)
    hasher = ExactHasher()
    hasher.update(head)
    del head  # only the exact hashes need the rest: keep memory at one chunk from here on
    while chunk := stream.read(1024 * 1024):
        hasher.update(chunk)
    exact = hasher.result()
    error = InputTooLarge(
        f"file is {exact.size_bytes} bytes, over the {limit}-byte image limit "
        "(max_image_bytes): exact hashes only",
        size_bytes=exact.size_bytes,
        limit=limit,
    )
    return _exact_only(exact, error)


def _result(
    exact: ExactHashes, data: bytes, limits: _Limits, mode: HashMode, wanted: _Wanted
) -> HashResult:
    from keepdown.hashing.video import hash_video, looks_like_video

    if looks_like_video(data[:512]):  # a video is never an image: vPDQ instead (video.py)
        return hash_video(data, settings=limits.settings, exact=exact)
    decode = limits.decode
    try:
        if mode == "fast" and not decode.exif_orientation and is_jpeg(data):
            try:
                return _fast(exact, data, decode, wanted)
            except ImageTooLarge:
                raise
            except DecodeError:
                pass  # a JPEG the fast decoder cannot read (e.g. CMYK): Pillow may decode it
        return _exact(exact, data, decode, wanted)
    except (DecodeError, InputTooLarge) as exc:
        return _exact_only(exact, exc)


def _exact(exact: ExactHashes, data: bytes, limits: DecodeLimits, wanted: _Wanted) -> HashResult:
    info = probe_image(data, limits=limits)  # header only: format, size, limits
    direct = _direct_jpeg(data, info, limits)
    cost = budget.decode_cost(info.width, info.height, None if direct else info.source_mode)
    with budget.process_budget().hold(cost, wait=wanted.wait):
        rgb = _jpeg_rgb(data, limits) if direct else None
        if rgb is None:
            decoded = decode_image(data, limits=limits)
            info, rgb = decoded.info, decoded.rgb
            del decoded  # the pixels only: Pillow's image is closed already
        variants = pdq_dihedral_from_rgb(rgb) if wanted.dihedral else None
        main = variants["original"] if variants else pdq_from_rgb(rgb)
        frames = None
        if wanted.all_frames:
            later = islice(iter_frames(data, limits=limits), 1, None)
            frames = (main, *(pdq_from_rgb(pixels) for pixels in later))
        robust = None
        if wanted.robust is not None:
            robust = robust_hashes(plane_from_rgb(rgb), wanted.robust)
        del rgb
    return _image_result(exact, info, "exact", main, (variants, frames, robust))


def _direct_jpeg(data: bytes, info: ImageInfo, limits: DecodeLimits) -> bool:
    """True for a JPEG libjpeg-turbo decodes to Pillow's very pixels (YCbCr or grey, no EXIF
    turn asked): straight into the array, without Pillow's image and copy."""
    if info.format != "JPEG" or limits.exif_orientation:
        return False
    try:
        jpeg_size(data, max_pixels=limits.max_pixels)
    except DecodeError:  # CMYK, YCCK: Pillow converts them as the reference does
        return False
    return True


def _jpeg_rgb(data: bytes, limits: DecodeLimits) -> np.ndarray | None:
    """A JPEG's pixels from libjpeg-turbo; None when it cannot read them, so that Pillow
    gives its own reason for a damaged file."""
    try:
        return decode_jpeg_rgb(data, max_pixels=limits.max_pixels)
    except ImageTooLarge:
        raise
    except DecodeError:
        return None


def _fast(exact: ExactHashes, data: bytes, limits: DecodeLimits, wanted: _Wanted) -> HashResult:
    info = probe_image(data, limits=limits)  # header only: format, size, limits
    height, width = jpeg_size(data, max_pixels=limits.max_pixels)
    scale = jpeg_scale(height, width)
    cost = budget.decode_cost(-(-width // scale), -(-height // scale), None, rgb_array=False)
    with budget.process_budget().hold(cost, wait=wanted.wait):
        scaled = decode_jpeg_scaled(data, max_pixels=limits.max_pixels)
        if scaled is not None:
            pixels, height, width = scaled
            luma = pixels[..., 0]
            buf = scale_aware_64x64(luma, height, width)
            variants = dihedral_from_64x64(buf) if wanted.dihedral else None
            main = variants["original"] if variants else pdq_from_64x64(buf)
            frames = (main,) if wanted.all_frames else None  # a JPEG has one frame
            robust = None
            if wanted.robust is not None:
                robust = robust_hashes(plane_from_scaled(luma, height, width), wanted.robust)
            return _image_result(exact, info, "fast", main, (variants, frames, robust))
    # smaller than the reference hashes: exact mode says so the same way
    return _exact(exact, data, limits, wanted)


_Extras = tuple[
    Mapping[str, PdqResult] | None, tuple[PdqResult, ...] | None, Mapping[str, PdqResult] | None
]


def _image_result(
    exact: ExactHashes, info: ImageInfo, mode: HashMode, main: PdqResult, extras: _Extras
) -> HashResult:
    variants, frames, robust = extras
    return HashResult(
        md5=exact.md5,
        sha1=exact.sha1,
        sha256=exact.sha256,
        size_bytes=exact.size_bytes,
        mode=mode,
        pdq=main.hash,
        quality=main.quality,
        dihedral=MappingProxyType(dict(variants)) if variants is not None else None,
        frames=frames,
        robust=MappingProxyType(dict(robust)) if robust is not None else None,
        media_type=info.media_type,
        format=info.format,
        width=info.width,
        height=info.height,
    )


def _exact_only(exact: ExactHashes, error: InvalidInput) -> HashResult:
    return HashResult(
        md5=exact.md5,
        sha1=exact.sha1,
        sha256=exact.sha256,
        size_bytes=exact.size_bytes,
        pdq_error=error,
    )


def _pdq_dict(result: PdqResult) -> dict[str, Any]:
    return {"pdq": result.hash.hex, "quality": result.quality}


def _check_mode(mode: str) -> HashMode:
    if mode == "exact":
        return "exact"
    if mode == "fast":
        return "fast"
    raise UsageError(f"unknown hash mode {mode!r}; expected 'exact' or 'fast'", mode=mode)
