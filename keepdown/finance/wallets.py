"""Cryptocurrency addresses in text, kept only when their checksum holds.

A regular expression finds *candidates* (the right alphabet and length between word
boundaries); a candidate becomes a :class:`Wallet` only if it decodes and its checksum is right
(:mod:`keepdown.finance.codecs`), so random strings and mistyped or made-up addresses are
dropped. Mainnet only: testnet addresses are not payment indicators.

======== ======================================================= ==============================
type     forms                                                   checked by
======== ======================================================= ==============================
btc      ``1...`` P2PKH (version 0), ``3...`` P2SH (version 5)   Base58Check
btc      ``bc1q...`` segwit v0, ``bc1p...`` taproot and later    Bech32 / Bech32m (BIP-173/350)
ltc      ``L...`` P2PKH (48), ``M...`` P2SH (50)                 Base58Check
ltc      ``ltc1...`` segwit                                      Bech32 / Bech32m
eth      ``0x`` + 40 hex digits                                  EIP-55 when mixed case
xmr      ``4...`` standard (18) and integrated (19), ``8...``    Monero base58 + Keccak-256
         subaddress (42)
======== ======================================================= ==============================

An Ethereum address in one case only carries no checksum (EIP-55 is the mixed case); it is
kept, with ``detail`` saying so. Values are canonical: Bech32 lower-cased, Ethereum in its
EIP-55 form, Base58 as written (it is case-sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from keepdown.finance.codecs import (
    b58check_decode,
    keccak256,
    monero_b58decode,
    segwit_decode,
)

__all__ = ["Wallet", "eip55", "find_wallets", "validate_wallet"]

_B58 = "1-9A-HJ-NP-Za-km-z"
_CANDIDATES = re.compile(
    rf"(?<![{_B58}0-9A-Za-z])"
    rf"(?P<b58>[13LM][{_B58}]{{25,34}}"
    rf"|[48][{_B58}]{{94}}(?:[{_B58}]{{11}})?)"
    rf"(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(?P<bech>(?:bc|ltc)1[ac-hj-np-z02-9]{6,87})(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(?P<eth>0x[0-9a-fA-F]{40})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_BASE58_VERSIONS = {
    0: ("btc", "p2pkh"),
    5: ("btc", "p2sh"),
    48: ("ltc", "p2pkh"),
    50: ("ltc", "p2sh"),
}
_MONERO_NET = {18: "standard", 19: "integrated", 42: "subaddress"}
_SEGWIT_HRP = {"bc": "btc", "ltc": "ltc"}


@dataclass(frozen=True)
class Wallet:
    """A valid address: ``type`` (btc, ltc, eth, xmr), canonical ``value``, ``detail``."""

    type: str
    value: str
    detail: str


def eip55(address: str) -> str:
    """The EIP-55 mixed-case form of a ``0x`` address."""
    hexpart = address[2:].lower()
    digest = keccak256(hexpart.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hexpart)
    )


def _eth(text: str) -> Wallet | None:
    body = text[2:]
    if body.lower() == body or body.upper() == body:
        return Wallet("eth", eip55(text), "no checksum (single case)")
    canonical = eip55(text)
    return Wallet("eth", canonical, "eip55") if canonical[2:] == body else None


def _base58(text: str) -> Wallet | None:
    if text[0] in "48":
        return _monero(text)
    payload = b58check_decode(text)
    if payload is None or len(payload) != 21 or payload[0] not in _BASE58_VERSIONS:
        return None
    kind, detail = _BASE58_VERSIONS[payload[0]]
    return Wallet(kind, text, detail)


def _monero(text: str) -> Wallet | None:
    data = monero_b58decode(text)
    if data is None or len(data) not in (69, 77):
        return None
    net = _MONERO_NET.get(data[0])
    if net is None or (net == "integrated") != (len(data) == 77):
        return None
    if keccak256(data[:-4])[:4] != data[-4:]:
        return None
    return Wallet("xmr", text, net)


def _segwit(text: str) -> Wallet | None:
    hrp = text.split("1", 1)[0].lower()
    decoded = segwit_decode(hrp, text)
    if decoded is None:
        return None
    version, program = decoded
    detail = {(0, 20): "p2wpkh", (0, 32): "p2wsh", (1, 32): "p2tr"}.get(
        (version, len(program)), f"witness v{version}"
    )
    return Wallet(_SEGWIT_HRP[hrp], text.lower(), detail)


def validate_wallet(text: str) -> Wallet | None:
    """The :class:`Wallet` ``text`` is, or None (wrong checksum, alphabet, length, network)."""
    match = _CANDIDATES.fullmatch(text.strip())
    if match is None:
        return None
    return _check(match)


def _check(match: re.Match[str]) -> Wallet | None:
    if match["eth"]:
        return _eth(match["eth"])
    if match["bech"]:
        return _segwit(match["bech"])
    return _base58(match["b58"])


def find_wallets(text: str) -> Iterator[tuple[int, Wallet]]:
    """Every valid address in ``text`` with its offset, in order of appearance."""
    for match in _CANDIDATES.finditer(text):
        wallet = _check(match)
        if wallet is not None:
            yield match.start(), wallet
