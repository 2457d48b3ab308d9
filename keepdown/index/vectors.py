"""An exact vector index for learned descriptors, next to the PDQ index.

Rows are L2-normalised float32 vectors (one per bank entry, with its entry and bank ids);
a query is answered by every row whose cosine similarity (a dot product) is at least the
threshold. The search is exact: a matrix product over the rows in blocks of
:data:`BLOCK` (bounded memory), about 1-2 ms per million rows and 64 dimensions on one core;
an approximate index (HNSW, IVF) can take its place behind the same two methods when the
banks grow past what a scan answers in time (docs/matching.md). Saved and loaded as plain
``.npy`` files, memory-mapped like the PDQ snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keepdown import files
from keepdown.errors import InvalidInput

__all__ = ["BLOCK", "VectorHit", "VectorIndex"]

BLOCK = 65_536


@dataclass(frozen=True, slots=True)
class VectorHit:
    entry_id: int
    bank_id: int
    similarity: float


@dataclass(frozen=True)
class VectorIndex:
    """Immutable rows; :meth:`with_rows` returns a new index (readers keep theirs)."""

    vectors: np.ndarray  # n x d float32, L2-normalised
    entry_ids: np.ndarray  # n int64
    bank_ids: np.ndarray  # n int64

    @classmethod
    def empty(cls, dimensions: int) -> VectorIndex:
        return cls(np.zeros((0, dimensions), np.float32), _ids([]), _ids([]))

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def with_rows(self, vectors: np.ndarray, entry_ids: object, bank_ids: object) -> VectorIndex:
        """A new index with these rows added (normalised here)."""
        added = _normalised(np.asarray(vectors, np.float32), self.dimensions)
        ids, banks = _ids(entry_ids), _ids(bank_ids)
        if not len(ids) == len(banks) == added.shape[0]:
            raise InvalidInput("vectors, entry ids and bank ids differ in number")
        return VectorIndex(
            np.concatenate([self.vectors, added]),
            np.concatenate([self.entry_ids, ids]),
            np.concatenate([self.bank_ids, banks]),
        )

    def search(self, queries: np.ndarray, min_similarity: float) -> list[list[VectorHit]]:
        """For each query vector, every row at least ``min_similarity``, most similar first."""
        q = _normalised(
            np.asarray(queries, np.float32).reshape(-1, self.dimensions), self.dimensions
        )
        found: list[list[VectorHit]] = [[] for _ in range(q.shape[0])]
        for start in range(0, len(self), BLOCK):
            scores = q @ self.vectors[start : start + BLOCK].T
            for row, col in zip(*np.nonzero(scores >= min_similarity), strict=True):
                at = start + int(col)
                found[int(row)].append(
                    VectorHit(
                        int(self.entry_ids[at]), int(self.bank_ids[at]), float(scores[row, col])
                    )
                )
        for hits in found:
            hits.sort(key=lambda h: (-h.similarity, h.entry_id))
        return found

    def save(self, folder: str | Path) -> None:
        path = files.private_dir(folder)
        for name, array in (
            ("vectors", self.vectors),
            ("entry_ids", self.entry_ids),
            ("bank_ids", self.bank_ids),
        ):
            with files.open_private(path / f"{name}.npy", "wb") as out:
                np.save(out, array)

    @classmethod
    def load(cls, folder: str | Path, *, mmap: bool = True) -> VectorIndex:
        path = Path(folder)
        try:
            vectors = np.load(path / "vectors.npy", mmap_mode="r" if mmap else None)
            entry_ids = np.load(path / "entry_ids.npy")
            bank_ids = np.load(path / "bank_ids.npy")
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"no readable vector index in {path}: {exc}") from exc
        if vectors.ndim != 2 or not len(vectors) == len(entry_ids) == len(bank_ids):
            raise InvalidInput(f"the vector index in {path} is damaged (sizes differ)")
        return cls(vectors, entry_ids, bank_ids)


def _ids(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _normalised(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    if vectors.ndim != 2 or vectors.shape[1] != dimensions:
        raise InvalidInput(f"vectors must be n x {dimensions}, got {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise InvalidInput("vectors must be finite numbers")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
