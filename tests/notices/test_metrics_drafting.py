"""Running figures from events alone (hand-computed; the transparency report's computation,
keepdown.reports.running), and how drafting links reappearances."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from keepdown.clock import utc
from keepdown.events import (
    DeliveryFailed,
    DisputeReviewed,
    NoticeAcknowledged,
    NoticeSent,
    RemovalConfirmed,
    SightingRecorded,
)
from keepdown.notices.drafting import new_location, reappearance_draft
from keepdown.notices.facts import location_facts, repeat_at_provider
from keepdown.notices.lifecycle import LocationState, LocationStatus
from keepdown.notices.model import Candidate, Location
from keepdown.notices.providers import Language, Provider
from keepdown.reports import running_figures, to_date
from keepdown.reports.stats import p90

T = utc(2026, 5, 1)
H = timedelta(hours=1)


def sent(at, ref, pid, name, locs, sightings=(), country="NL"):
    return NoticeSent(
        at=at,
        notice_ref=ref,
        provider=name,
        provider_id=pid,
        country=country,
        locations=tuple(locs),
        sighting_ids=tuple(sightings),
    )


def removed(at, loc, pid, name):
    return RemovalConfirmed(
        at=at, location_id=loc, notice_ref="r", provider=name, provider_id=pid, first_notice_at=T
    )


def test_figures_by_provider_id_survive_a_rename_and_match_hand_computation():
    events = [
        SightingRecorded(
            at=T - 3 * H,
            sighting_id="s1",
            media_url="u",
            page_url="p",
            bank="b",
            entry_id=1,
            match_type="exact",
            state="confirmed",
        ),
        sent(T, "N1", "7", "Old Name", ["1", "2", "3", "4"], sightings=["s1"]),
        NoticeAcknowledged(at=T + 2 * H, notice_ref="N1", provider="Old Name", provider_id="7"),
        sent(T + 24 * H, "N1", "7", "Old Name", ["2", "3", "4"]),  # a re-notice: not a start
        removed(T + 10 * H, "1", "7", "Old Name"),
        removed(T + 24 * H * 8, "2", "7", "New Name"),  # after the rename
        DisputeReviewed(
            at=T + 5 * H,
            notice_ref="N1",
            provider="New Name",
            provider_id="7",
            location_id="4",
            outcome="upheld",
        ),
        sent(T + 30 * H, "N2", "7", "New Name", ["5"]),  # renamed, same id
        removed(T + 30 * H + 20 * H, "5", "7", "New Name"),
        sent(T, "M1", "9", "Other", ["10"], country="FR"),
    ]
    # order of arrival does not matter
    figures = running_figures(reversed(events), to_date(T + 30 * 24 * H)).by_key()
    assert set(figures) == {"7", "9"}
    f = figures["7"]
    # locations 1, 2, 3, 5 (4 withdrawn); removed after 10 h, 192 h, 20 h; 3 still online
    assert (f.name, f.locations, f.removed, f.still_present, f.withdrawn) == (
        "New Name",
        4,
        3,
        1,
        1,
    )
    assert f.removal_hours == (10.0, 20.0, 192.0)
    assert (f.median_hours, f.p90_hours) == (20.0, 192.0)
    assert f.share_within == {"24h": 0.5, "7d": 0.5, "42d": 0.75}
    assert f.median_detection_hours == 3.0
    assert f.median_ack_hours == 2.0
    o = figures["9"]
    assert (o.country, o.locations, o.removed, o.median_hours) == ("FR", 1, 0, None)
    assert o.share_within == {"24h": 0.0, "7d": 0.0, "42d": 0.0}
    # the same figures a month earlier: only what was known then
    early = running_figures(events, to_date(T + 24 * H)).by_key()["7"]
    assert (early.locations, early.removed, early.still_present) == (3, 1, 2)  # no N2 yet


def test_nearest_rank_percentile():
    assert p90([]) is None
    assert p90([5.0]) == 5.0
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert p90(values) == 9.0
    assert p90([3.0, 1.0, 2.0]) == 3.0


def _removed(loc_id, provider_id, url, member="", at=T, sha="aa" * 32):
    return Location(
        id=loc_id,
        notice_id=1,
        provider_id=provider_id,
        sighting_id=None,
        media_url=url,
        archive_member=member,
        page_url=url,
        host="h.test",
        sha256=sha,
        md5="",
        pdq=None,
        bank="b",
        entry_id=11,
        category="csam",
        detection="crawl",
        status=LocationStatus(state=LocationState.REMOVED, removed_at=at),
    )


def _candidate(url, member="", sha="aa" * 32, entry_id=11):
    return Candidate(
        sighting_id=99,
        media_url=url,
        archive_member=member,
        page_url=url,
        final_url=url,
        sha256=sha,
        md5="",
        pdq=None,
        bank="b",
        entry_id=entry_id,
        category="csam",
        seen_at=T,
        server_ip=None,
        provider_id=None,
    )


def test_new_locations_are_linked_to_the_latest_removal_and_say_where():
    here, there = Provider(name="Here", id=1), Provider(name="There", id=2)
    old = _removed(5, 1, "http://h.test/a.jpg", at=T - 48 * H)
    latest = _removed(6, 1, "http://h.test/a.jpg", at=T - 24 * H)
    earlier = [old, latest]
    same = new_location(_candidate("http://h.test/a.jpg"), here, earlier)
    assert (same.reappearance_of, same.reappearance_where) == (6, "same_url")
    moved = new_location(_candidate("http://h.test/b.jpg"), here, earlier)
    assert (moved.reappearance_of, moved.reappearance_where) == (6, "same_provider")
    member = new_location(_candidate("http://h.test/a.jpg", member="x.jpg"), here, earlier)
    assert member.reappearance_where == "same_provider"  # another entry of that URL
    away = new_location(_candidate("http://h.test/a.jpg"), there, earlier)
    assert away.reappearance_where == "other"
    by_entry = new_location(_candidate("http://z.test/c.jpg", sha="bb" * 32), there, earlier)
    assert by_entry.reappearance_of == 6  # the same bank entry, another file
    fresh = new_location(_candidate("http://h.test/d.jpg", sha="cc" * 32, entry_id=12), here, [])
    assert (fresh.reappearance_of, fresh.reappearance_where) == (None, None)


def test_a_reappearance_draft_names_its_history():
    provider = Provider(name="Here", id=1, language=Language.FR, country="BE")
    previous = _removed(6, 1, "http://h.test/pack.zip", member="in/k.jpg", at=T - 24 * H)
    draft = reappearance_draft(previous, provider, T)
    (new,) = draft.locations
    assert (new.media_url, new.archive_member) == ("http://h.test/pack.zip", "in/k.jpg")
    assert (new.reappearance_of, new.reappearance_where, new.detection) == (
        6,
        "same_url",
        "recheck",
    )
    assert (draft.language, draft.reappearance, draft.at) == ("fr", True, T)


def test_location_facts_are_aligned_and_repeats_are_material_named_to_this_provider():
    notified = replace(
        _removed(5, 1, "http://h.test/a.jpg"),
        notice_id=1,
        status=LocationStatus(state=LocationState.NOTIFIED, first_notice_at=T - 24 * H),
    )
    here = replace(
        _removed(8, 1, "http://h.test/other.jpg", sha="bb" * 32),
        notice_id=2,
        sighting_id=44,
        entry_id=11,  # the same bank entry as location 5, another file
        status=LocationStatus(state=LocationState.DRAFTED, detected_at=T - 2 * H),
    )
    back = replace(here, id=9, sighting_id=None, entry_id=None, reappearance_where="other")
    facts = location_facts([here, back])
    assert facts == {
        "locations": ("8", "9"),
        "location_sightings": ("44", ""),
        "location_detected_at": ((T - 2 * H).isoformat(),) * 2,
        "location_entries": ("11", ""),
        "location_reappearances": ("", "other"),
    }
    assert repeat_at_provider([here], 1, [notified], before=T, notice_id=2)
    assert not repeat_at_provider([here], 2, [notified], before=T)  # another provider
    assert not repeat_at_provider([back], 1, [notified], before=T)  # other file and entry
    assert not repeat_at_provider([here], 1, [notified], before=T - 48 * H)  # not yet sent
    assert not repeat_at_provider([here], 1, [notified], before=T, notice_id=1)  # itself
    never_sent = replace(notified, status=LocationStatus(state=LocationState.DRAFTED))
    assert not repeat_at_provider([here], 1, [never_sent], before=T)


def test_deliveries_given_up_are_counted_and_name_their_provider():
    failed = [
        DeliveryFailed(
            at=T + i * H,
            notice_ref="N9",
            provider="Unreachable",
            provider_id="4",
            delivery_id=str(i),
            delivery_kind="notice",
            channel="email",
            attempts=1,
            outcome=outcome,
        )
        for i, outcome in enumerate(("retrying", "failed", "uncertain"))
    ]
    (f,) = running_figures(failed, to_date(T + 24 * H)).providers
    assert (f.name, f.locations, f.delivery_failures) == ("Unreachable", 0, 1)
