"""Video hashing: file MD5/SHA-1/SHA-256 and vPDQ (a PDQ hash per sampled frame).

vPDQ is Meta's video hash: decode the video, take one frame every ``seconds_per_hash``
seconds, PDQ-hash each taken frame, and keep (hash, quality, frame number, timestamp). This is
keepdown's own implementation of it: frames decoded with PyAV (FFmpeg), hashed with
keepdown's exact PDQ (:func:`keepdown.hashing.pdq.pdq_from_rgb`, bit-identical to pdqhash on
the same pixels). No prebuilt ``vpdq`` wheel exists for this platform, so the reference is
not linked in; ``tests/hashing/test_video.py`` checks agreement with its published hashes.

Steps of :func:`hash_video`, as the reference does them:

1. exact hashes of the bytes (streamed for a path);
2. open the container, refuse it over ``video_max_bytes``, over ``video_max_seconds`` (as the
   header declares it) or with frames over ``video_max_pixels``;
3. frame rate = the stream's average rate (its ``r_frame_rate`` when that is unknown);
   every frame is decoded, and frame ``n`` (counted from 0 in decoding order) is hashed when
   ``n % max(1, int(seconds_per_hash * rate)) == 0`` (``seconds_per_hash`` 0: every frame);
4. each taken frame is converted to RGB24 (scaled to ``video_downsample`` square pixels with
   FFmpeg's area filter when set, as the reference's downsampling does), then PDQ-hashed;
   its timestamp is ``n / rate`` seconds;
5. stop at ``video_max_frames`` hashed frames or past ``video_max_seconds`` of decoded video
   (a header can lie): the result says so in ``pdq_error``. A corrupt or truncated stream
   keeps the frames decoded before the damage, with the error.

Bytes are decoded from memory: media is never written to disk.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from keepdown.errors import DecodeError, ImageTooLarge, InputTooLarge, InvalidInput
from keepdown.hashing import HashResult
from keepdown.hashing.exact import ExactHashes, exact_hashes, exact_hashes_of_path
from keepdown.hashing.pdq import pdq_from_rgb
from keepdown.hashing.types import VpdqFeature, VpdqHash
from keepdown.settings import Settings

__all__ = [
    "VIDEO_MEDIA_TYPES",
    "VideoFrame",
    "VideoHashResult",
    "VideoInfo",
    "VideoLimits",
    "hash_video",
    "iter_vpdq_frames",
    "looks_like_video",
    "video_demuxer",
]

#: FFmpeg demuxer names -> the media type reported.
VIDEO_MEDIA_TYPES: dict[str, str] = {
    "mov": "video/mp4",
    "mp4": "video/mp4",
    "matroska": "video/x-matroska",
    "webm": "video/webm",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "asf": "video/x-ms-asf",
}
_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis")


def video_demuxer(head: bytes) -> str | None:
    """The FFmpeg demuxer for a file's first bytes, or None when it is no video container
    keepdown reads (MP4/MOV, WebM/MKV, AVI, FLV, MPEG-TS/PS, ASF). HEIF/AVIF pictures share
    MP4's box format and are left out.

    FFmpeg is never left to probe the format itself: among its demuxers are playlists (HLS,
    concat) that open other files or URLs, so the demuxer is named from the bytes here.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return None if head[8:12] in _IMAGE_BRANDS else "mov"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"  # WebM is Matroska
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpegts"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    return None


def looks_like_video(head: bytes) -> bool:
    """True when the first bytes are those of a video container keepdown reads."""
    return video_demuxer(head) is not None


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """The limits and sampling of one video hashing run, from settings."""

    seconds_per_hash: float = 1.0
    downsample: int = 0
    max_bytes: int = 500 * 1024 * 1024
    max_seconds: float = 3600.0
    max_frames: int = 20_000
    max_pixels: int = 3840 * 2160

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoLimits:
        return cls(
            seconds_per_hash=settings.video_seconds_per_hash,
            downsample=settings.video_downsample,
            max_bytes=settings.video_max_bytes,
            max_seconds=settings.video_max_seconds,
            max_frames=settings.video_max_frames,
            max_pixels=settings.video_max_pixels,
        )


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One hashed frame: vPDQ's feature plus the frame number it came from."""

    frame: int
    feature: VpdqFeature


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about the video stream."""

    format: str
    media_type: str
    width: int
    height: int
    frame_rate: float
    duration_seconds: float | None


@dataclass(frozen=True, slots=True)
class VideoHashResult(HashResult):
    """A :class:`~keepdown.hashing.HashResult` for a video: ``pdq`` stays None; ``frames_vpdq``
    holds the hashed frames (vPDQ), ``vpdq`` the signal a bank stores."""

    frames_vpdq: tuple[VideoFrame, ...] = ()
    frame_rate: float | None = None
    duration_seconds: float | None = None

    @property
    def vpdq(self) -> VpdqHash:
        return VpdqHash(tuple(f.feature for f in self.frames_vpdq))

    @classmethod
    def build(
        cls,
        exact: ExactHashes,
        info: VideoInfo | None,
        frames: tuple[VideoFrame, ...],
        error: InvalidInput | None,
    ) -> VideoHashResult:
        return cls(
            md5=exact.md5,
            sha1=exact.sha1,
            sha256=exact.sha256,
            size_bytes=exact.size_bytes,
            media_type=info.media_type if info else None,
            format=info.format if info else None,
            width=info.width if info else None,
            height=info.height if info else None,
            pdq_error=error,
            frames_vpdq=frames,
            frame_rate=info.frame_rate if info else None,
            duration_seconds=info.duration_seconds if info else None,
        )

    def to_dict(self) -> dict[str, Any]:
        data = HashResult.to_dict(self)
        data["frame_rate"] = self.frame_rate
        data["duration_seconds"] = self.duration_seconds
        data["vpdq"] = [
            {
                "frame": f.frame,
                "pdq": f.feature.hash.hex,
                "quality": f.feature.quality,
                "timestamp": f.feature.timestamp,
            }
            for f in self.frames_vpdq
        ]
        return data


def hash_video(
    source: bytes | str | os.PathLike[str],
    *,
    settings: Settings,
    limits: VideoLimits | None = None,
    exact: ExactHashes | None = None,
) -> VideoHashResult:
    """Exact hashes and vPDQ of a video (bytes or a path).

    Never raises for a bad video: ``pdq_error`` says what went wrong and ``vpdq`` holds the
    frames hashed before it. A path that cannot be read raises like :func:`hash_file`.
    """
    limits = limits or VideoLimits.from_settings(settings)
    exact = exact or _exact(source)
    frames: list[VideoFrame] = []
    info: VideoInfo | None = None
    error: InvalidInput | None = None
    try:
        if exact.size_bytes > limits.max_bytes:
            raise InputTooLarge(
                f"video is {exact.size_bytes} bytes, over the {limits.max_bytes}-byte limit "
                "(video_max_bytes): exact hashes only",
                size_bytes=exact.size_bytes,
                limit=limits.max_bytes,
            )
        with _open(source) as container:
            info = _info(container, limits)
            for frame in iter_vpdq_frames(container, info, limits):
                frames.append(frame)
    except (DecodeError, InputTooLarge) as exc:
        error = exc
    return VideoHashResult.build(exact, info, tuple(frames), error)


def _exact(source: bytes | str | os.PathLike[str]) -> ExactHashes:
    if isinstance(source, bytes | bytearray | memoryview):
        return exact_hashes(source)
    return exact_hashes_of_path(source)


class _open:  # noqa: N801 - used as a context manager, reads like a function
    """``av.open`` on bytes or a path, with FFmpeg's errors turned into DecodeError."""

    def __init__(self, source: bytes | str | os.PathLike[str]) -> None:
        self.source: BinaryIO | str = (
            io.BytesIO(bytes(source))
            if isinstance(source, bytes | bytearray | memoryview)
            else os.fspath(source)
        )
        self.container: Any = None

    def _head(self) -> bytes:
        if isinstance(self.source, str):
            with open(self.source, "rb") as stream:
                return stream.read(512)
        head = self.source.read(512)
        self.source.seek(0)
        return head

    def __enter__(self) -> Any:
        import av

        demuxer = video_demuxer(self._head())
        if demuxer is None:
            raise DecodeError("not a video container keepdown reads (MP4, WebM, MKV, AVI...)")
        try:
            self.container = av.open(
                self.source, mode="r", format=demuxer, metadata_errors="ignore"
            )
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise DecodeError(f"not a readable video: {_reason(exc)}") from exc
        return self.container

    def __exit__(self, *exc: object) -> None:
        if self.container is not None:
            self.container.close()


def _info(container: Any, limits: VideoLimits) -> VideoInfo:
    if not container.streams.video:
        raise DecodeError("the file has no video stream")
    stream = container.streams.video[0]
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if width <= 0 or height <= 0:
        raise DecodeError("the video stream has no frame size")
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"video frames are {width}x{height}, over the {limits.max_pixels}-pixel limit "
            "(video_max_pixels)",
            width=width,
            height=height,
            limit=limits.max_pixels,
        )
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or float(rate) <= 0:
        raise DecodeError("the video stream has no frame rate")
    duration = _duration(container, stream)
    if duration is not None and duration > limits.max_seconds:
        raise InputTooLarge(
            f"video lasts {duration:.1f} s, over the {limits.max_seconds:.0f} s limit "
            "(video_max_seconds)",
            duration_seconds=round(duration, 3),
            limit=limits.max_seconds,
        )
    name = str(container.format.name).split(",")[0]
    return VideoInfo(
        format=name,
        media_type=VIDEO_MEDIA_TYPES.get(name, "video/unknown"),
        width=width,
        height=height,
        frame_rate=float(rate),
        duration_seconds=duration,
    )


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def iter_vpdq_frames(container: Any, info: VideoInfo, limits: VideoLimits) -> Iterator[VideoFrame]:
    """Decode every frame, hash the sampled ones (module docstring, steps 3-5)."""
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # FFmpeg's own frame/slice threads: same pixels, faster
    every = max(1, int(limits.seconds_per_hash * info.frame_rate))
    size = limits.downsample or None
    taken = 0
    number = -1
    try:
        for frame in container.decode(stream):
            number += 1
            timestamp = number / info.frame_rate
            if timestamp > limits.max_seconds:
                raise InputTooLarge(
                    f"video runs past {limits.max_seconds:.0f} s (video_max_seconds): "
                    f"hashed the first {taken} frames",
                    limit=limits.max_seconds,
                )
            if number % every:
                continue
            if taken >= limits.max_frames:
                raise InputTooLarge(
                    f"video has more than {limits.max_frames} frames to hash "
                    "(video_max_frames): hashed the first ones",
                    limit=limits.max_frames,
                )
            rgb = frame.to_ndarray(format="rgb24", width=size, height=size, interpolation="AREA")
            result = pdq_from_rgb(rgb)
            taken += 1
            feature = VpdqFeature(result.hash, result.quality, round(timestamp, 3))
            yield VideoFrame(number, feature)
    except av.FFmpegError as exc:
        raise DecodeError(
            f"video is corrupt or truncated after {number} frames: {_reason(exc)}"
        ) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text[:200]
