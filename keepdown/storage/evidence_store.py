"""Stored events with their place in the chain, for a provider's evidence.

:func:`stored_events` reads the events of some kinds up to a chain position, each with its
texts exactly as stored (what the chain hashed), its hash, the hash of the row before it, and
the typed event (keepdown.reports.provider_evidence.StoredEvent).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from keepdown.events import event_types
from keepdown.reports.provider_evidence import StoredEvent
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.event_store import _rebuild

__all__ = ["stored_events"]


def stored_events(chain: SqlEventChain, kinds: Sequence[str], upto: int) -> list[StoredEvent]:
    types = event_types()
    rows = [r for r in chain.rows_of(sorted(set(kinds)), upto) if r[1] in types]
    previous = chain.hashes_at([r[0] - 1 for r in rows])
    found = []
    for position, kind, at, payload, stored in rows:
        before = previous.get(position - 1)
        if before is None:  # a gap the database left before the chain: the row before it
            before = chain.before(position).hash
        event = _rebuild(types[kind], json.loads(payload))
        found.append(StoredEvent(position, kind, at, payload, stored or b"", before, event))
    return found
