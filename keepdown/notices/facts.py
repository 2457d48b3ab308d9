"""What notice events say about each location, and whether a notice is a repeat at its provider.

``NoticeDrafted`` and ``NoticeSent`` name their locations (``locations``) and, aligned with
them (the i-th value is about the i-th location), each one's sighting, detection time, bank
entry and reappearance (:func:`location_facts`). So a multi-location notice gives each location
its own detection time and material: figures never have to guess which sighting was which.

``repeat_at_provider`` (:func:`repeat_at_provider`) is C3P's recidivism: the notice names
material (the same file, or the same bank entry) that an earlier notice already named to this
same provider, whether or not it was removed since. ``reappearance`` is narrower in one way and
wider in another: known material back after a *confirmed removal*, at this provider or another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from keepdown.notices.model import Location

__all__ = ["location_facts", "repeat_at_provider"]


def location_facts(locations: Sequence[Location]) -> dict[str, tuple[str, ...]]:
    """The event fields about ``locations``, aligned with ``locations`` (module docstring)."""
    detected = [loc.status.detected_at for loc in locations]
    return {
        "locations": tuple(str(loc.id) for loc in locations),
        "location_sightings": tuple(
            str(loc.sighting_id) if loc.sighting_id is not None else "" for loc in locations
        ),
        "location_detected_at": tuple(at.isoformat() if at else "" for at in detected),
        "location_entries": tuple(
            str(loc.entry_id) if loc.entry_id is not None else "" for loc in locations
        ),
        "location_reappearances": tuple(loc.reappearance_where or "" for loc in locations),
    }


def repeat_at_provider(
    locations: Iterable[Location],
    provider_id: int,
    earlier: Iterable[Location],
    *,
    before: datetime,
    notice_id: int | None = None,
) -> bool:
    """Some material of ``locations`` was named in a notice first sent to ``provider_id``
    before ``before``, other than notice ``notice_id`` (module docstring)."""
    named = list(locations)
    files = {loc.sha256 for loc in named}
    entries = {loc.entry_id for loc in named if loc.entry_id is not None}
    return any(
        e.provider_id == provider_id
        and e.notice_id != notice_id
        and e.status.first_notice_at is not None
        and e.status.first_notice_at <= before
        and (e.sha256 in files or (e.entry_id is not None and e.entry_id in entries))
        for e in earlier
    )
