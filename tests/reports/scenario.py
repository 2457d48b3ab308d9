"""A hand-made event history for the figure tests: three providers over Q2 and Q3 2026.

Every expected figure in test_figures.py is worked out by hand from this timeline:

- L1 (Hosting A, NL): notified 2026-06-30 12:00 (Q2), removed 2026-07-01 12:00 (24 h, in Q3)
- L2, L3 (A): notified together 2026-07-10 00:00; L2 removed 06:00 (6 h), L3 on 07-20 (240 h)
- L4 (A): notified 2026-09-30 00:00, same material as L2 (a repeat notice), removed
  2026-10-02 (after Q3: still present at the end of Q3)
- L5 (Hébergeur B, FR): notified 2026-08-01, re-noticed 08-02, disputed 08-03, dispute upheld
  08-05 (withdrawn)
- L6 (B): notified 2026-08-01 00:00, removed 2026-08-04 00:00 (72 h)
- L7 (Cloud C, US): notified 2026-09-01, never removed; a reappearance at C on 09-15
- sightings s1..s7 (bank b1, exact, confirmed) detected before their notices; s8, s9 near
  matches on bank b2 sent to review (one not a match, one confirmed); three upload checks.

The URLs and hashes in these events are planted: no report output may contain them.
"""

from __future__ import annotations

from datetime import datetime

from keepdown.clock import utc
from keepdown.events import (
    BankEntryAdded,
    DisputeReviewed,
    Event,
    MatchFound,
    MediaSeen,
    NoticeDisputed,
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    ReviewDecided,
    SightingRecorded,
    UploadChecked,
    UrlReported,
)

A, B, C = "Hosting A", "Hébergeur B", "Cloud C"
COUNTRY = {A: "NL", B: "FR", C: "US"}
PLANTED_URLS = [f"http://planted-{i}.example.test/secret/path-{i}.jpg" for i in range(1, 10)]
PLANTED_PAGES = [f"http://planted-{i}.example.test/page-{i}.html" for i in range(1, 10)]
PLANTED_SHA256 = [f"{i:x}" * 64 for i in range(1, 10)]
PLANTED_PDQ = "f" * 8 + "0123456789abcdef" * 3 + "e" * 8


def sighting(sid: int, at: datetime, entry: int, bank: str = "b1", **kw) -> SightingRecorded:
    return SightingRecorded(
        at=at,
        sighting_id=f"s{sid}",
        media_url=PLANTED_URLS[sid - 1],
        page_url=PLANTED_PAGES[sid - 1],
        bank=bank,
        entry_id=entry,
        match_type=kw.get("match_type", "exact"),
        state=kw.get("state", "confirmed"),
        provider=kw.get("provider", ""),
        country=kw.get("country", ""),
    )


def sent(ref: str, at: datetime, provider: str, locs: list[str], sids: list[str], **kw) -> Event:
    return NoticeSent(
        at=at,
        notice_ref=ref,
        provider=provider,
        country=COUNTRY[provider],
        locations=tuple(locs),
        sighting_ids=tuple(sids),
        renotice=kw.get("renotice", False),
    )


def removed(loc: str, at: datetime, first: datetime, provider: str) -> Event:
    return RemovalConfirmed(
        at=at,
        location_id=loc,
        notice_ref="",
        provider=provider,
        country=COUNTRY[provider],
        first_notice_at=first,
    )


def history() -> list[Event]:
    n2_at = utc(2026, 7, 10)
    events: list[Event] = [
        sighting(1, utc(2026, 6, 30, 6), 11),
        sent("N1", utc(2026, 6, 30, 12), A, ["L1"], ["s1"]),
        removed("L1", utc(2026, 7, 1, 12), utc(2026, 6, 30, 12), A),
        sighting(2, utc(2026, 7, 9, 18), 12),
        sighting(3, utc(2026, 7, 9, 18), 13),
        sent("N2", n2_at, A, ["L2", "L3"], ["s2", "s3"]),
        removed("L2", utc(2026, 7, 10, 6), n2_at, A),
        removed("L3", utc(2026, 7, 20), n2_at, A),
        sighting(4, utc(2026, 9, 29), 12),  # the same bank entry as s2: a repeat notice
        sent("N3", utc(2026, 9, 30), A, ["L4"], ["s4"]),
        removed("L4", utc(2026, 10, 2), utc(2026, 9, 30), A),
        sighting(5, utc(2026, 7, 31), 15),
        sighting(6, utc(2026, 7, 31), 16),
        sent("N4", utc(2026, 8, 1), B, ["L5"], ["s5"]),
        sent("N5", utc(2026, 8, 1), B, ["L6"], ["s6"]),
        sent("N4", utc(2026, 8, 2), B, ["L5"], [], renotice=True),
        NoticeDisputed(at=utc(2026, 8, 3), notice_ref="N4", provider=B, location_id="L5"),
        DisputeReviewed(
            at=utc(2026, 8, 5), notice_ref="N4", provider=B, location_id="L5", outcome="upheld"
        ),
        removed("L6", utc(2026, 8, 4), utc(2026, 8, 1), B),
        sighting(7, utc(2026, 8, 31), 17),
        sent("N6", utc(2026, 9, 1), C, ["L7"], ["s7"]),
        ReappearanceDetected(
            at=utc(2026, 9, 15),
            sighting_id="s7",
            previous_location_id="L6",
            provider=C,
            where="other",
            country="US",
        ),
        sighting(8, utc(2026, 8, 10), 21, bank="b2", match_type="near", state="pending_review"),
        sighting(9, utc(2026, 8, 10), 22, bank="b2", match_type="near", state="pending_review"),
        ReviewDecided(
            at=utc(2026, 8, 11), sighting_id="s8", decision="not_a_match", bank="b2", source="IWF"
        ),
        ReviewDecided(at=utc(2026, 8, 11), sighting_id="s9", decision="confirm", bank="b2"),
        UploadChecked(
            at=utc(2026, 8, 20),
            key_id="k1",
            organisation="plat",
            outcome="block",
            match_type="exact",
        ),
        UploadChecked(
            at=utc(2026, 8, 20),
            key_id="k1",
            organisation="plat",
            outcome="review",
            match_type="near",
        ),
        UploadChecked(at=utc(2026, 8, 21), key_id="k1", organisation="plat", outcome="allow"),
    ]
    # Planted identifying data the report must never repeat.
    for i, url in enumerate(PLANTED_URLS):
        events.append(
            MatchFound(
                at=utc(2026, 8, 1),
                bank="b1",
                entry_id=11 + i,
                signal_type="sha256",
                distance=0,
                source=url,
            )
        )
        events.append(
            MediaSeen(
                at=utc(2026, 8, 1),
                crawl_id="1",
                page_url=PLANTED_PAGES[i],
                media_url=url,
                sha256=PLANTED_SHA256[i],
                pdq=PLANTED_PDQ,
            )
        )
        events.append(UrlReported(at=utc(2026, 8, 1), url=PLANTED_PAGES[i]))
        events.append(
            BankEntryAdded(
                at=utc(2026, 6, 1), bank="b1", signal_type="sha256", value=PLANTED_SHA256[i]
            )
        )
    return events
