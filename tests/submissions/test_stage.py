"""The self-submission stage of the match chain: review only, and hidden from platforms when
the person did not let platforms use the hashes."""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.matching.chain import MatchQuery
from keepdown.matching.views import MatchView, verdict_of
from keepdown.submissions.model import HOTLINE_ONLY_SOURCE, PROGRAMME_SOURCE
from keepdown.submissions.stage import SelfSubmittedStage


@dataclass(frozen=True)
class _Bank:
    name: str
    source: str


BANKS = [
    _Bank("known", "C3P"),
    _Bank("self-minors", PROGRAMME_SOURCE),
    _Bank("self-minors-hotline", HOTLINE_ONLY_SOURCE),
]


def _view(bank: str) -> MatchView:
    return MatchView(bank, 1, "sha256", 0, None, "exact", "csam", trusted=True)


def test_self_submitted_matches_go_to_review_and_hotline_only_stay_with_the_hotline() -> None:
    loads: list[int] = []

    def load():
        loads.append(1)
        return BANKS

    stage = SelfSubmittedStage(load, "hotline")
    views = [_view("known"), _view("self-minors"), _view("self-minors-hotline")]

    platform = stage.apply(MatchQuery(door="upload", organisation="photoshare"), views)
    assert [v.bank for v in platform] == ["known", "self-minors"]
    assert platform[0].confirmed
    assert not platform[1].confirmed
    assert platform[1].review_why == "self-submitted"

    for door in ("crawl", "scan", "match", "recheck"):
        own = stage.apply(MatchQuery(door=door), views)
        assert [v.bank for v in own] == ["known", "self-minors", "self-minors-hotline"]
        assert [v.review_only for v in own] == [False, True, True]
    operator = stage.apply(MatchQuery(door="lookup", organisation="hotline"), views[1:])
    assert len(operator) == 2
    assert str(verdict_of(operator)) == "review"  # trusted and exact, yet never confirmed
    assert stage.is_self_submitted("self-minors")
    assert not stage.is_self_submitted("known")
    assert len(loads) == 1  # read once, not per match
    stage.refresh()
    assert len(loads) == 2
