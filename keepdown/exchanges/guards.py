"""Low-information guards: hashes from a source that would match unrelated pictures.

Platforms report third-party entries that match benign images: the PDQ hash of a flat or
near-uniform picture, of a lattice or grid, of a test card. Such a hash says little about a
picture (PDQ compares 256 DCT coefficients with their median; when most coefficients are zero
or repeat, the bits are set by noise or by a few repeating patterns), so it matches pictures
that only share that emptiness. A guard holds such an entry back when a feed brings it in: it
is stored as a tombstone with the reason ``low-information`` (so the bank shows it, and the
next page does not add it again), never matched. :func:`low_information` says why, in words an
analyst can check.

The measures, on the 256 bits of a PDQ hash (figures in ``docs/exchanges.md``):

1. **balance**: a picture's PDQ hash has as many ones as zeros (the median splits the
   coefficients), 128; flat pictures tie at zero and give far fewer or far more;
2. **nibble entropy**: the 64 hex digits of a real picture's hash are spread over all 16
   values (entropy 3.2-3.9 bits over 200 generated scenes, 3.4 or more over 100,000 random
   hashes); lattices and test cards repeat a few (2.7 for colour bars, 1.0 for some grids);
3. **distinct rows**: the 16 rows of 16 bits differ in a real picture (13-16 rows distinct);
   a lattice repeats them (4-9).

Only PDQ is judged: an exact hash (MD5, SHA-1, SHA-256) names one file and carries no such
risk. Per feed, :class:`GuardConfig` turns the guard off and sets a quality floor for the
*queries* matched against the feed's entries (a PDQ of an upload below it does not match them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType

__all__ = ["GuardConfig", "QualityFloorStage", "low_information", "low_information_many"]

#: Bounds of the number of one bits outside which a PDQ hash is degenerate (a picture's is 128).
BALANCE = (100, 156)
#: Least Shannon entropy (bits) of the hash's 64 hex digits.
MIN_NIBBLE_ENTROPY = 3.0
#: Least number of distinct 16-bit rows among the hash's 16.
MIN_DISTINCT_ROWS = 10


def low_information(signal_type: SignalType | str, value: str) -> str | None:
    """Why this hash would match unrelated pictures, or None when it looks like a picture's."""
    if str(signal_type) != SignalType.PDQ.value or len(value) != 64:
        return None
    ones = bin(int(value, 16)).count("1")
    if not BALANCE[0] <= ones <= BALANCE[1]:
        return f"unbalanced PDQ hash ({ones} of 256 bits set; a picture's has 128): flat picture"
    counts = Counter(value.lower())
    entropy = -sum(n / 64 * math.log2(n / 64) for n in counts.values())
    if entropy < MIN_NIBBLE_ENTROPY:
        return (
            f"repetitive PDQ hash (hex digit entropy {entropy:.2f} < {MIN_NIBBLE_ENTROPY} bits): "
            "lattice, grid or test-card picture"
        )
    rows = len({value[i : i + 4] for i in range(0, 64, 4)})
    if rows < MIN_DISTINCT_ROWS:
        return f"lattice PDQ hash ({rows} distinct rows of 16, < {MIN_DISTINCT_ROWS})"
    return None


_NIBBLE = np.full(256, 255, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_POPCOUNT = np.array([bin(i).count("1") for i in range(16)], dtype=np.int32)


def low_information_many(pairs: Sequence[tuple[str, str]]) -> list[str | None]:
    """:func:`low_information` of many (signal type, value) pairs: the same answers, computed
    for every PDQ value of a page at once (a million entries are judged in about a second)."""
    out: list[str | None] = [None] * len(pairs)
    rows = [i for i, (s, v) in enumerate(pairs) if str(s) == SignalType.PDQ.value and len(v) == 64]
    if not rows:
        return out
    text = "".join(pairs[i][1] for i in rows).lower().encode("ascii", "replace")
    nibbles = _NIBBLE[np.frombuffer(text, np.uint8)].reshape(len(rows), 64)
    if (nibbles == 255).any():  # not hex: leave those to the slow path (they are refused later)
        return [low_information(s, v) for s, v in pairs]
    ones = _POPCOUNT[nibbles].sum(axis=1)
    flat = np.arange(len(rows)).repeat(64) * 16 + nibbles.ravel()
    counts = np.bincount(flat, minlength=len(rows) * 16).reshape(len(rows), 16)
    p = counts / 64.0
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
    quads = nibbles.reshape(len(rows), 16, 4).astype(np.int32)
    row_values = np.sort((quads * np.array([4096, 256, 16, 1])).sum(axis=2), axis=1)
    distinct = 1 + (np.diff(row_values, axis=1) != 0).sum(axis=1)
    suspect = (ones < BALANCE[0]) | (ones > BALANCE[1]) | (entropy < MIN_NIBBLE_ENTROPY)
    suspect |= distinct < MIN_DISTINCT_ROWS
    for k in np.flatnonzero(suspect):
        i = rows[int(k)]
        out[i] = low_information(*pairs[i])  # the words come from the one definition
    return out


@dataclass(frozen=True)
class GuardConfig:
    """A feed's guards: hold back low-information hashes, and a query quality floor."""

    #: Hold back entries :func:`low_information` flags (stored as tombstones, never matched).
    low_information: bool = True
    #: PDQ matches of this feed's entries need a query quality of at least this (None: the
    #: global ``pdq_quality_floor`` alone).
    quality_floor: int | None = None

    def __post_init__(self) -> None:
        if self.quality_floor is not None and not 0 <= self.quality_floor <= 100:
            raise InvalidInput("a feed's quality floor must be between 0 and 100")

    def holds_back(self, signal_type: SignalType | str, value: str) -> str | None:
        """Why this feed keeps the hash out of matching, or None."""
        return low_information(signal_type, value) if self.low_information else None

    def hold_back_many(self, pairs: Sequence[tuple[str, str]]) -> list[str | None]:
        """:meth:`holds_back` of many pairs at once."""
        if not self.low_information:
            return [None] * len(pairs)
        return low_information_many(pairs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> GuardConfig:
        data = data or {}
        floor = data.get("quality_floor")
        return cls(
            low_information=bool(data.get("low_information", True)),
            quality_floor=None if floor is None else int(floor),
        )


class QualityFloorStage:
    """A match-chain stage: PDQ matches of a feed's entries need the query's PDQ quality to
    reach that feed's floor (``GuardConfig.quality_floor``), whatever the global floor.

    ``floors`` gives bank name -> floor for the feeds that set one; a query whose quality is
    unknown (a bare hash lookup) is not held back: hash lists carry no quality."""

    def __init__(self, floors: Callable[[], Mapping[str, int]]) -> None:
        self.floors = floors
        self._floors: Mapping[str, int] = {}
        self.refresh()

    def refresh(self) -> None:
        self._floors = dict(self.floors())

    def apply(self, query: Any, matches: list[Any]) -> list[Any]:
        quality = getattr(query, "quality", None)
        floors = self._floors
        if quality is None or not floors:
            return matches
        return [
            m
            for m in matches
            if not (m.signal_type == SignalType.PDQ.value and quality < floors.get(m.bank, -1))
        ]
