"""C3P's own Arachnid Shield clients, sync and async, pointed at keepdown on loopback.

The SDK is aimed the documented way: ``ARACHNID_SHIELD_URL``, which it reads when it is
imported (its client's default ``base_url``), so this module sets it before importing the SDK
and serves keepdown on that port. Nothing of the SDK is patched.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from keepdown.app import Runtime, build_app
from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import PdqHash
from keepdown.testing import flip_bits, synthetic_jpeg
from tests.api.conftest import OTHER_SEED, known_jpeg, make_settings, seed_known_bank


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = _free_port()
os.environ["ARACHNID_SHIELD_URL"] = f"http://127.0.0.1:{PORT}/"
shield = pytest.importorskip("arachnid_shield_sdk")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp("shield")
    app, services = build_app(make_settings(folder), refresh_in_background=False)
    seed_known_bank(services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield services
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def key(served: Runtime) -> tuple[str, str, str]:
    """(key id, secret, whole token) of a fresh platform key."""
    token = served.auth.issue_key("acme", Role.PLATFORM).token
    key_id, secret = token[3:].split("_", 1)
    return key_id, secret, token


def test_the_sdk_is_aimed_at_keepdown_by_its_environment_variable(served, key) -> None:
    assert shield.ArachnidShield(key[0], key[1]).base_url == f"http://127.0.0.1:{PORT}/"


def test_scan_media_from_bytes_matches_known_and_reports_hashes(served, key) -> None:
    client = shield.ArachnidShield(key[0], key[1])
    data = known_jpeg()
    scanned = client.scan_media_from_bytes(data, "image/jpeg")
    expected = hash_bytes(data, mode="exact")
    assert scanned.matches_known_media
    assert scanned.classification == shield.MediaClassification.CSAM
    assert scanned.match_type == shield.MatchType.Exact
    assert scanned.near_match_details == []  # exact: no PDQ details, as Shield answers
    assert scanned.size_bytes == len(data)
    assert scanned.sha1_base32 == expected.sha1.base32
    assert scanned.sha256_hex == expected.sha256.hex.upper()
    clean = client.scan_media_from_bytes(synthetic_jpeg(OTHER_SEED), "image/jpeg")
    assert not clean.matches_known_media
    assert clean.classification == shield.MediaClassification.NoKnownMatch
    assert clean.match_type is None


def test_near_copy_is_a_near_match_with_details(served, key) -> None:
    client = shield.ArachnidShield(key[0], key[1])
    buf = BytesIO()
    Image.open(BytesIO(known_jpeg())).save(buf, "JPEG", quality=40)
    scanned = client.scan_media_from_bytes(buf.getvalue(), "image/jpeg")
    assert scanned.match_type == shield.MatchType.Near
    assert len(scanned.near_match_details) == 1
    assert scanned.near_match_details[0].classification == "csam"


def test_scan_media_from_file(served, key, tmp_path: Path) -> None:
    path = tmp_path / "upload.jpg"
    path.write_bytes(known_jpeg())
    scanned = shield.ArachnidShield(key[0], key[1]).scan_media_from_file(path)
    assert scanned.match_type == shield.MatchType.Exact


def test_scan_media_from_url_of_a_loopback_site(served, key, image_site: str) -> None:
    client = shield.ArachnidShield(key[0], key[1])
    scanned = client.scan_media_from_url(f"{image_site}/known.jpg")
    assert scanned.matches_known_media
    assert scanned.match_type == shield.MatchType.Exact
    assert scanned.size_bytes == len(known_jpeg())


def test_the_async_client(served, key, tmp_path: Path, image_site: str) -> None:
    path = tmp_path / "clean.jpg"
    path.write_bytes(synthetic_jpeg(OTHER_SEED))

    async def scan() -> tuple[object, object, object]:
        client = shield.ArachnidShieldAsync(key[0], key[1])
        return (
            await client.scan_media_from_bytes(known_jpeg(), "image/jpeg"),
            await client.scan_media_from_file(path),
            await client.scan_media_from_url(f"{image_site}/known.jpg"),
        )

    from_bytes, from_file, from_url = asyncio.run(scan())
    assert from_bytes.match_type == shield.MatchType.Exact
    assert from_file.classification == shield.MediaClassification.NoKnownMatch
    assert from_url.matches_known_media


def test_scan_pdq_hashes_with_the_whole_key_as_password(served, key) -> None:
    client = shield.ArachnidShield("", key[2])
    known = hash_bytes(known_jpeg(), mode="exact").pdq
    near = PdqHash.from_hex(flip_bits(known.hex, 10, random.Random(3)))
    far = PdqHash.from_hex(flip_bits(known.hex, 90, random.Random(3)))
    result = client.scan_pdq_hashes(shield.ScanMediaFromPdq(hashes=[near.base64, far.base64]))
    assert set(result.scanned_hashes) == {near.base64, far.base64}
    hit, miss = result.scanned_hashes[near.base64], result.scanned_hashes[far.base64]
    assert hit.matches_known_media
    assert hit.match_type == shield.MatchType.Near
    assert not miss.matches_known_media
    assert miss.near_match_details is None


def test_errors_reach_the_sdk_as_its_exception(served, key) -> None:
    wrong = shield.ArachnidShield("0000000000000000", "nope")
    with pytest.raises(shield.ArachnidShieldException, match="not valid"):
        wrong.scan_media_from_bytes(b"\xff\xd8\xff", "image/jpeg")
    client = shield.ArachnidShield("", key[2])
    with pytest.raises(shield.ArachnidShieldException, match=r"blocked|refused|not allowed"):
        client.scan_media_from_url("http://169.254.169.254/latest/meta-data")
    with pytest.raises(shield.ArachnidShieldException, match="base64"):
        client.scan_pdq_hashes(shield.ScanMediaFromPdq(hashes=["***"]))
    # an undecodable picture is not "no known match": the SDK hears why
    with pytest.raises(shield.ArachnidShieldException, match=r"decode|image"):
        client.scan_media_from_bytes(b"\xff\xd8\xff\xe0 truncated", "image/jpeg")


def test_a_hex_pdq_is_refused_with_a_hint_that_base64_is_expected() -> None:
    # Issue 15: given hex, /v1/pdq/ said "got 48 bytes" and nothing more.
    from keepdown.errors import InvalidHash
    from keepdown.hashing.types import PdqHash

    hex_form = "f" * 8 + "0123456789abcdef" * 3 + "e" * 8
    with pytest.raises(InvalidHash, match=r"base64.*44 characters"):
        PdqHash.from_base64(hex_form)
    assert PdqHash.from_base64(PdqHash.from_hex(hex_form).base64).hex == hex_form
