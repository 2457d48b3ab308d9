"""C3P's own Arachnid Shield client, pointed at keepdown served by uvicorn on loopback."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from keepdown.app import Services, build_app
from keepdown.auth import Role
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import PdqHash
from keepdown.testing import flip_bits, synthetic_jpeg
from tests.api.conftest import OTHER_SEED, known_jpeg, make_settings, seed_known_bank

shield = pytest.importorskip("arachnid_shield_sdk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, Services]]:
    app, services = build_app(make_settings(tmp_path), refresh_in_background=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/", services
    server.should_exit = True
    thread.join(timeout=10)


def client_for(base_url: str, username: str, password: str):
    client = shield.ArachnidShield(username=username, password=password)
    # The SDK reads its base URL from the environment at import time; aim it at loopback.
    client._ArachnidShield__base_url = base_url
    return client


@pytest.fixture
def sdk(served):
    base_url, services = served
    seed_known_bank(services)
    issued = services.auth.issue_key("acme", Role.PLATFORM)
    secret = issued.token.split("_", 2)[2]
    return client_for(base_url, issued.key.key_id, secret), services, issued.token


def test_scan_media_from_bytes_matches_known_and_reports_hashes(sdk) -> None:
    client, _services, _token = sdk
    data = known_jpeg()
    scanned = client.scan_media_from_bytes(data, "image/jpeg")
    expected = hash_bytes(data, mode="exact")
    assert scanned.matches_known_media
    assert scanned.classification == shield.MediaClassification.CSAM
    assert scanned.match_type == shield.MatchType.Exact
    assert scanned.size_bytes == len(data)
    assert scanned.sha1_base32 == expected.sha1.base32
    assert scanned.sha256_hex == expected.sha256.hex.upper()
    clean = client.scan_media_from_bytes(synthetic_jpeg(OTHER_SEED), "image/jpeg")
    assert not clean.matches_known_media
    assert clean.classification == shield.MediaClassification.NoKnownMatch
    assert clean.match_type is None


def test_near_copy_is_a_near_match_with_details(sdk) -> None:
    from io import BytesIO

    from PIL import Image

    client, _services, _token = sdk
    buf = BytesIO()
    Image.open(BytesIO(known_jpeg())).save(buf, "JPEG", quality=40)
    scanned = client.scan_media_from_bytes(buf.getvalue(), "image/jpeg")
    assert scanned.match_type == shield.MatchType.Near
    assert len(scanned.near_match_details) == 1
    assert scanned.near_match_details[0].classification == "csam"


def test_scan_pdq_hashes_with_the_whole_key_as_password(served) -> None:
    base_url, services = served
    seed_known_bank(services)
    token = services.auth.issue_key("acme", Role.PLATFORM).token
    client = client_for(base_url, "", token)
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


def test_errors_reach_the_sdk_as_its_exception(served) -> None:
    base_url, services = served
    wrong = client_for(base_url, "0000000000000000", "nope")
    with pytest.raises(shield.ArachnidShieldException, match="not valid"):
        wrong.scan_media_from_bytes(b"\xff\xd8\xff", "image/jpeg")
    services.auth.ensure_organisation("acme")
    token = services.auth.issue_key("acme", Role.PLATFORM).token
    client = client_for(base_url, "", token)
    with pytest.raises(shield.ArachnidShieldException, match=r"blocked|refused|not allowed"):
        client.scan_media_from_url("http://169.254.169.254/latest/meta-data")
    with pytest.raises(shield.ArachnidShieldException, match="base64"):
        client.scan_pdq_hashes(shield.ScanMediaFromPdq(hashes=["***"]))
