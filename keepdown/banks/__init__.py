"""Banks of known hashes: provenance, classification, tombstones, import/export and sharing.

The flows are in :mod:`keepdown.banks.service`; the values and the store protocol in
:mod:`keepdown.banks.model`; file formats in :mod:`keepdown.banks.formats`.
"""

from keepdown.banks.model import Bank, BankStore, Entry, RemovalReason, Tombstone, TrustLevel

__all__ = ["Bank", "BankStore", "Entry", "RemovalReason", "Tombstone", "TrustLevel"]
