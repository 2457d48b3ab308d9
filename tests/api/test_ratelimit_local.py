"""The in-process sliding-window counter behind API keys' limits (no Redis): what it admits."""

from __future__ import annotations

import pytest
from limits import parse

from keepdown.api import ratelimit
from keepdown.api.ratelimit import _LocalWindows


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    return now


def test_a_window_admits_its_amount_then_says_how_long_to_wait(clock: list[float]) -> None:
    windows, item = _LocalWindows(), parse("3/second")
    assert [windows.hit(item, "k") for _ in range(3)] == [None, None, None]
    wait = windows.hit(item, "k")
    assert wait is not None
    assert 0 < wait <= 1.0
    assert windows.hit(item, "other key") is None  # counted per key


def test_the_previous_window_weighs_by_the_part_still_inside(clock: list[float]) -> None:
    windows, item = _LocalWindows(), parse("4/second")
    clock[0] = 1000.0
    for _ in range(4):
        assert windows.hit(item, "k") is None
    clock[0] = 1001.5  # half of the last window still counts: 4 * 0.5 = 2
    assert windows.hit(item, "k") is None  # 2 + 0 + 1 <= 4
    assert windows.hit(item, "k") is None  # 2 + 1 + 1 <= 4
    assert windows.hit(item, "k") is not None  # 2 + 2 + 1 > 4
    clock[0] = 1003.2  # a window passed with nothing: nothing before counts
    assert [windows.hit(item, "k") for _ in range(4)] == [None] * 4
