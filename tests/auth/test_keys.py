"""API key tokens: shape, parsing from headers (Bearer and both Basic forms), digests."""

from __future__ import annotations

import base64

import pytest

from keepdown.auth import keys
from keepdown.errors import AuthError


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_new_tokens_are_unique_and_well_shaped() -> None:
    tokens = {keys.new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert keys.parse_token(token) == token
        assert token.startswith("kd_")
        assert len(token.key_id) == 16


def test_bearer_and_both_basic_forms_give_the_same_token() -> None:
    token = keys.new_token()
    secret = token[len("kd_") + 17 :]
    assert keys.from_header(f"Bearer {token}") == token
    assert keys.from_header(basic(token.key_id, secret)) == token
    assert keys.from_header(basic("anything", token)) == token


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer nope",
        "Bearer kd_XYZ",
        "Bearer kd_0123456789abcdeg_secret",
        "Token abc",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_malformed_credentials_are_auth_errors(header: str | None) -> None:
    with pytest.raises(AuthError):
        keys.from_header(header)


def test_digest_verifies_only_the_same_token() -> None:
    token = keys.new_token()
    stored = keys.digest(token)
    assert len(stored) == 64
    assert token not in stored
    assert keys.verify(token, stored)
    assert not keys.verify(token + "x", stored)
