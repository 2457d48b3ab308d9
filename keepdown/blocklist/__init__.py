"""The live URL block list for ISPs, DNS resolvers and filters (docs/blocklist.md).

Computed from keepdown's own state (confirmed locations still present, analysts' whole-domain
decisions, the canary), with a serial and deltas (:mod:`~keepdown.blocklist.service`);
published as an RPZ zone, Squid ACL files, JSON and CSV (:mod:`~keepdown.blocklist.render`)
and a keyed hash-prefix feed (:mod:`~keepdown.blocklist.keyed`) over safe-browsing
canonical URLs (:mod:`~keepdown.blocklist.canonical`).
"""

from keepdown.blocklist.model import (
    Appeal,
    AppealState,
    BlocklistStore,
    Change,
    DomainDecision,
    Entry,
    EntryKind,
    Snapshot,
)
from keepdown.blocklist.service import BlocklistService, Canary

__all__ = [
    "Appeal",
    "AppealState",
    "BlocklistService",
    "BlocklistStore",
    "Canary",
    "Change",
    "DomainDecision",
    "Entry",
    "EntryKind",
    "Snapshot",
]
