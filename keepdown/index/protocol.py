"""What every index answers with, and how queries are given to a PDQ index.

An index maps hash values to bank entries, each identified by its int64 database id and
carrying the id of the bank it belongs to (several entries may share a hash, in different
banks). A PDQ index is asked with up to 8 *variants* of one picture's hash (the dihedral
rotations and mirrors) and reports, per entry, the best distance and which variant reached it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TypeAlias, runtime_checkable

import numpy as np

from keepdown.errors import InvalidHash, InvalidInput
from keepdown.hashing.types import PdqHash

__all__ = [
    "MAX_PDQ_THRESHOLD",
    "Hit",
    "PairHits",
    "PdqIndex",
    "PdqQuery",
    "check_threshold",
    "pdq_words",
    "query_words",
]

#: Largest meaningful PDQ threshold: 256 bits, every hash is within 256 of every other.
MAX_PDQ_THRESHOLD = 256

#: What a PDQ query may be: one hash, variant name -> hash, or an (n, 32) uint8 array.
PdqQuery: TypeAlias = PdqHash | Mapping[str, PdqHash] | Sequence[PdqHash] | np.ndarray


@dataclass(frozen=True, slots=True)
class Hit:
    """One bank entry reached by a query: its ids, distance, and the variant that reached it.

    ``variant`` is ``None`` for exact (cryptographic) hashes, which have no variants.
    """

    entry_id: int
    bank_id: int
    distance: int
    variant: str | None


class PairHits(NamedTuple):
    """Raw batch answer: every (query row, entry) pair within the threshold, as arrays."""

    query_row: np.ndarray  # int64, index into the query array
    entry_id: np.ndarray  # int64
    bank_id: np.ndarray  # int64
    distance: np.ndarray  # int64


@runtime_checkable
class PdqIndex(Protocol):
    """A PDQ index: every entry within ``threshold`` bits of any of the query's variants."""

    def __len__(self) -> int: ...

    def query(self, variants: PdqQuery, threshold: int = 31) -> list[Hit]:
        """Best distance per entry over the variants, sorted by (distance, entry_id)."""
        ...

    def search(self, queries: np.ndarray, threshold: int = 31) -> PairHits:
        """Every pair (query row of an (n, 4) uint64 array, entry) within ``threshold``."""
        ...


def check_threshold(threshold: int) -> int:
    """``threshold`` as an int in 0..256, or :class:`InvalidInput`."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise InvalidInput(f"PDQ threshold must be an integer, got {threshold!r}")
    if not 0 <= int(threshold) <= MAX_PDQ_THRESHOLD:
        raise InvalidInput(
            f"PDQ threshold must be between 0 and {MAX_PDQ_THRESHOLD}, got {threshold}"
        )
    return int(threshold)


def pdq_words(raw: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 hash bytes as an (n, 4) uint64 C-contiguous array (native word order)."""
    arr = np.asarray(raw)
    if arr.ndim != 2 or arr.shape[1] != 32 or arr.dtype != np.uint8:
        raise InvalidHash(
            f"PDQ hashes must be an (n, 32) uint8 array, got shape {arr.shape} {arr.dtype}"
        )
    return np.ascontiguousarray(arr).view(np.uint64).reshape(-1, 4)


def query_words(variants: PdqQuery) -> tuple[tuple[str, ...], np.ndarray]:
    """Variant names and their (n, 4) uint64 words, from any accepted query form.

    Array and sequence rows are named ``"0"``, ``"1"``...; a mapping keeps its names.
    """
    if isinstance(variants, PdqHash):
        names: tuple[str, ...] = ("original",)
        raw = np.frombuffer(variants.raw, dtype=np.uint8).reshape(1, 32)
    elif isinstance(variants, Mapping):
        names = tuple(str(k) for k in variants)
        raw = _stack(list(variants.values()))
    elif isinstance(variants, np.ndarray):
        raw = variants
        names = tuple(str(i) for i in range(variants.shape[0] if variants.ndim else 0))
    else:
        hashes = list(variants)
        names = tuple(str(i) for i in range(len(hashes)))
        raw = _stack(hashes)
    words = pdq_words(raw)
    if not 1 <= words.shape[0] <= 64:
        raise InvalidInput(f"a PDQ query takes 1 to 64 variants, got {words.shape[0]}")
    return names, words


def _stack(hashes: list[PdqHash]) -> np.ndarray:
    for h in hashes:
        if not isinstance(h, PdqHash):
            raise InvalidHash(f"PDQ query variants must be PdqHash values, got {type(h).__name__}")
    if not hashes:
        raise InvalidInput("a PDQ query needs at least one variant")
    return np.frombuffer(b"".join(h.raw for h in hashes), dtype=np.uint8).reshape(-1, 32)
