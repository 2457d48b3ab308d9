from datetime import timedelta

import pytest

import keepdown
from keepdown import errors
from keepdown.clock import FrozenClock, SystemClock, utc
from keepdown.events import EventLog, MatchFound


def test_public_surface_is_exactly_all():
    public = {name for name in dir(keepdown) if not name.startswith("_")}
    # submodules imported as a side effect are not part of the surface
    modules = {name for name in public if type(getattr(keepdown, name)).__name__ == "module"}
    assert public - modules == set(keepdown.__all__)


def test_every_error_knows_status_and_exit_code():
    classes = [getattr(errors, n) for n in errors.__all__]
    for cls in classes:
        assert issubclass(cls, errors.KeepdownError)
        assert 400 <= cls.http_status <= 599
        assert 1 <= cls.exit_code <= 125
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the drawn tree"


def test_error_body_shape():
    exc = errors.InvalidHash("bad", value="zz")
    assert exc.to_dict() == {"code": "invalid_hash", "message": "bad", "details": {"value": "zz"}}


def test_frozen_clock_moves_only_when_told():
    clock = FrozenClock(utc(2026, 3, 1))
    assert clock.now() == utc(2026, 3, 1)
    clock.advance(timedelta(days=42))
    assert clock.now() == utc(2026, 4, 12)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert SystemClock().now().tzinfo is not None


def test_event_log_counts_by_kind():
    log = EventLog()
    seen = []
    log.subscribe(seen.append)
    event = MatchFound(at=utc(2026, 1, 1), bank="b", entry_id=1, signal_type="pdq", distance=3)
    log.emit(event)
    assert log.stats["match_found/count"] == 1
    assert seen == [event]
    assert event.to_dict()["kind"] == "match_found"
