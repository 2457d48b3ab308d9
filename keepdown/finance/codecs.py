"""The address encodings payment indicators use, with their checksums.

- **Base58Check** (Bitcoin, Litecoin): base58 text -> bytes; the last four bytes are the first
  four of SHA-256(SHA-256(the rest));
- **Monero base58**: the same alphabet, but in blocks of 8 bytes <-> 11 characters (a shorter
  last block has its own fixed length), checksum = first four bytes of Keccak-256;
- **Bech32 / Bech32m** (BIP-173, BIP-350): ``hrp 1 data`` with a BCH checksum; the constant is
  1 for Bech32 and ``0x2bc830a3`` for Bech32m; segwit version 0 must use Bech32, versions
  1-16 Bech32m;
- **Keccak-256** (Ethereum's "sha3", not NIST SHA3-256) from pycryptodome.

Every decoder returns None for text that is not a valid encoding: a wrong checksum, a
character outside the alphabet, a wrong length. Callers never see an exception for bad input.
"""

from __future__ import annotations

import hashlib

from Crypto.Hash import keccak

__all__ = [
    "BECH32",
    "BECH32M",
    "b58check_decode",
    "b58check_encode",
    "b58decode",
    "b58encode",
    "bech32_decode",
    "keccak256",
    "monero_b58decode",
    "segwit_decode",
]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def b58decode(text: str) -> bytes | None:
    number = 0
    for char in text:
        digit = _INDEX.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = ALPHABET[rem] + out
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + out


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def b58check_decode(text: str) -> bytes | None:
    """The payload (version byte first) of a Base58Check string, or None."""
    raw = b58decode(text)
    if raw is None or len(raw) < 5:
        return None
    payload, check = raw[:-4], raw[-4:]
    return payload if _checksum(payload) == check else None


def b58check_encode(payload: bytes) -> str:
    return b58encode(payload + _checksum(payload))


# --- Monero base58 ----------------------------------------------------------------------------

_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)  # characters for a block of n bytes


def monero_b58decode(text: str) -> bytes | None:
    """Monero's block base58 -> bytes (the checksum is the caller's), or None."""
    full, rest = divmod(len(text), 11)
    if rest not in _BLOCK_CHARS:
        return None
    out = bytearray()
    chunks = [text[i * 11 : (i + 1) * 11] for i in range(full)]
    if rest:
        chunks.append(text[full * 11 :])
    for chunk in chunks:
        size = _BLOCK_CHARS.index(len(chunk))
        number = 0
        for char in chunk:
            digit = _INDEX.get(char)
            if digit is None:
                return None
            number = number * 58 + digit
        if number >= 1 << (8 * size):
            return None  # overflow: not a block this many bytes long can encode
        out += number.to_bytes(size, "big")
    return bytes(out)


# --- Bech32 / Bech32m -------------------------------------------------------------------------

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32, BECH32M = 1, 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_decode(text: str) -> tuple[str, list[int], int] | None:
    """(hrp, 5-bit data without checksum, BECH32 or BECH32M), or None (BIP-173 rules)."""
    if len(text) > 90 or any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is never valid
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        return None
    hrp = text[:pos]
    try:
        data = [CHARSET.index(c) for c in text[pos + 1 :]]
    except ValueError:
        return None
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (BECH32, BECH32M):
        return None
    return hrp, data[:-6], const


def _convert_bits(data: list[int], frm: int, to: int) -> bytes | None:
    """Regroup bits without padding (decoding); None on leftover non-zero or >4 pad bits."""
    acc = bits = 0
    out = bytearray()
    maxv = (1 << to) - 1
    for value in data:
        acc = (acc << frm) | value
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & maxv)
    if bits >= frm or ((acc << (to - bits)) & maxv):
        return None
    return bytes(out)


def segwit_decode(hrp: str, text: str) -> tuple[int, bytes] | None:
    """(witness version, program) of a segwit address of ``hrp`` (BIP-173/350), or None."""
    decoded = bech32_decode(text)
    if decoded is None or decoded[0] != hrp or not decoded[1]:
        return None
    _, data, const = decoded
    version = data[0]
    if version > 16:
        return None
    program = _convert_bits(data[1:], 5, 8)
    if program is None or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    if (version == 0) != (const == BECH32):
        return None  # v0 must be Bech32, v1+ must be Bech32m
    return version, program
