"""The category an analyst chose when confirming a match is the one the notice cites; without a
review, the bank entry's (here the bank's ``csam``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from keepdown.app import open_notice_services
from keepdown.notices.providers import Provider
from keepdown.review.queue import ReviewService
from keepdown.storage.review_store import SqlReviewStore

from .conftest import T0, add_sighting, known_image, seed_bank


def test_the_notice_says_the_category_the_analyst_confirmed(nsettings, clock, smtp):
    entries = seed_bank(nsettings, clock)
    services = open_notice_services(nsettings, clock=clock)
    try:
        services.providers.add(
            Provider(name="Host", ip_ranges=("127.0.0.1/32",), abuse_contacts=("a@host.test",)),
            clock.now(),
        )
        engine, events = services.storage.engine, services.storage.events
        reviewed_url = "http://img.host.test/reviewed.jpg"
        reviewed = add_sighting(
            engine,
            events,
            media_url=reviewed_url,
            image=known_image(0),
            entries=entries,
            seen_at=T0 - timedelta(hours=2),
            state="pending_review",
        )
        auto_url = "http://img.host.test/auto.jpg"
        add_sighting(
            engine,
            events,
            media_url=auto_url,
            image=known_image(1),
            entries=entries,
            seen_at=T0 - timedelta(hours=1),
        )
        review = ReviewService(SqlReviewStore(engine), events, clock)
        item = review.next("ana")
        assert item is not None
        assert item.sighting_id == reviewed
        assert item.category == "csam"  # what the bank says
        review.decide("ana", reviewed, "confirm", category="harmful-abusive")

        report = asyncio.run(services.service.send_due())

        assert len(report.sent) == 1
        (notice,) = services.notices.list_notices()
        by_url = {loc.media_url: loc for loc in notice.locations}
        assert by_url[reviewed_url].category == "harmful-abusive"
        assert by_url[auto_url].category == "csam"
        (mail,) = smtp.by_reference(notice.reference)
        text = mail.get_content()
        block = text[text.index(reviewed_url) :].split("Location", 1)[0]
        assert "Classification: harmful-abusive" in block
        assert text.count("Classification: csam") == 1
    finally:
        services.close()
