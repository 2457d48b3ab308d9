"""What every door of the block list uses: fresh snapshots, the rendered forms, deltas and each
licensee's keyed feed (the API, the pages, the CLI and the benchmark all go through here).

1. :meth:`BlocklistDesk.fresh` recomputes the list when the last computation is older than
   ``refresh_seconds`` (so a removal confirmed by a re-check leaves every form within that),
   else reads the stored list, cached by serial;
2. :meth:`BlocklistDesk.render` gives one form of a snapshot (:data:`FORMATS`), cached by
   serial and form: a licensee polling every few minutes costs one render per change;
3. :meth:`BlocklistDesk.feed` gives a licensee's keyed prefix feed (cached by licensee and
   serial); :meth:`BlocklistDesk.full_hashes` answers a prefix hit.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from keepdown.blocklist.keyed import PrefixFeed, licensee_key
from keepdown.blocklist.model import Change, Snapshot
from keepdown.blocklist.render import (
    RpzPolicy,
    csv_list,
    json_list,
    rpz_delta,
    rpz_zone,
    squid_config,
    squid_domains,
    squid_urls,
)
from keepdown.blocklist.service import BlocklistService
from keepdown.clock import Clock
from keepdown.errors import InvalidInput

__all__ = ["FORMATS", "BlocklistDesk", "Rendered"]


@dataclass(frozen=True)
class Rendered:
    """One form of the list at one serial."""

    serial: int
    text: str
    media_type: str


_RENDERERS: dict[str, tuple[str, Callable[[Snapshot, RpzPolicy], str]]] = {
    "json": ("application/json", lambda s, _p: json.dumps(json_list(s))),
    "csv": ("text/csv", lambda s, _p: csv_list(s)),
    "rpz": ("text/dns", rpz_zone),
    "squid-domains": ("text/plain", lambda s, _p: squid_domains(s)),
    "squid-urls": ("text/plain", lambda s, _p: squid_urls(s)),
}
#: The forms :meth:`BlocklistDesk.render` gives (the keyed feed is :meth:`BlocklistDesk.feed`).
FORMATS = tuple(_RENDERERS)


class BlocklistDesk:
    """Fresh snapshots, forms, deltas and feeds of the block list (module docstring)."""

    def __init__(
        self,
        service: BlocklistService,
        *,
        master_secret: bytes,
        rpz: RpzPolicy,
        splash_url: str,
        refresh_seconds: float,
        clock: Clock,
    ) -> None:
        self.service = service
        self.master = master_secret
        self.rpz = rpz
        self.splash_url = splash_url
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._refreshed: datetime | None = None
        self._snapshot: Snapshot | None = None
        self._rendered: dict[str, Rendered] = {}
        self._feeds: dict[str, PrefixFeed] = {}

    def refresh(self) -> Snapshot:
        """Recompute now (the re-check pass calls this after it ran)."""
        snapshot = self.service.refresh()
        with self._lock:
            self._refreshed = self.clock.now()
            self._keep(snapshot)
        return snapshot

    def _keep(self, snapshot: Snapshot) -> None:
        if self._snapshot is None or self._snapshot.serial != snapshot.serial:
            self._snapshot = snapshot
            self._rendered.clear()
            self._feeds.clear()

    def fresh(self) -> Snapshot:
        """The list, recomputed when the last computation is older than refresh_seconds."""
        now = self.clock.now()
        with self._lock:
            last, kept = self._refreshed, self._snapshot
        if last is None or (now - last).total_seconds() >= self.refresh_seconds:
            return self.refresh()
        assert kept is not None
        return kept

    def render(self, fmt: str) -> Rendered:
        if fmt not in _RENDERERS:
            raise InvalidInput(f"unknown block list format {fmt!r}; one of {', '.join(FORMATS)}")
        snapshot = self.fresh()
        with self._lock:
            found = self._rendered.get(fmt)
        if found is not None and found.serial == snapshot.serial:
            return found
        media_type, renderer = _RENDERERS[fmt]
        made = Rendered(snapshot.serial, renderer(snapshot, self.rpz), media_type)
        with self._lock:
            if self._snapshot is not None and self._snapshot.serial == made.serial:
                self._rendered[fmt] = made
        return made

    def delta(self, since: int, fmt: str = "json") -> Rendered:
        """The changes after serial ``since``: JSON, or the RPZ zone's IXFR-ordered delta."""
        snapshot = self.fresh()
        changes: list[Change] = self.service.changes_since(since)
        if fmt == "rpz":
            return Rendered(
                snapshot.serial, rpz_delta(since, snapshot, changes, self.rpz), "text/dns"
            )
        if fmt != "json":
            raise InvalidInput("a delta is json or rpz")
        doc = {"from": since, "serial": snapshot.serial, "changes": [c.to_dict() for c in changes]}
        return Rendered(snapshot.serial, json.dumps(doc), "application/json")

    def squid_config(self, directory: str) -> str:
        return squid_config(directory, self.splash_url)

    # --- the keyed feed -------------------------------------------------------------------

    def key(self, licensee: str) -> bytes:
        """The licensee's own feed key."""
        return licensee_key(self.master, licensee)

    def key_text(self, licensee: str) -> str:
        return base64.b64encode(self.key(licensee)).decode("ascii")

    def feed(self, licensee: str) -> PrefixFeed:
        snapshot = self.fresh()
        with self._lock:
            found = self._feeds.get(licensee)
        if found is not None and found.serial == snapshot.serial:
            return found
        made = PrefixFeed.build(
            self.key(licensee), snapshot.serial, (e.expression for e in snapshot.entries)
        )
        with self._lock:
            if self._snapshot is not None and self._snapshot.serial == made.serial:
                self._feeds[licensee] = made
        return made

    def full_hashes(self, licensee: str, prefix_hex: str) -> list[str]:
        try:
            prefix = bytes.fromhex(prefix_hex)
        except ValueError as exc:
            raise InvalidInput("a prefix is hexadecimal") from exc
        return [h.hex() for h in self.feed(licensee).full_hashes(prefix)]
