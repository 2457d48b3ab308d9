"""Indicator extraction: published vectors, near misses, and no false positives from noise."""

from __future__ import annotations

import random
import string

import pytest

from keepdown.errors import ConfigurationError
from keepdown.finance.codecs import b58check_decode, b58check_encode, segwit_decode
from keepdown.finance.emails import find_payment_emails
from keepdown.finance.extract import Extractor, Found
from keepdown.finance.payments import find_payment_links, load_patterns
from keepdown.finance.wallets import eip55, find_wallets, validate_wallet

from .vectors import (
    BASE58_INVALID,
    BASE58_VALID,
    EIP55_INVALID,
    EIP55_ONE_CASE,
    EIP55_VALID,
    MONERO_INVALID,
    MONERO_VALID,
    SEGWIT_INVALID,
    SEGWIT_VALID,
    TESTNET,
)


def litecoin(version: int) -> str:
    """A Litecoin address over the genesis address's hash (version 48 L..., 50 M...)."""
    payload = b58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
    assert payload is not None
    return b58check_encode(bytes([version]) + payload[1:])


@pytest.mark.parametrize(("address", "expected"), sorted(SEGWIT_VALID.items()))
def test_bip173_bip350_valid_vectors(address, expected):
    version, program = expected
    assert segwit_decode("bc", address) == (version, bytes.fromhex(program))
    wallet = validate_wallet(address)
    assert wallet is not None
    assert (wallet.type, wallet.value) == ("btc", address.lower())


@pytest.mark.parametrize("address", SEGWIT_INVALID + TESTNET)
def test_bip350_invalid_vectors_and_testnet_are_not_indicators(address):
    assert validate_wallet(address) is None
    assert list(find_wallets(f"pay to {address} now")) == []


@pytest.mark.parametrize("address", EIP55_VALID)
def test_eip55_vectors(address):
    assert eip55(address.lower()) == address
    wallet = validate_wallet(address)
    assert wallet is not None
    assert (wallet.type, wallet.value, wallet.detail) == ("eth", address, "eip55")


@pytest.mark.parametrize("address", EIP55_ONE_CASE)
def test_eip55_single_case_is_kept_without_checksum(address):
    wallet = validate_wallet(address)
    assert wallet is not None
    assert wallet.value == eip55(address)
    assert wallet.detail.startswith("no checksum")


@pytest.mark.parametrize("address", EIP55_INVALID + BASE58_INVALID + MONERO_INVALID)
def test_near_misses_are_rejected(address):
    assert validate_wallet(address) is None


@pytest.mark.parametrize(("address", "kind"), sorted(BASE58_VALID.items()))
def test_base58check_bitcoin(address, kind):
    wallet = validate_wallet(address)
    assert wallet is not None
    assert (wallet.type, wallet.detail) == kind


def test_litecoin_and_monero():
    for version, detail, first in ((48, "p2pkh", "L"), (50, "p2sh", "M")):
        address = litecoin(version)
        assert address[0] == first
        wallet = validate_wallet(address)
        assert wallet is not None
        assert (wallet.type, wallet.detail) == ("ltc", detail)
    monero = validate_wallet(MONERO_VALID)
    assert monero is not None
    assert (monero.type, monero.detail) == ("xmr", "standard")


def _noise(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    words = []
    for _ in range(n):
        size = rng.choice([4, 8, 26, 33, 34, 40, 42, 62, 95, 106])
        prefix = rng.choice(["", "0x", "1", "3", "bc1", "ltc1", "4", "8", "L", "M"])
        words.append(prefix + "".join(rng.choice(alphabet) for _ in range(size)))
    return " ".join(words)


def test_no_false_positives_from_random_strings():
    """Thousands of random strings of address-like shapes and prefixes: none is taken."""
    rng = random.Random(20260901)
    extractor = Extractor()
    for _ in range(40):
        text = _noise(rng, 250)
        assert extractor(text) == [], text[:200]
    hexy = " ".join(
        "0x" + "".join(rng.choice("0123456789aAbBcCdDeEfF") for _ in range(40)) for _ in range(500)
    )
    assert not [f for f in extractor(hexy) if f.detail == "eip55"]  # mixed case never passes
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 200
    assert extractor(lorem) == []


def test_payment_links_and_merchants():
    text = (
        "Support: https://www.PayPal.me/SellerName99 or https://cash.app/$sellercash, "
        "also https://buy.stripe.com/aBcDeFgH1234 and https://example.org/paypal.me/no"
    )
    found = [link for _, link in find_payment_links(text)]
    assert [(f.service, f.merchant) for f in found] == [
        ("paypal", "SellerName99"),
        ("cashapp", "sellercash"),
        ("stripe", "aBcDeFgH1234"),
    ]
    assert found[0].value == "https://www.paypal.me/SellerName99"


def test_payment_patterns_from_a_toml_file(tmp_path):
    conf = tmp_path / "pay.toml"
    conf.write_text(
        "[[service]]\nname = 'examplepay'\n"
        "pattern = 'https?://examplepay\\.test/m/(?P<merchant>[a-z0-9]{3,20})'\n"
    )
    patterns = load_patterns(conf)
    found = [link for _, link in find_payment_links("https://examplepay.test/m/shop42", patterns)]
    assert [(f.service, f.merchant) for f in found] == [("examplepay", "shop42")]
    bad = tmp_path / "bad.toml"
    bad.write_text("[[service]]\nname = 'x'\npattern = 'no-group'\n")
    with pytest.raises(ConfigurationError):
        load_patterns(bad)
    with pytest.raises(ConfigurationError):
        load_patterns(tmp_path / "missing.toml")


def test_emails_only_near_payment_words():
    text = (
        "Contact webmaster@site.test for anything. "
        + "x" * 200
        + " To buy, send the e-transfer to Seller.Pay@Mail.test and wait."
    )
    assert [e for _, e in find_payment_emails(text)] == ["seller.pay@mail.test"]
    assert list(find_payment_emails("price list: none; write to info@site.test", 10)) == []


def test_extractor_dedupes_in_order():
    page = (
        f"BTC: {next(iter(BASE58_VALID))} ETH {EIP55_VALID[0]} again {next(iter(BASE58_VALID))}"
        f" XMR {MONERO_VALID} pay via https://paypal.me/abc123"
    )
    found = Extractor()(page)
    assert [f.type for f in found] == ["btc", "eth", "xmr", "payment_link"]
    assert Found("eth", EIP55_VALID[0], "eip55") in found
    assert Extractor(max_chars=10)(page) == []
