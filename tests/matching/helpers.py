"""Shared by the checkpoint tests: filling banks, and what an index answers for, as a set."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

import numpy as np

from keepdown.banks.model import Bank, ImportFile, ImportResult
from keepdown.banks.records import EntryRecord
from keepdown.clock import utc
from keepdown.hashing.types import PdqHash, SignalType
from keepdown.index.snapshot import IndexSnapshot
from keepdown.matching.live import BankIndex
from keepdown.testing import flip_bits, random_pdq_hex

NOW = utc(2026, 5, 1)


def put(
    storage,
    bank: str,
    values: Iterable[str],
    *,
    signal: SignalType = SignalType.PDQ,
    removed: bool = False,
    restore: bool = False,
) -> ImportResult:
    """Import ``values`` (or tombstones of them) into ``bank`` as one import."""
    records = [EntryRecord(signal, v, removed=removed) for v in values]
    digest = hashlib.sha256("".join(r.value for r in records).encode()).hexdigest()
    target: Bank = storage.banks.get_bank(bank)
    return storage.banks.import_entries(
        target, records, ImportFile("test", digest), NOW, restore=restore
    )


def pdq_values(n: int, rng: random.Random) -> list[str]:
    return [random_pdq_hex(rng) for _ in range(n)]


def visible(snapshot: IndexSnapshot) -> set[tuple[str, int, int, str]]:
    """Every (signal type, entry id, bank id, hex) the snapshot answers for."""
    out: set[tuple[str, int, int, str]] = set()
    layer = snapshot.pdq
    for part, hidden in ((layer.main, set(layer.hidden.tolist())), (layer.delta, set())):
        rows = part.rows
        raw = np.ascontiguousarray(rows.words).view(np.uint8).reshape(-1, 32)
        for i, entry_id in enumerate(rows.entry_ids.tolist()):
            if entry_id not in hidden:
                out.add(("pdq", entry_id, int(rows.bank_ids[i]), raw[i].tobytes().hex()))
    for signal, exact in snapshot.exact.items():
        hidden = set(exact.hidden.tolist())
        for part, skip in ((exact.main, hidden), (exact.delta, set())):
            for i, entry_id in enumerate(part.entry_ids.tolist()):
                if entry_id not in skip:
                    value = bytes(part.values[i]).hex()
                    out.add((str(signal), entry_id, int(part.bank_ids[i]), value))
    return out


def answers(index: BankIndex, queries: list[PdqHash]) -> list[list[tuple]]:
    """What the index reports for each query (bank, entry, distance, how)."""
    return [
        sorted((v.bank, v.entry_id, v.distance, v.match_type) for v in views)
        for views in index.match_hashes(queries)
    ]


def queries_near(values: list[str], rng: random.Random, n: int = 60) -> list[PdqHash]:
    """Queries at 0..40 bits from stored values (so thresholds 10 and 31 both cut some)."""
    picked = rng.sample(values, min(n, len(values)))
    return [PdqHash.from_hex(flip_bits(v, rng.randint(0, 40), rng)) for v in picked]
