"""What a crawl run already learnt about a media URL, so it is fetched once, not once per page.

A site logo appears on every page; each (page, media) pair is a sighting of its own, but the
bytes behind the URL are the same. The crawler keeps, per media URL, the response's metadata
(its body dropped) and the hashes of what it held (one image, or the images of a ZIP), and
replays them for the next page that shows the URL. Hashes only, never bytes; least recently
used entries go first once ``max_entries`` is reached. Only successful outcomes are kept:
a failure is worth another try from another page.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from keepdown.crawl.fetcher import FetchResult
from keepdown.hashing import HashResult

__all__ = ["CachedMedia", "MediaCache"]


@dataclass(frozen=True)
class CachedMedia:
    """The response without its body, and ``(archive member or "", hashes)`` per image."""

    result: FetchResult
    hashed: tuple[tuple[str, HashResult], ...]


class MediaCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedMedia] = OrderedDict()

    def get(self, url: str) -> CachedMedia | None:
        entry = self._entries.get(url)
        if entry is not None:
            self._entries.move_to_end(url)
        return entry

    def put(
        self, url: str, result: FetchResult, hashed: list[tuple[str, HashResult]]
    ) -> CachedMedia:
        entry = CachedMedia(replace(result, body=b""), tuple(hashed))
        if self.max_entries <= 0:
            return entry
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)
