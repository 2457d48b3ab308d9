"""Hashing one scanned item, in whichever process holds it, and the report row it becomes.

:func:`hash_payload` never raises for bad content: a corrupt, truncated, oversized or
unreadable item still gets a row, with the exact hashes when its bytes could be read and
``error`` saying what went wrong (``code: message``), so one bad file never stops a scan.

Videos are hashed (vPDQ, streamed from the file for a folder) only when the scan asks for it;
otherwise a video gets its file hashes and ``error`` says it was not hashed as video.

:func:`report_row` turns hashes and matches into the report's row (see :data:`FIELDS`): the
best match is shown (an exact match on a trusted bank first, then any exact match, then the
nearest), with how many matches there were in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepdown.errors import InvalidInput, KeepdownError
from keepdown.hashing import HashResult, hash_bytes, hash_file
from keepdown.hashing.exact import exact_hashes, exact_hashes_of_path
from keepdown.hashing.video import hash_video, looks_like_video
from keepdown.matching.views import best_match, verdict_of
from keepdown.scan.sources import Payload
from keepdown.settings import Settings

__all__ = ["CSV_FIELDS", "FIELDS", "HashOptions", "Hashed", "hash_payload", "report_row"]

#: Columns of a report row, in order (JSONL keys; CSV columns are :data:`CSV_FIELDS`).
FIELDS = (
    "path",
    "size",
    "media_type",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "quality",
    "frames",
    "match",
    "verdict",
    "bank",
    "entry_id",
    "signal_type",
    "match_type",
    "distance",
    "variant",
    "classification",
    "query_match_percent",
    "compared_match_percent",
    "matches",
    "error",
)
CSV_FIELDS = FIELDS


@dataclass(frozen=True, slots=True)
class HashOptions:
    """How a scan hashes: PDQ mode, rotations and mirrors, videos, robust query variants
    (set by the scan door from ``robust_doors``, :meth:`keepdown.matching.chain.MatchChain.
    wants_robust`)."""

    mode: str = "exact"
    dihedral: bool = True
    video: bool = False
    robust: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "dihedral": self.dihedral, "video": self.video}
        if self.robust:
            out["robust"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashOptions:
        return cls(
            str(data["mode"]),
            bool(data["dihedral"]),
            bool(data["video"]),
            bool(data.get("robust", False)),
        )

    def byte_limit(self, settings: Settings) -> int:
        """Most bytes loaded for one item from a source that is not a local file."""
        limit = settings.max_image_bytes
        return max(limit, settings.video_max_bytes) if self.video else limit


@dataclass(frozen=True, slots=True)
class Hashes:
    """The hashes of one item in a plain, picklable form (what crosses between processes and
    what the matcher reads: the same attribute names as a ``HashResult``)."""

    md5: Any
    sha1: Any
    sha256: Any
    size_bytes: int
    media_type: str | None = None
    pdq: Any = None
    quality: int | None = None
    dihedral: dict[str, Any] | None = None
    frames_vpdq: tuple[Any, ...] | None = None
    robust: dict[str, Any] | None = None  #: robust query variant -> PdqResult

    @classmethod
    def of(cls, result: HashResult) -> Hashes:
        dihedral = (
            {name: r.hash for name, r in result.dihedral.items()} if result.dihedral else None
        )
        return cls(
            md5=result.md5,
            sha1=result.sha1,
            sha256=result.sha256,
            size_bytes=result.size_bytes,
            media_type=result.media_type,
            pdq=result.pdq,
            quality=result.quality,
            dihedral=dihedral,
            frames_vpdq=getattr(result, "frames_vpdq", None),
            robust=dict(result.robust) if result.robust is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Hashed:
    """One item hashed (or not): what goes back to the process that matches and writes."""

    key: str
    size: int | None
    result: Hashes | None
    error: str | None


def _error(exc: KeepdownError) -> str:
    return f"{exc.code}: {exc.message}"


def hash_payload(
    key: str, payload: Payload | InvalidInput, settings: Settings, options: HashOptions
) -> Hashed:
    """Hash one item's payload (module docstring); never raises for bad content."""
    if isinstance(payload, InvalidInput):
        return Hashed(key, None, None, _error(payload))
    try:
        result = (
            _hash_path(payload, settings, options)
            if isinstance(payload, Path)
            else _hash_bytes(payload, settings, options)
        )
    except KeepdownError as exc:  # unreadable file: no hashes at all
        return Hashed(key, None, None, _error(exc))
    error = _error(result.pdq_error) if result.pdq_error is not None else None
    return Hashed(key, result.size_bytes, Hashes.of(result), error)


def _hash_path(path: Path, settings: Settings, options: HashOptions) -> HashResult:
    try:
        with path.open("rb") as stream:
            head = stream.read(512)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    if looks_like_video(head):
        if options.video:
            return hash_video(path, settings=settings)
        return _not_as_video(exact_hashes_of_path(path))
    return hash_file(
        path,
        settings=settings,
        mode=options.mode,
        dihedral=options.dihedral,
        robust=options.robust,
    )


def _hash_bytes(data: bytes, settings: Settings, options: HashOptions) -> HashResult:
    if looks_like_video(data[:512]) and not options.video:
        return _not_as_video(exact_hashes(data))
    return hash_bytes(
        data,
        settings=settings,
        mode=options.mode,
        dihedral=options.dihedral,
        robust=options.robust,
    )


def _not_as_video(exact: Any) -> HashResult:
    return HashResult(
        md5=exact.md5,
        sha1=exact.sha1,
        sha256=exact.sha256,
        size_bytes=exact.size_bytes,
        media_type="video",
        pdq_error=InvalidInput("video: file hashes only (scan with --video for vPDQ)"),
    )


def report_row(item: Hashed, matches: Sequence[Any]) -> dict[str, Any]:
    """The report row of one item and its matches (columns: :data:`FIELDS`)."""
    r = item.result
    best = best_match(matches)
    frames = getattr(r, "frames_vpdq", None)
    return {
        "path": item.key,
        "size": item.size,
        "media_type": r.media_type if r else None,
        "md5": r.md5.hex if r else None,
        "sha1": r.sha1.hex if r else None,
        "sha256": r.sha256.hex if r else None,
        "pdq": r.pdq.hex if r and r.pdq else None,
        "quality": r.quality if r else None,
        "frames": len(frames) if frames is not None else None,
        "match": best is not None,
        "verdict": str(verdict_of(matches)),
        "bank": best.bank if best else None,
        "entry_id": best.entry_id if best else None,
        "signal_type": best.signal_type if best else None,
        "match_type": best.match_type if best else None,
        "distance": best.distance if best else None,
        "variant": (best.variant or ("original" if best.signal_type == "pdq" else None))
        if best
        else None,
        "classification": best.classification if best else None,
        "query_match_percent": getattr(best, "query_match_percent", None),
        "compared_match_percent": getattr(best, "compared_match_percent", None),
        "matches": len(matches),
        "error": item.error,
    }
