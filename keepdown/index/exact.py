"""Exact index for cryptographic hashes (MD5, SHA-1, SHA-256): equal bytes or no match.

The values are kept sorted, with their first 8 bytes as a big-endian ``uint64`` key beside
them, so a lookup is one binary search on the keys and a byte comparison of the few rows that
share the key. Plain arrays (no per-entry Python objects) keep 10 million entries small and
let a saved index be memory-mapped.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from keepdown.errors import InvalidHash, InvalidInput
from keepdown.hashing.types import HashValue, SignalType, hash_type
from keepdown.index.protocol import Hit

__all__ = ["ExactIndex"]


def _keys(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values[:, :8]).view(">u8").reshape(-1).astype(np.uint64)


class ExactIndex:
    """Immutable sorted table of one signal type's hashes -> (entry id, bank id)."""

    def __init__(
        self,
        signal_type: SignalType,
        values: np.ndarray,
        entry_ids: np.ndarray,
        bank_ids: np.ndarray,
        keys: np.ndarray | None = None,
    ) -> None:
        """Wrap arrays already sorted by value (use :meth:`build` for unsorted input)."""
        self.signal_type = SignalType(signal_type)
        self.n_bytes = hash_type(self.signal_type).n_bytes
        n = values.shape[0]
        if values.shape != (n, self.n_bytes) or values.dtype != np.uint8:
            raise InvalidHash(
                f"{self.signal_type} values must be (n, {self.n_bytes}) uint8, got {values.shape}"
            )
        if entry_ids.shape != (n,) or bank_ids.shape != (n,):
            raise InvalidInput(f"{n} hashes need {n} entry ids and bank ids")
        self.values = values
        self.entry_ids = entry_ids
        self.bank_ids = bank_ids
        self.keys = _keys(values) if keys is None else keys

    @classmethod
    def build(
        cls, signal_type: SignalType, values: np.ndarray, entry_ids: object, bank_ids: object
    ) -> ExactIndex:
        """Sort (n, n_bytes) uint8 values with their ids into a new index."""
        values = np.ascontiguousarray(values, dtype=np.uint8)
        ids = np.asarray(entry_ids, dtype=np.int64)
        banks = np.asarray(bank_ids, dtype=np.int64)
        if values.ndim != 2:
            raise InvalidHash(f"{signal_type} values must be a 2-D byte array")
        order = np.lexsort(values.T[::-1]) if len(values) else np.zeros(0, np.int64)
        return cls(signal_type, values[order], ids[order], banks[order])

    @classmethod
    def from_entries(
        cls, signal_type: SignalType, entries: Iterable[tuple[int, int, HashValue]]
    ) -> ExactIndex:
        """From ``(entry_id, bank_id, hash)`` triples, every hash of ``signal_type``."""
        items = list(entries)
        want = hash_type(signal_type)
        for _, _, value in items:
            if not isinstance(value, want):
                raise InvalidHash(f"expected a {signal_type} hash, got {type(value).__name__}")
        raw = np.frombuffer(b"".join(v.raw for _, _, v in items), dtype=np.uint8)
        return cls.build(
            signal_type,
            raw.reshape(-1, want.n_bytes),
            [e for e, _, _ in items],
            [b for _, b, _ in items],
        )

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in (self.values, self.entry_ids, self.bank_ids, self.keys)))

    def query(self, value: HashValue | bytes, threshold: int = 0) -> list[Hit]:
        """Every entry whose hash equals ``value`` (``threshold`` is accepted and ignored)."""
        del threshold  # exact hashes match at distance 0 only
        raw = value.raw if isinstance(value, HashValue) else bytes(value)
        if isinstance(value, HashValue) and value.signal_type != self.signal_type:
            raise InvalidHash(f"a {value.signal_type} hash cannot query a {self.signal_type} index")
        if len(raw) != self.n_bytes:
            raise InvalidHash(f"{self.signal_type} hash must be {self.n_bytes} bytes")
        key = np.uint64(int.from_bytes(raw[:8], "big"))
        lo = int(np.searchsorted(self.keys, key, side="left"))
        hi = int(np.searchsorted(self.keys, key, side="right"))
        want = np.frombuffer(raw, dtype=np.uint8)
        return [
            Hit(int(self.entry_ids[i]), int(self.bank_ids[i]), 0, None)
            for i in range(lo, hi)
            if np.array_equal(self.values[i], want)
        ]

    def without_entries(self, entry_ids: np.ndarray) -> ExactIndex:
        """This index minus the rows of ``entry_ids`` (order is kept, so no re-sort)."""
        if len(entry_ids) == 0 or len(self) == 0:
            return self
        keep = ~np.isin(self.entry_ids, entry_ids)
        return ExactIndex(
            self.signal_type,
            self.values[keep],
            self.entry_ids[keep],
            self.bank_ids[keep],
            self.keys[keep],
        )

    def merged(self, other: ExactIndex) -> ExactIndex:
        """A new sorted index holding the rows of both."""
        return ExactIndex.build(
            self.signal_type,
            np.concatenate([self.values, other.values]),
            np.concatenate([self.entry_ids, other.entry_ids]),
            np.concatenate([self.bank_ids, other.bank_ids]),
        )
