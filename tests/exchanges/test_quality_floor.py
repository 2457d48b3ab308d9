"""A feed's query quality floor: its PDQ entries need a good enough picture to match."""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.exchanges.guards import QualityFloorStage


@dataclass(frozen=True)
class View:
    bank: str
    signal_type: str


@dataclass(frozen=True)
class Query:
    quality: int | None


def test_only_the_named_feeds_pdq_matches_are_held_to_the_floor() -> None:
    stage = QualityFloorStage(lambda: {"sncii": 70})
    matches = [View("sncii", "pdq"), View("sncii", "md5"), View("hotline", "pdq")]
    assert stage.apply(Query(60), matches) == [View("sncii", "md5"), View("hotline", "pdq")]
    assert stage.apply(Query(70), matches) == matches
    assert stage.apply(Query(None), matches) == matches  # a bare hash lookup has no quality
