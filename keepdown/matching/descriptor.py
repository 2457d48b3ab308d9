"""Matches through a learned descriptor: ``near (robust)``, for review only.

:class:`DescriptorMatcher` joins an operator's :class:`~keepdown.hashing.descriptor.
OnnxDescriptor` and a :class:`~keepdown.index.vectors.VectorIndex` of the banks' descriptor
entries. For a decoded picture it returns one :class:`~keepdown.matching.matcher.Match` per
entry at least ``min_similarity`` alike, in a bank that opted in to robust matches; its
``match_type`` is ``near (robust)`` and its ``variant`` ``descriptor:<model name>``, so every
door shows and routes it like any robust match (never an automatic action). The distance is
``round((1 - similarity) * 256)``: 0 for the same vector, on PDQ's 0-256 scale for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from keepdown.hashing.descriptor import OnnxDescriptor
from keepdown.index.vectors import VectorIndex
from keepdown.matching.matcher import ROBUST, BankPolicy, Match

__all__ = ["DescriptorMatcher"]


@dataclass
class DescriptorMatcher:
    descriptor: OnnxDescriptor
    index: VectorIndex
    min_similarity: float = 0.9

    def __post_init__(self) -> None:
        if self.index.dimensions != self.descriptor.dimensions:
            raise ValueError(
                f"the index holds {self.index.dimensions}-dimension vectors, the model gives "
                f"{self.descriptor.dimensions}"
            )
        if not 0.0 < self.min_similarity <= 1.0:
            raise ValueError("min_similarity must be in (0, 1]")

    @property
    def variant(self) -> str:
        return f"descriptor:{self.descriptor.name}"

    def match_picture(self, rgb: np.ndarray, banks: Mapping[int, BankPolicy]) -> list[Match]:
        """Robust matches of one decoded picture against the opted-in, enabled banks."""
        hits = self.index.search(self.descriptor.embed(rgb)[None, :], self.min_similarity)[0]
        return [
            Match(
                h.entry_id, h.bank_id, "descriptor", _distance(h.similarity), self.variant, ROBUST
            )
            for h in hits
            if h.bank_id in banks and banks[h.bank_id].enabled and banks[h.bank_id].robust
        ]


def _distance(similarity: float) -> int:
    return max(0, min(256, round((1.0 - similarity) * 256)))
