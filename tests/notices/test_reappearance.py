"""One re-upload is one reappearance, one location, one notice, whichever path finds it
(the crawler's sighting, the removed location's watch re-check, both, in either order, in two
processes at once); a sighting from before the removal is not a reappearance; a withdrawn
location seen again is held for an analyst, who may reopen it as the same location (issues 24
and 25). A loopback host, the real fetcher, sightings written as the crawler writes them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from keepdown.cli import cli
from keepdown.events import LocationReopened, NoticeSent, ReappearanceDetected
from keepdown.notices.lifecycle import LocationState
from keepdown.reports import running_figures, to_date
from keepdown.storage.tables_notices import notice_locations, notice_sightings
from keepdown.testing import synthetic_jpeg

from .conftest import T0, add_sighting, known_image
from .test_tracker import Tracked

H = timedelta(hours=1)
WATCH = timedelta(days=7)  # notice_watch_every_hours


@pytest.fixture
def tracked(nsettings, clock, sites):
    t = Tracked(nsettings, clock, sites[0])
    yield t
    t.services.close()


def _seen(t: Tracked, path: str, at, image: int = 0) -> int:
    """The crawler saw ``path`` serving known image ``image`` at ``at``."""
    return add_sighting(
        t.services.storage.engine,
        t.services.storage.events,
        media_url=t.url(path),
        image=known_image(image),
        entries=t.entries,
        seen_at=at,
    )


def _send(t: Tracked):
    return asyncio.run(t.services.service.send_due())


def _events(t: Tracked, kind):
    return [e for e in t.services.storage.events.read() if isinstance(e, kind)]


def _locations(t: Tracked):
    return sorted(
        (loc for n in t.services.notices.list_notices() for loc in n.locations),
        key=lambda loc: loc.id,
    )


def _removed_then_back(t: Tracked) -> int:
    """L1 notified at T0, found gone (404) at +24 h, then the same file back at its URL."""
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    t.site.answer("/a.jpg", 404)
    t.clock.advance(24 * H)
    assert t.recheck().removals == [str(ids["a.jpg"])]
    t.site.put("/a.jpg", known_image(0))  # the provider put it back
    return ids["a.jpg"]


def _one_reappearance(t: Tracked, first: int) -> None:
    locations = _locations(t)
    assert locations[0].id == first
    assert len(locations) == 2, [(loc.id, loc.status.state) for loc in locations]
    back = locations[1]
    assert (back.reappearance_of, back.reappearance_where) == (first, "same_url")
    (event,) = _events(t, ReappearanceDetected)
    assert (event.location_id, event.where) == (str(back.id), "same_url")
    reappearance_notices = {e.notice_ref for e in _events(t, NoticeSent) if e.reappearance}
    assert len(reappearance_notices) == 1
    assert len(t.services.notices.list_notices()) == 2
    watched = t.location(first).status
    assert watched.next_check_at is None  # the open location took over
    figures = running_figures(t.services.storage.events.read(), to_date(t.clock.now()))
    (f,) = figures.providers
    assert (f.locations, f.reappearances) == (2, 1)


def test_crawler_first_then_the_watch_is_one_reappearance(tracked):
    t = tracked
    first = _removed_then_back(t)
    _seen(t, "/a.jpg", t.clock.now() + 2 * H)
    t.clock.advance(3 * H)
    assert len(_send(t).drafted) == 1
    assert t.location(first).status.next_check_at is None  # its watch ended with the draft
    t.clock.set(T0 + 24 * H + WATCH)  # when the watch would have looked
    report = t.recheck()
    assert report.reappeared == []
    _one_reappearance(t, first)


def test_a_watch_left_running_by_an_older_keepdown_joins_the_open_location(tracked):
    t = tracked
    first = _removed_then_back(t)
    _seen(t, "/a.jpg", t.clock.now() + 2 * H)
    t.clock.advance(3 * H)
    _send(t)
    with t.services.storage.engine.begin() as conn:  # as rows from before this fix look
        conn.execute(
            update(notice_locations)
            .where(notice_locations.c.id == first)
            .values(next_check_at=T0 + 24 * H + WATCH)
        )
    t.clock.set(T0 + 24 * H + WATCH)
    report = t.recheck()
    assert report.reappeared == []  # the watch found it present, and the place is held
    _one_reappearance(t, first)


def test_the_watch_first_then_the_crawler_is_one_reappearance(tracked):
    t = tracked
    first = _removed_then_back(t)
    t.clock.set(T0 + 24 * H + WATCH)
    assert len(t.recheck().reappeared) == 1
    sighting = _seen(t, "/a.jpg", t.clock.now() + H)
    t.clock.advance(2 * H)
    report = _send(t)
    assert report.drafted == []  # the sighting joined the open location
    _one_reappearance(t, first)
    back = _locations(t)[1]
    with t.services.storage.engine.connect() as conn:
        linked = conn.execute(
            select(notice_sightings.c.location_id).where(notice_sightings.c.sighting_id == sighting)
        ).scalar_one()
    assert linked == back.id
    assert back.last_seen_at == T0 + 24 * H + WATCH + H


def test_the_crawler_and_the_watch_at_once_in_two_processes(tracked, nsettings):
    """A crawl's sighting is drafted by one process while another runs the watch that finds
    the same re-upload: one location, whichever commits first."""
    from keepdown.app import open_notice_services
    from keepdown.crawl.transport import StaticResolver
    from keepdown.notices.senders import RecordingSender

    from .test_tracker import HOST

    t = tracked
    first = _removed_then_back(t)
    t.clock.set(T0 + 24 * H + WATCH)
    _seen(t, "/a.jpg", t.clock.now() - H)
    other = open_notice_services(
        nsettings,
        clock=t.clock,
        resolver=StaticResolver({HOST: ["127.0.0.1"]}),
        senders={"email": RecordingSender()},
    )
    try:

        async def both():
            return await asyncio.gather(t.services.tracker.recheck_due(), other.service.send_due())

        asyncio.run(both())
        _send(t)  # whatever the loser left for the next pass
        asyncio.run(t.services.tracker.recheck_due())
    finally:
        other.close()
    _one_reappearance(t, first)


def test_a_sighting_from_before_the_removal_is_not_a_reappearance(tracked):
    t = tracked
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    # a crawl saw it (and a copy elsewhere at the same host) before it was removed...
    _seen(t, "/a.jpg", T0 + 20 * H)
    t.site.put("/copy.jpg", known_image(0))
    _seen(t, "/copy.jpg", T0 + 20 * H)
    t.site.answer("/a.jpg", 404)
    t.clock.advance(24 * H)
    assert t.recheck().removals == [str(ids["a.jpg"])]
    t.clock.advance(H)
    (ref,) = _send(t).drafted  # ...and its sightings are drafted after the removal
    (copy,) = t.services.notices.get(ref).locations
    assert copy.media_url.endswith("/copy.jpg")
    assert copy.reappearance_of is None  # it was up at the same time: not back
    assert not _events(t, ReappearanceDetected)
    assert len(_locations(t)) == 2


def _withdrawn(t: Tracked) -> tuple[str, int]:
    t.site.put("/a.jpg", known_image(0))
    ids = t.notify(("/a.jpg", 0, ""))
    (notice,) = t.services.notices.list_notices()
    t.clock.advance(2 * H)
    t.services.service.dispute(notice.reference, ids["a.jpg"], "a logo, not this")
    t.clock.advance(2 * H)
    t.services.service.review(notice.reference, ids["a.jpg"], "upheld")
    return notice.reference, ids["a.jpg"]


def test_a_withdrawn_location_seen_again_is_held_for_an_analyst(tracked):
    t = tracked
    _, loc_id = _withdrawn(t)
    sent_before = len(_events(t, NoticeSent))
    _seen(t, "/a.jpg", t.clock.now() + 24 * H)  # the same file at the same URL
    t.clock.advance(25 * H)
    assert _send(t).drafted == []  # not notified again without an analyst's decision
    assert len(_events(t, NoticeSent)) == sent_before
    loc = t.location(loc_id)
    assert (loc.status.state, loc.seen_again) == (LocationState.WITHDRAWN, True)
    (f,) = running_figures(t.services.storage.events.read(), to_date(t.clock.now())).providers
    assert (f.locations, f.still_present, f.withdrawn) == (0, 0, 1)  # counted once: not at all
    _seen(t, "/a.jpg", t.clock.now(), image=1)  # other known material at that place
    t.clock.advance(H)
    (new_ref,) = _send(t).drafted
    assert t.services.notices.get(new_ref).locations[0].reappearance_of is None


def test_reopening_a_withdrawn_location_notifies_the_same_location_again(
    tracked, nsettings, database_url
):
    t = tracked
    ref, loc_id = _withdrawn(t)
    _seen(t, "/a.jpg", t.clock.now() + H)
    t.clock.advance(2 * H)
    _send(t)
    env = {
        "KEEPDOWN_DATABASE_URL": database_url,
        "KEEPDOWN_DATA_DIR": str(nsettings.data_dir),
    }
    listed = CliRunner(env=env).invoke(cli, ["notices", "list"]).output
    assert "withdrawn, seen again (1)" in listed
    done = CliRunner(env=env).invoke(
        cli, ["notices", "reopen", ref, str(loc_id), "--reason", "seen again"]
    )
    assert done.exit_code == 0, done.output
    # the CLI ran on the system clock: the rest of the story reads its own frozen clock
    loc = t.location(loc_id)
    assert loc.status.state is LocationState.NOTIFIED
    assert loc.status.review_outcome == "upheld"  # the dispute stays in its history
    (reopened,) = _events(t, LocationReopened)
    assert (reopened.location_id, reopened.reason, reopened.by) == (
        str(loc_id),
        "seen again",
        "cli",
    )
    t.clock.set(max(t.clock.now(), loc.status.next_check_at))
    assert t.recheck().present == 1  # checked at once
    t.clock.advance(H)
    report = _send(t)
    assert report.drafted == []
    renotices = [e for e in _events(t, NoticeSent) if e.renotice]
    assert [e.locations for e in renotices] == [(str(loc_id),)]  # the same location, again
    (f,) = running_figures(t.services.storage.events.read(), to_date(t.clock.now())).providers
    assert (f.locations, f.still_present, f.reopened) == (1, 1, 1)
    again = CliRunner(env=env).invoke(cli, ["notices", "reopen", ref, str(loc_id)])
    assert again.exit_code != 0  # only a withdrawn location can be reopened
    assert "withdrawn" in again.output


def test_two_sightings_of_a_new_place_make_one_location(tracked):
    t = tracked
    t.site.put("/b.jpg", known_image(1))
    _seen(t, "/b.jpg", T0, image=1)
    _seen(t, "/b.jpg", T0 + H, image=1)
    t.clock.advance(2 * H)
    (ref,) = _send(t).drafted
    (loc,) = t.services.notices.get(ref).locations
    assert loc.last_seen_at == T0  # the first sighting made it; the other one was drafted with it
    t.site.put("/c.jpg", synthetic_jpeg(9))  # nothing known: no notice
    assert len(_locations(t)) == 1


def test_the_provider_lock_makes_the_second_path_see_the_first(tracked, nsettings, database_url):
    """PostgreSQL: hold the provider's row lock while a drafting process and a re-check
    process both reach the point of creating a location at the same place; let go: whichever
    gets the lock first creates it, the other finds the place open and creates nothing."""
    import threading
    import time

    from sqlalchemy import text

    from keepdown.app import open_notice_services
    from keepdown.crawl.transport import StaticResolver
    from keepdown.notices.senders import RecordingSender
    from keepdown.storage.tables_providers import providers

    from .test_tracker import HOST

    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    t = tracked
    first = _removed_then_back(t)
    t.clock.set(T0 + 24 * H + WATCH)
    _seen(t, "/a.jpg", t.clock.now() - H)
    other = open_notice_services(
        nsettings,
        clock=t.clock,
        resolver=StaticResolver({HOST: ["127.0.0.1"]}),
        senders={"email": RecordingSender()},
    )
    engine = t.services.storage.engine
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        with engine.connect() as holder:
            held = holder.begin()
            holder.execute(select(providers.c.id).with_for_update())
            workers = [
                threading.Thread(target=run, args=(t.services.tracker.recheck_due,)),
                threading.Thread(target=run, args=(other.service.send_due,)),
            ]
            for w in workers:
                w.start()
            deadline = time.monotonic() + 30
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
                with engine.connect() as probe:
                    waiting = probe.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                            "'Lock' AND query LIKE '%FROM providers%FOR UPDATE%' "
                            "AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
            assert waiting >= 2, "both paths should be waiting for the provider's lock"
            held.commit()
        for w in workers:
            w.join(30)
    finally:
        other.close()
    assert errors == []
    _send(t)
    _one_reappearance(t, first)
