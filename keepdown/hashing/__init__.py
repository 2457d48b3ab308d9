"""Hashing: from bytes or a file to every hash keepdown matches on.

:func:`hash_bytes` and :func:`hash_file` (:mod:`keepdown.hashing.facade`) are the one way in:
exact hashes always, PDQ and its quality when the input is a decodable image (the 8 rotations
and mirrors, every frame, on request), the reason when it is not. The parts:

- :mod:`~keepdown.hashing.decode`: safe decoding (byte and pixel limits, bombs, every mode to
  RGB); :mod:`~keepdown.hashing.exact`: MD5, SHA-1, SHA-256 in one streamed pass;
- :mod:`~keepdown.hashing.pdq` (+ ``pdq_filter``, ``fast``): PDQ bit-identical to the
  reference, and the reduced-scale fast mode for JPEGs;
- :mod:`~keepdown.hashing.types`: the validated hash value types.

See ``docs/hashing.md``. **Bank entries are always hashed in exact mode.**
"""

from __future__ import annotations

from keepdown.hashing.decode import (
    ALLOWED_FORMATS,
    MEDIA_TYPES,
    DecodedImage,
    ImageInfo,
    decode_image,
)
from keepdown.hashing.exact import ExactHashes, exact_hashes
from keepdown.hashing.facade import HashMode, HashResult, hash_bytes, hash_file
from keepdown.hashing.pdq import DIHEDRAL_NAMES, PdqResult, warm_up

__all__ = [
    "ALLOWED_FORMATS",
    "DIHEDRAL_NAMES",
    "MEDIA_TYPES",
    "DecodedImage",
    "ExactHashes",
    "HashMode",
    "HashResult",
    "ImageInfo",
    "PdqResult",
    "decode_image",
    "exact_hashes",
    "hash_bytes",
    "hash_file",
    "warm_up",
]
