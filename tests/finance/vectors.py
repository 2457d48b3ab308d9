"""Published test vectors (BIP-173, BIP-350, EIP-55, well-known addresses) and near misses.

Valid ones are the specifications' own examples; the invalid ones are the specifications'
invalid vectors plus valid addresses with one character changed (a bad checksum).
"""

from __future__ import annotations

# BIP-173 / BIP-350 valid mainnet segwit addresses (and the program each encodes).
SEGWIT_VALID = {
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4": (0, "751e76e8199196d454941c45d1b3a323f1433bd6"),
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y": (
        1,
        "751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    "BC1SW50QGDZ25J": (16, "751e"),
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs": (2, "751e76e8199196d454941c45d1b3a323"),
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0": (
        1,
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
}
# Valid, but testnet: not a payment indicator of the main networks.
TESTNET = [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
]
# BIP-350's invalid addresses (and BIP-173's v1 example, invalid since Bech32m).
SEGWIT_INVALID = [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32, not bech32m
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32, not bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m for v0
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # bad character
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # version 17
    "bc1pw5dgrnzv",  # program of 1 byte
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 program of 16 bytes
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # padding > 4 bits
    "bc1gmk9yu",  # empty data
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",  # BIP-173 v1
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T5",  # last character changed
]
# EIP-55's examples (mixed case: checksummed; one case: no checksum).
EIP55_VALID = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
EIP55_ONE_CASE = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]
EIP55_INVALID = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  # one letter's case flipped
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d35",  # 39 digits
]
BASE58_VALID = {
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": ("btc", "p2pkh"),  # the genesis block's address
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": ("btc", "p2pkh"),
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy": ("btc", "p2sh"),
}
BASE58_INVALID = [
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # last character changed
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0",  # 0 is not base58
]
# The Monero project's donation address (standard, network byte 18).
MONERO_VALID = (
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSs"
    "aBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)
MONERO_INVALID = [
    MONERO_VALID[:-1] + "B",  # checksum broken
    MONERO_VALID[:50] + "x" + MONERO_VALID[51:],  # one character changed
]
