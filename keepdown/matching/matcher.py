"""Matching: (content hashes, index snapshot, bank policies) -> matches. A pure function.

Steps of :func:`match_hashes`:
1. exact hashes (MD5, SHA-1, SHA-256) are looked up for equality: ``match_type='exact'``;
2. the PDQ hash (and its dihedral variants, when given) is skipped when its quality is below
   the floor; otherwise the index is asked once, at the largest threshold of any enabled bank;
3. each hit is kept only if its bank is known and enabled and the distance is within that
   bank's own threshold for PDQ: ``match_type='near'`` (even at distance 0: equal PDQ hashes
   are not proof of equal files, so a person looks unless the caller's policy says otherwise);
4. the robust query variants (trimmed, un-cropped, turned back: ``hashes.robust``), when
   given, are looked up in the same single index search, against the banks that opted in
   (``robust``) only; an entry found by them and not by step 2-3 is a ``near (robust)``
   match naming the variant (:data:`ROBUST`).

:func:`verdict` turns the matches into what to do next: act on an exact match in a trusted
bank, send anything else that matched to review (a ``near (robust)`` match never acts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from keepdown.errors import InvalidHash
from keepdown.hashing.types import HashValue, Md5, PdqHash, Sha1, Sha256, SignalType
from keepdown.index.protocol import PairHits, query_words
from keepdown.index.rows import hits_from_pairs
from keepdown.index.snapshot import IndexSnapshot

__all__ = [
    "ROBUST",
    "BankPolicy",
    "ContentHashes",
    "Match",
    "Verdict",
    "match_hashes",
    "verdict",
]

MatchType = Literal["exact", "near", "near (robust)"]
#: The match kind of an entry found only through a robust query variant: review only.
ROBUST: MatchType = "near (robust)"


@runtime_checkable
class BankPolicy(Protocol):
    """What matching needs to know about a bank (``keepdown.banks.Bank`` satisfies it)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    @property
    def trusted(self) -> bool: ...

    @property
    def robust(self) -> bool:
        """True when the bank opted in to matches through robust query variants."""
        ...

    def threshold(self, signal_type: str, default: int = ...) -> int: ...


@dataclass(frozen=True, slots=True)
class ContentHashes:
    """The hashes of one piece of media, as plain values.

    ``robust`` maps a robust query variant's name to its hash and quality (never set for
    a bank entry's own hash).
    """

    pdq: PdqHash | None = None
    quality: int | None = None
    dihedral: Mapping[str, PdqHash] | None = None
    robust: Mapping[str, tuple[PdqHash, int]] | None = None
    md5: Md5 | None = None
    sha1: Sha1 | None = None
    sha256: Sha256 | None = None

    @classmethod
    def of(cls, value: HashValue) -> ContentHashes:
        """One bare hash (an API hash lookup), in the field of its signal type."""
        if isinstance(value, PdqHash):
            return cls(pdq=value)
        if isinstance(value, Md5):
            return cls(md5=value)
        if isinstance(value, Sha1):
            return cls(sha1=value)
        if isinstance(value, Sha256):
            return cls(sha256=value)
        raise TypeError(f"no content field for {value.signal_type} hashes")

    @classmethod
    def from_result(cls, result: Any) -> ContentHashes:
        """From a ``keepdown.hashing.HashResult`` (or anything with the same attributes).

        Dihedral values may be ``PdqHash`` or results carrying one in ``.hash``.
        """
        dihedral = getattr(result, "dihedral", None)
        if dihedral is not None:
            dihedral = {
                str(k): v if isinstance(v, PdqHash) else v.hash for k, v in dihedral.items()
            }
        robust = getattr(result, "robust", None)
        if robust is not None:
            robust = {str(k): (v.hash, int(v.quality)) for k, v in robust.items()}
        return cls(
            pdq=getattr(result, "pdq", None),
            quality=getattr(result, "quality", None),
            dihedral=dihedral,
            robust=robust,
            md5=getattr(result, "md5", None),
            sha1=getattr(result, "sha1", None),
            sha256=getattr(result, "sha256", None),
        )


@dataclass(frozen=True, slots=True)
class Match:
    """One bank entry the content matched, with how."""

    entry_id: int
    bank_id: int
    signal_type: SignalType | Literal["descriptor"]  # "descriptor": a learned embedding
    distance: int
    variant: str | None
    match_type: MatchType


class Verdict(StrEnum):
    """What the matches call for."""

    CONFIRMED = "confirmed"  # an exact match on a trusted bank
    REVIEW = "review"  # something matched; a person decides
    NO_MATCH = "no_match"


def match_hashes(
    hashes: ContentHashes,
    snapshot: IndexSnapshot,
    banks: Mapping[int, BankPolicy] | Iterable[BankPolicy],
    *,
    quality_floor: int = PdqHash.QUALITY_FLOOR,
    robust_max_distance: int = PdqHash.DEFAULT_THRESHOLD,
    pdq_threshold: int = PdqHash.DEFAULT_THRESHOLD,
) -> list[Match]:
    """Every match of ``hashes`` in ``snapshot`` allowed by ``banks`` (see the module steps).

    ``pdq_threshold`` is the policy for a bank that sets no PDQ threshold of its own.

    Entries of banks absent from ``banks`` or disabled are never reported. A PDQ hash with an
    unknown quality (``None``) is matched: hash lists imported from elsewhere carry none.
    A robust variant matches within its bank's threshold and ``robust_max_distance``.
    """
    policies = banks if isinstance(banks, Mapping) else {b.id: b for b in banks}
    live = {bank_id: b for bank_id, b in policies.items() if b.enabled}
    matches = _exact_matches(hashes, snapshot, live)
    limits = pdq_limits(live, pdq_threshold)
    matches.extend(_pdq_matches(hashes, snapshot, live, limits, quality_floor, robust_max_distance))
    return sorted(matches, key=_order)


def pdq_limits(banks: Mapping[int, BankPolicy], default: int) -> dict[int, int]:
    """Each enabled bank's PDQ distance threshold: its own, else the ``default`` policy; a
    negative threshold switches PDQ matching off for that bank."""
    limits = {i: int(b.threshold(SignalType.PDQ, default)) for i, b in banks.items() if b.enabled}
    return {i: t for i, t in limits.items() if t >= 0}


def _order(m: Match) -> tuple[int, int, int]:
    """Exact first, then near, then robust; closest first within each."""
    kind = {"exact": 0, "near": 1}.get(m.match_type, 2)
    return kind, m.distance, m.entry_id


def _exact_matches(
    hashes: ContentHashes, snapshot: IndexSnapshot, live: Mapping[int, BankPolicy]
) -> list[Match]:
    out = []
    for value in (hashes.md5, hashes.sha1, hashes.sha256):
        if value is None:
            continue
        for hit in snapshot.query_exact(value):
            if hit.bank_id in live:
                out.append(Match(hit.entry_id, hit.bank_id, value.signal_type, 0, None, "exact"))
    return out


def _pdq_matches(
    hashes: ContentHashes,
    snapshot: IndexSnapshot,
    live: Mapping[int, BankPolicy],
    limits: Mapping[int, int],
    quality_floor: int,
    robust_limit: int,
) -> list[Match]:
    variants = _variants(hashes)
    if hashes.quality is not None and hashes.quality < quality_floor:
        variants = {}
    opted = {i: min(t, robust_limit) for i, t in limits.items() if live[i].robust}
    robust = _robust_variants(hashes, quality_floor, variants) if opted else {}
    if not limits or not (variants or robust):
        return []
    names, words = query_words({**variants, **robust})
    pairs = snapshot.search_pdq(words, max(limits.values()))
    plain = pairs.query_row < len(variants)
    near = [
        Match(h.entry_id, h.bank_id, SignalType.PDQ, h.distance, h.variant, "near")
        for h in hits_from_pairs(_subset(pairs, plain), names)
        if h.bank_id in limits and h.distance <= limits[h.bank_id]
    ]
    seen = {m.entry_id for m in near}
    robust_only = [
        Match(h.entry_id, h.bank_id, SignalType.PDQ, h.distance, h.variant, ROBUST)
        for h in hits_from_pairs(_subset(pairs, ~plain), names)
        if h.bank_id in opted and h.distance <= opted[h.bank_id] and h.entry_id not in seen
    ]
    return near + robust_only


def _subset(pairs: PairHits, keep: np.ndarray) -> PairHits:
    return PairHits(*(column[keep] for column in pairs))


def _robust_variants(
    hashes: ContentHashes, quality_floor: int, plain: Mapping[str, PdqHash]
) -> dict[str, PdqHash]:
    """The robust variants worth a lookup: above the quality floor, and not equal to a hash
    already looked up (a trim of a picture without bars is the picture)."""
    out: dict[str, PdqHash] = {}
    known = set(plain.values())
    for name, (value, quality) in (hashes.robust or {}).items():
        if not isinstance(value, PdqHash):
            raise InvalidHash(f"robust variant {name!r} is not a PDQ hash")
        if quality >= quality_floor and value not in known:
            out[name] = value
            known.add(value)
    return out


def _variants(hashes: ContentHashes) -> dict[str, PdqHash]:
    variants: dict[str, PdqHash] = {}
    if hashes.pdq is not None:
        variants["original"] = hashes.pdq
    for name, value in (hashes.dihedral or {}).items():
        if not isinstance(value, PdqHash):
            raise InvalidHash(f"dihedral variant {name!r} is not a PDQ hash")
        if name not in variants and value not in variants.values():
            variants[name] = value
    return variants


def verdict(matches: Iterable[Match], banks: Mapping[int, BankPolicy]) -> Verdict:
    """CONFIRMED for an exact match in a trusted bank, REVIEW for any other match (a
    ``near (robust)`` one included: it never acts without a person)."""
    found = list(matches)
    if any(m.match_type == "exact" and banks[m.bank_id].trusted for m in found):
        return Verdict.CONFIRMED
    return Verdict.REVIEW if found else Verdict.NO_MATCH
