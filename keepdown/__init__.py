"""keepdown: find known child-sexual-abuse images, get them taken down, keep them down.

The public library surface is exactly :data:`__all__`; everything else is internal.
"""

from keepdown.errors import KeepdownError
from keepdown.hashing import HashResult, hash_bytes, hash_file
from keepdown.hashing.types import Md5, PdqHash, Sha1, Sha256, SignalType, parse_hash
from keepdown.settings import Settings, load_settings

__all__ = [
    "HashResult",
    "KeepdownError",
    "Md5",
    "PdqHash",
    "Settings",
    "Sha1",
    "Sha256",
    "SignalType",
    "hash_bytes",
    "hash_file",
    "load_settings",
    "parse_hash",
]

__version__ = "0.1.0"
