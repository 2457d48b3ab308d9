"""Hash values as validated types.

A hash is never a bare string inside keepdown: :func:`parse_hash` (or ``PdqHash.from_hex`` and
friends) checks length and characters once, at the edge, and raises :class:`InvalidHash` with
the reason. ``a - b`` is the Hamming distance (as in imagehash), which for exact hashes is only
meaningful as 0 / not 0. Signal type names are those python-threatexchange uses.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from keepdown.errors import InvalidHash

__all__ = [
    "HashValue",
    "Md5",
    "PdqHash",
    "Sha1",
    "Sha256",
    "SignalType",
    "VpdqFeature",
    "VpdqHash",
    "detect_signal_type",
    "parse_hash",
]

_HEX = re.compile(r"^[0-9a-f]*$")


class SignalType(StrEnum):
    """The kinds of hash keepdown stores and matches."""

    PDQ = "pdq"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    VPDQ = "vpdq"


@dataclass(frozen=True, slots=True)
class HashValue:
    """A validated hash: raw bytes plus the signal type they belong to."""

    raw: bytes
    signal_type: ClassVar[SignalType]
    n_bytes: ClassVar[int]

    def __post_init__(self) -> None:
        if len(self.raw) != self.n_bytes:
            raise InvalidHash(
                f"{self.signal_type} hash must be {self.n_bytes} bytes, got {len(self.raw)}",
                signal_type=str(self.signal_type),
            )

    @classmethod
    def from_hex(cls, value: str) -> HashValue:
        if not isinstance(value, str):
            raise InvalidHash(
                f"{cls.signal_type} hash must be a hex string, got {type(value).__name__}",
                signal_type=str(cls.signal_type),
            )
        text = value.strip().lower()
        want = cls.n_bytes * 2
        if len(text) != want:
            raise InvalidHash(
                f"{cls.signal_type} hash must be {want} hex characters, got {len(text)}",
                signal_type=str(cls.signal_type),
                value=value[:80],
            )
        if not _HEX.match(text):
            bad = next(c for c in text if c not in "0123456789abcdef")
            raise InvalidHash(
                f"{cls.signal_type} hash has a non-hex character {bad!r}",
                signal_type=str(cls.signal_type),
                value=value[:80],
            )
        return cls(bytes.fromhex(text))

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def __str__(self) -> str:
        return self.hex

    def __sub__(self, other: HashValue) -> int:
        """Hamming distance in bits between two hashes of the same type."""
        if type(other) is not type(self):
            raise TypeError(f"cannot compare {type(self).__name__} with {type(other).__name__}")
        return (int.from_bytes(self.raw, "big") ^ int.from_bytes(other.raw, "big")).bit_count()


@dataclass(frozen=True, slots=True)
class Md5(HashValue):
    signal_type: ClassVar[SignalType] = SignalType.MD5
    n_bytes: ClassVar[int] = 16


@dataclass(frozen=True, slots=True)
class Sha1(HashValue):
    signal_type: ClassVar[SignalType] = SignalType.SHA1
    n_bytes: ClassVar[int] = 20

    @property
    def base32(self) -> str:
        """Base32 form, as C3P's Shield API reports ``sha1_base32``."""
        return base64.b32encode(self.raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class Sha256(HashValue):
    signal_type: ClassVar[SignalType] = SignalType.SHA256
    n_bytes: ClassVar[int] = 32


@dataclass(frozen=True, slots=True)
class PdqHash(HashValue):
    """A 256-bit PDQ hash.

    Bit order follows the reference: the hex string is the 16 words of 16 bits, most
    significant word first, exactly as ``pdq-photo-hasher`` and python-threatexchange print it.
    """

    signal_type: ClassVar[SignalType] = SignalType.PDQ
    n_bytes: ClassVar[int] = 32
    #: Below this quality the reference recommends not matching (too little detail).
    QUALITY_FLOOR: ClassVar[int] = 50
    #: Distance at which two PDQ hashes are usually said to match.
    DEFAULT_THRESHOLD: ClassVar[int] = 31
    #: Known values (python-threatexchange's ``PdqSignal.get_examples()`` and the bridge photo).
    EXAMPLES: ClassVar[tuple[str, ...]] = (
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "acecf3355e3125c8e24e2f30e0d4ec4f8482b878b3c34cdbdf063278db275992",
        "8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c",
    )

    @classmethod
    def from_base64(cls, value: str) -> PdqHash:
        """PDQ hash from base64 (the form C3P's Shield API sends in ``/v1/pdq/``)."""
        text = value.strip()
        hint = ""
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            hint = (
                ": this looks like the 64-character hex form; send the 32 raw bytes in base64"
                " (44 characters), e.g. base64.b64encode(bytes.fromhex(hex))"
            )
        try:
            raw = base64.b64decode(text, validate=True)
        except (ValueError, TypeError) as exc:
            raise InvalidHash("PDQ hash is not valid base64" + hint, value=value[:80]) from exc
        if hint and len(raw) != 32:
            raise InvalidHash(f"PDQ hash must be 32 bytes, got {len(raw)}{hint}", value=value[:80])
        return cls(raw)

    @property
    def base64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class VpdqFeature:
    """One hashed video frame: its PDQ hash, quality (0-100) and time in the video (seconds)."""

    hash: PdqHash
    quality: int
    timestamp: float

    def __str__(self) -> str:
        """``pdq_hex,quality,timestamp``: python-threatexchange's compact feature string."""
        return f"{self.hash.hex},{self.quality},{self.timestamp:.3f}"


@dataclass(frozen=True, slots=True)
class VpdqHash:
    """A vPDQ signal: the frame features of one video, in order (a list, not one value).

    Its text form (:attr:`hex`, kept for symmetry with the other hash types) is the one
    python-threatexchange's ``VPDQSignal`` and HMA store: a JSON list of ``"pdq_hex,quality,
    timestamp"`` strings. :meth:`from_hex` reads that form back, and also a JSON list of
    ``{"hash", "quality", "timestamp"}`` objects.
    """

    features: tuple[VpdqFeature, ...]
    signal_type: ClassVar[SignalType] = SignalType.VPDQ
    MAX_FEATURES: ClassVar[int] = 100_000

    @classmethod
    def from_hex(cls, value: str) -> VpdqHash:
        import json

        if not isinstance(value, str):
            raise InvalidHash("vpdq signal must be a JSON text", signal_type="vpdq")
        shape = "a JSON list of 'pdq_hex,quality,timestamp' frames"
        try:
            items = json.loads(value or "[]")
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise InvalidHash(f"vpdq has no single hash value: give {shape}", signal_type="vpdq")
        if len(items) > cls.MAX_FEATURES:
            raise InvalidHash(
                f"vpdq signal has {len(items)} frames, more than {cls.MAX_FEATURES}",
                signal_type="vpdq",
            )
        return cls(tuple(_vpdq_feature(item, i) for i, item in enumerate(items)))

    @property
    def hex(self) -> str:
        import json

        return json.dumps([str(f) for f in self.features], separators=(",", ":"))

    def __str__(self) -> str:
        return self.hex


def _vpdq_feature(item: object, position: int) -> VpdqFeature:
    where = f"vpdq frame {position}"
    if isinstance(item, dict):
        parts = [item.get("hash"), item.get("quality"), item.get("timestamp", 0.0)]
    elif isinstance(item, str) and item.count(",") == 2:
        parts = item.split(",")
    else:
        raise InvalidHash(f"{where}: expected 'pdq_hex,quality,timestamp'", signal_type="vpdq")
    try:
        quality, timestamp = int(str(parts[1])), float(str(parts[2]))
    except ValueError:
        raise InvalidHash(f"{where}: bad quality or timestamp", signal_type="vpdq") from None
    if not 0 <= quality <= 100 or not timestamp >= 0:
        raise InvalidHash(f"{where}: quality or timestamp out of range", signal_type="vpdq")
    pdq = PdqHash.from_hex(str(parts[0]))
    assert isinstance(pdq, PdqHash)
    return VpdqFeature(pdq, quality, round(timestamp, 3))


_TYPES: dict[SignalType, type[HashValue]] = {
    SignalType.PDQ: PdqHash,
    SignalType.MD5: Md5,
    SignalType.SHA1: Sha1,
    SignalType.SHA256: Sha256,
}


def hash_type(signal_type: str | SignalType) -> type[HashValue]:
    """The value type for a signal type name (``'pdq'``, ``'md5'``...)."""
    try:
        known = SignalType(str(signal_type).lower())
    except ValueError:
        raise InvalidHash(
            f"unknown signal type {signal_type!r}; expected one of "
            + ", ".join(t.value for t in _TYPES),
        ) from None
    if known not in _TYPES:
        raise InvalidHash(f"signal type {known} has no single hash value (it is a list per video)")
    return _TYPES[known]


def parse_hash(signal_type: str | SignalType, value: str) -> HashValue:
    """Validate ``value`` as a hash of ``signal_type`` (hex), or raise :class:`InvalidHash`.

    A ``vpdq`` value (a list per video) gives a :class:`VpdqHash`, which has the same
    ``signal_type`` and ``hex`` (its canonical text) as the fixed-size hash types.
    """
    if str(signal_type).lower() == SignalType.VPDQ.value:
        return VpdqHash.from_hex(value)  # type: ignore[return-value]
    return hash_type(signal_type).from_hex(value)


def detect_signal_type(value: str) -> SignalType:
    """Guess the signal type from a hex value's length.

    32 hex characters is MD5 and 40 is SHA-1. 64 is ambiguous (PDQ and SHA-256 are both 256
    bits), so the caller must say which: that raises :class:`InvalidHash` with the reason.
    """
    text = value.strip().lower()
    if not _HEX.match(text):
        raise InvalidHash("hash value is not hexadecimal", value=value[:80])
    if len(text) == 32:
        return SignalType.MD5
    if len(text) == 40:
        return SignalType.SHA1
    if len(text) == 64:
        raise InvalidHash(
            "a 64-character hash may be PDQ or SHA-256: give the signal type explicitly",
            value=value[:80],
        )
    raise InvalidHash(f"no signal type has {len(text)} hex characters", value=value[:80])
