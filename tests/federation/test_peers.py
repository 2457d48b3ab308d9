"""Peers and the referral rule (keepdown.federation.peers)."""

from __future__ import annotations

import pytest

from keepdown.clock import utc
from keepdown.errors import InvalidInput
from keepdown.federation.peers import Peer, PeerSpec, check_countries, referral_peer

T = utc(2026, 1, 1)


def _peer(name: str, countries: tuple[str, ...], enabled: bool = True) -> Peer:
    return Peer(1, name, countries, "http://127.0.0.1:1", b"k" * 32, "", enabled, T, T)


def test_a_sighting_goes_to_the_peer_covering_its_country() -> None:
    peers = [_peer("hotline-c", ("FR",)), _peer("hotline-b", ("BE", "LU"))]
    assert referral_peer("be", ["NL"], peers).name == "hotline-b"  # type: ignore[union-attr]
    assert referral_peer("NL", ["NL"], peers) is None  # ours
    assert referral_peer("", ["NL"], peers) is None  # unknown
    assert referral_peer("DE", ["NL"], peers) is None  # nobody's
    assert referral_peer("FR", ["NL"], [_peer("hotline-c", ("FR",), enabled=False)]) is None


def test_countries_and_specs_are_checked() -> None:
    assert check_countries(["be", "NL ", "BE"]) == ("BE", "NL")
    with pytest.raises(InvalidInput):
        check_countries(["Belgium"])
    spec = PeerSpec("hotline-b", ["be"], "http://127.0.0.1:9/", b"k" * 32, "PEER_B_KEY")
    assert spec.checked().url == "http://127.0.0.1:9"
    with pytest.raises(InvalidInput):
        PeerSpec("b", [], "ftp://x", b"k" * 32).checked()
    with pytest.raises(InvalidInput):
        PeerSpec("b", [], "http://x", b"k" * 32, token_env="kd_secret value").checked()
