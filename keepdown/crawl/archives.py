"""Images inside ZIP archives, read in memory within hard limits.

A ZIP linked from a page is opened from its bytes (never from disk) and its image entries are
yielded one at a time. The archive is refused as a whole, with :class:`InputTooLarge`, before
any entry is inflated when its directory lists more than ``max_entries`` entries or declares
more than ``max_total_bytes`` uncompressed; a single entry is refused when it declares more than
``max_entry_bytes`` or a compression ratio above ``max_ratio`` (a zip bomb). Inflation stops at
the declared size (zipfile checks the CRC), so a lying directory cannot blow past the limits. Nested
archives, encrypted and non-image entries are skipped (counted in :class:`ArchiveReport`).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.sniff import is_image, sniff
from keepdown.errors import InputTooLarge, InvalidInput

__all__ = ["ArchiveLimits", "ArchiveReport", "iter_archive_images"]


# What a damaged entry raises while inflating (corrupt deflate data, bad CRC, odd methods...).
_ENTRY_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    zlib.error,
)


@dataclass
class ArchiveReport:
    """What was skipped and why (entry name -> reason)."""

    skipped: dict[str, str] = field(default_factory=dict)


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.LargeZipFile, *_ENTRY_ERRORS) as exc:
        raise InvalidInput(f"not a readable ZIP archive: {exc}") from exc


def _check_directory(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_entries:
        raise InputTooLarge(
            f"ZIP archive lists {len(infos)} entries, more than {limits.max_entries}",
            entries=len(infos),
        )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_bytes:
        raise InputTooLarge(
            f"ZIP archive declares {declared} uncompressed bytes, more than "
            f"{limits.max_total_bytes}",
            uncompressed=declared,
        )


def _entry_refusal(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    if info.is_dir():
        return "directory"
    return limits.refusal(
        size=info.file_size, packed=info.compress_size, encrypted=bool(info.flag_bits & 0x1)
    )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes: zipfile stops inflating at the declared size, which we vetted."""
    with archive.open(info) as member:
        return member.read(info.file_size)


def iter_archive_images(
    data: bytes, limits: ArchiveLimits, report: ArchiveReport | None = None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(entry name, bytes)`` for each image entry of a ZIP held in memory."""
    report = report if report is not None else ArchiveReport()
    with _open(data) as archive:
        infos = archive.infolist()
        _check_directory(infos, limits)
        for info in infos:
            reason = _entry_refusal(info, limits)
            if reason is not None:
                report.skipped[info.filename] = reason
                continue
            try:
                body = _inflate(archive, info)
            except _ENTRY_ERRORS as exc:
                report.skipped[info.filename] = f"unreadable: {exc}"
                continue
            kind = sniff(body[:512])
            if kind is None or not is_image(kind):
                report.skipped[info.filename] = f"not an image ({kind or 'unknown'})"
                continue
            yield info.filename, body
