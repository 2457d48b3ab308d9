"""Is what a location serves now still known material? The re-check's last question.

:class:`BankVerifier` hashes the fetched bytes in memory (exact PDQ, SHA-256, MD5) and asks
the match index; bytes identical to what was notified count as present without a lookup.
Anything that does not decode as an image (an HTML "removed" page served with 200, a
placeholder, an error text) no longer matches, so the location counts as gone. The bytes are
dropped as soon as they are hashed.

A location inside a ZIP archive (``archive_member``) is checked by opening the archive in
memory within the crawler's limits (:mod:`keepdown.crawl.archives`) and taking that entry:
:func:`archive_entry` says whether the archive still holds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.archives import iter_archive_images
from keepdown.errors import InvalidInput
from keepdown.hashing import HashResult, hash_bytes
from keepdown.notices.model import Location
from keepdown.settings import Settings

__all__ = ["BankVerifier", "Verifier", "archive_entry"]


def archive_entry(body: bytes, member: str, limits: ArchiveLimits) -> bytes | None:
    """The bytes of image entry ``member`` of the ZIP ``body``; None when the archive no
    longer holds that image. A body that is not a readable ZIP any more raises
    :class:`InvalidInput` (no longer what was notified, like a "removed" page); an archive
    past the limits raises :class:`InputTooLarge` (it cannot be checked: not a removal)."""
    for name, data in iter_archive_images(body, limits):
        if name == member:
            return data
    return None


class Verifier(Protocol):
    def still_known(self, body: bytes, location: Location) -> bool: ...


class BankVerifier:
    """Matches fetched bytes against the banks (``match`` is the match chain's
    ``match_result`` for the re-check door; ``robust`` says whether that door hashes the
    robust query variants)."""

    def __init__(
        self,
        settings: Settings,
        match: Callable[[HashResult], Sequence[Any]],
        robust: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.match = match
        self.robust = robust or (lambda: False)

    def still_known(self, body: bytes, location: Location) -> bool:
        if hashlib.sha256(body).hexdigest() == location.sha256:
            return True
        try:
            result = hash_bytes(
                body, settings=self.settings, mode="exact", dihedral=True, robust=self.robust()
            )
        except InvalidInput:  # not an image (DecodeError and its kin)
            return False
        return bool(self.match(result))
