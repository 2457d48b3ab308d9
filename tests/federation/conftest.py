"""Fixtures for the federation tests: signing keys of two hotlines, a frozen clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepdown.clock import FrozenClock, utc
from keepdown.evidence.keys import SigningKey


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2026, 3, 1))


@pytest.fixture
def key_a(tmp_path: Path) -> SigningKey:
    return SigningKey.load(tmp_path / "a.pem", create=True)


@pytest.fixture
def key_b(tmp_path: Path) -> SigningKey:
    return SigningKey.load(tmp_path / "b.pem", create=True)
