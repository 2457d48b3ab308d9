"""The one archive-bomb guard: limits on an archive's members, for crawled media and scans.

A ZIP linked from a crawled page (:mod:`keepdown.crawl.archives`), a ZIP or TAR a scan opens
(:mod:`keepdown.scan.sources`) and a re-check of a notified archive member all judge members
by :meth:`ArchiveLimits.refusal`, so a member refused by one is refused by all, for the same
reason, in the same words: too many members, a member too large, too many bytes in all, an
encrypted member, or a compression ratio only a zip bomb has. Only the numbers differ: the
crawler's come from ``crawl_max_zip_*`` (:meth:`ArchiveLimits.for_crawl`), a scan's from
``scan_max_archive_*`` (:meth:`ArchiveLimits.for_scan`).
"""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.settings import Settings

__all__ = ["ArchiveLimits"]


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """How many members an archive may hold, how large each and all of them may be
    uncompressed, and the largest compression ratio a member may have."""

    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int
    max_ratio: int
    #: The settings the four numbers come from, named in a refusal so an operator knows
    #: which one to change.
    names: tuple[str, str, str, str] = (
        "max_entries",
        "max_entry_bytes",
        "max_total_bytes",
        "max_ratio",
    )

    @classmethod
    def for_crawl(cls, settings: Settings) -> ArchiveLimits:
        """A ZIP fetched by the crawler (and re-checked by the notice tracker)."""
        return cls(
            max_entries=settings.crawl_max_zip_entries,
            max_entry_bytes=settings.crawl_max_media_bytes,
            max_total_bytes=settings.crawl_max_zip_bytes,
            max_ratio=settings.crawl_max_zip_ratio,
            names=(
                "crawl_max_zip_entries",
                "crawl_max_media_bytes",
                "crawl_max_zip_bytes",
                "crawl_max_zip_ratio",
            ),
        )

    @classmethod
    def for_scan(cls, settings: Settings) -> ArchiveLimits:
        """A ZIP or TAR file ``keepdown scan`` opens."""
        return cls(
            max_entries=settings.scan_max_archive_members,
            max_entry_bytes=max(settings.max_image_bytes, settings.video_max_bytes),
            max_total_bytes=settings.scan_max_archive_bytes,
            max_ratio=settings.scan_max_member_ratio,
            names=(
                "scan_max_archive_members",
                "max_image_bytes / video_max_bytes",
                "scan_max_archive_bytes",
                "scan_max_member_ratio",
            ),
        )

    def refusal(
        self,
        *,
        size: int,
        packed: int | None = None,
        encrypted: bool = False,
        count: int = 1,
        total: int = 0,
    ) -> str | None:
        """Why a member is refused, or None: ``size`` uncompressed bytes (``packed`` in the
        archive, when the format compresses members one by one), the ``count``-th member,
        bringing the uncompressed ``total`` so far to ``total``."""
        entries, entry_bytes, total_bytes, ratio_name = self.names
        if encrypted:
            return "skipped: encrypted member"
        if count > self.max_entries:
            return f"skipped: more than {self.max_entries} members ({entries})"
        if size > self.max_entry_bytes:
            return f"too_large: {size} bytes, over {self.max_entry_bytes} ({entry_bytes})"
        if total > self.max_total_bytes:
            return (
                f"skipped: more than {self.max_total_bytes} uncompressed bytes in all "
                f"({total_bytes})"
            )
        if packed is not None and size > self.max_ratio * max(packed, 1):
            ratio = size / max(packed, 1)
            return f"zip_bomb: compression ratio {ratio:.0f} over {self.max_ratio} ({ratio_name})"
        return None
