"""Hash value types: validation at the edge, distance, encodings, signal type detection."""

from __future__ import annotations

import base64
import random

import pytest

from keepdown.errors import InvalidHash
from keepdown.hashing.types import (
    Md5,
    PdqHash,
    Sha1,
    Sha256,
    SignalType,
    detect_signal_type,
    hash_type,
    parse_hash,
)
from keepdown.testing import flip_bits

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.mark.parametrize(
    ("signal_type", "value", "cls"),
    [
        ("md5", "900150983cd24fb0d6963f7d28e17f72", Md5),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d", Sha1),
        ("SHA256", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", Sha256),
        (SignalType.PDQ, f"  {BRIDGE}\n", PdqHash),
    ],
)
def test_parse_hash_accepts_each_type_case_and_whitespace_insensitively(signal_type, value, cls):
    parsed = parse_hash(signal_type, value)
    assert type(parsed) is cls
    assert parsed.hex == value.strip().lower()
    assert str(parsed) == parsed.hex
    assert parsed.signal_type == cls.signal_type


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (BRIDGE[:-1], "64 hex characters, got 63"),
        (BRIDGE + "0", "64 hex characters, got 65"),
        ("", "64 hex characters, got 0"),
        (BRIDGE[:-1] + "g", "non-hex character 'g'"),
        ("0x" + BRIDGE[2:], "non-hex character 'x'"),
    ],
)
def test_parse_hash_names_the_problem(value, reason):
    with pytest.raises(InvalidHash, match=reason) as info:
        parse_hash("pdq", value)
    assert info.value.details["signal_type"] == "pdq"
    assert info.value.http_status == 400


@pytest.mark.parametrize("name", ["phash", "", "sha-256"])
def test_unknown_signal_type_is_refused(name):
    with pytest.raises(InvalidHash, match=r"unknown signal type .*; expected one of pdq, md5"):
        parse_hash(name, BRIDGE)


def test_vpdq_is_known_but_has_no_single_value():
    with pytest.raises(InvalidHash, match="vpdq has no single hash value"):
        parse_hash("vpdq", BRIDGE)


def test_non_string_value_is_invalid_not_a_crash():
    with pytest.raises(InvalidHash, match="must be a hex string, got NoneType"):
        parse_hash("md5", None)  # type: ignore[arg-type]


def test_hash_type_maps_names_to_classes():
    assert hash_type("pdq") is PdqHash
    assert hash_type(SignalType.MD5) is Md5


def test_constructor_checks_raw_length():
    with pytest.raises(InvalidHash, match="must be 16 bytes, got 15"):
        Md5(b"\x00" * 15)


def test_distance_is_hamming_and_symmetric():
    rng = random.Random(4)
    a = PdqHash.from_hex(BRIDGE)
    for bits in (0, 1, 31, 32, 256):
        b = PdqHash.from_hex(flip_bits(BRIDGE, bits, rng))
        assert a - b == bits
        assert b - a == bits


def test_distance_between_different_types_is_a_type_error():
    with pytest.raises(TypeError, match="cannot compare PdqHash with Sha256"):
        _ = PdqHash.from_hex(BRIDGE) - Sha256.from_hex(BRIDGE)


def test_equal_values_are_equal_and_hashable():
    assert PdqHash.from_hex(BRIDGE) == PdqHash.from_hex(BRIDGE.upper())
    assert len({PdqHash.from_hex(BRIDGE), PdqHash.from_hex(BRIDGE)}) == 1
    assert PdqHash.from_hex(BRIDGE) != Sha256.from_hex(BRIDGE)


def test_pdq_base64_round_trip():
    value = PdqHash.from_hex(BRIDGE)
    assert value.base64 == base64.b64encode(bytes.fromhex(BRIDGE)).decode()
    assert PdqHash.from_base64(value.base64) == value
    assert PdqHash.from_base64(f" {value.base64}\n") == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [("not base64!", "not valid base64"), (base64.b64encode(b"x" * 31).decode(), "32 bytes")],
)
def test_pdq_from_bad_base64(text, reason):
    with pytest.raises(InvalidHash, match=reason):
        PdqHash.from_base64(text)


def test_sha1_base32_matches_the_standard_encoding():
    value = Sha1.from_hex("a9993e364706816aba3e25717850c26c9cd0d89d")
    assert value.base32 == "VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5"


def test_examples_parse_and_constants_are_the_references():
    examples = [PdqHash.from_hex(e) for e in PdqHash.EXAMPLES]
    assert examples[0].hex == BRIDGE
    assert len(set(examples)) == len(examples)
    assert PdqHash.QUALITY_FLOOR == 50
    assert PdqHash.DEFAULT_THRESHOLD == 31


@pytest.mark.parametrize(
    ("value", "expected"),
    [("d41d8cd98f00b204e9800998ecf8427e", SignalType.MD5),
     (" DA39A3EE5E6B4B0D3255BFEF95601890AFD80709 ", SignalType.SHA1)],
)  # fmt: skip
def test_detect_signal_type_by_length(value, expected):
    assert detect_signal_type(value) is expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (BRIDGE, "may be PDQ or SHA-256"),
        ("abc", "no signal type has 3 hex characters"),
        ("zz" * 16, "not hexadecimal"),
    ],
)
def test_detect_signal_type_refuses_what_it_cannot_tell(value, reason):
    with pytest.raises(InvalidHash, match=reason):
        detect_signal_type(value)
