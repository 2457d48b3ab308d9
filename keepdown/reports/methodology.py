"""What every published figure means, in words: shown in the report and kept in one place.

Each entry is ``(figure, definition)``; the HTML report prints them all, the JSON and CSV
carry them, and ``docs/transparency.md`` explains the same rules with worked examples.
"""

from __future__ import annotations

from keepdown.reports.definitions import DEFINITIONS

__all__ = ["METHODOLOGY", "PERIOD_RULE"]

PERIOD_RULE = (
    "Events count in the period in which they happened. A removal counts, with its whole "
    "time to removal, in the period in which a check found the location gone, even if the "
    "notice was sent in an earlier period. 'Still present' is counted at the end of the "
    "period: a location removed after the period end is still present at the period end. "
    "The shares removed within 24 hours, 7 days and 42 days follow the locations first "
    "notified in the period and count only removals confirmed before the period end."
)

METHODOLOGY: tuple[tuple[str, str], ...] = (
    (
        "Source of every figure",
        "Every number is computed from keepdown's event log alone "
        "(notices sent, re-checks, removals confirmed, disputes, matches, reviews, upload checks). "
        "The data file lists the per-location durations so anyone can recompute them.",
    ),
    ("Period", PERIOD_RULE),
    (
        "Location",
        "One place (a media URL at a host) named in a removal notice to one hosting "
        "provider. A location belongs to the provider and country of the first notice naming it.",
    ),
    (
        "Notices",
        "Removal notices first sent to the provider in the period. Re-notices (the "
        "same notice sent again because the material was still there) are counted separately.",
    ),
    (
        "Locations notified",
        "Locations first named in a notice sent in the period, less those withdrawn by the "
        "period end (a dispute upheld: not the material, or not there). A withdrawn location "
        "that an analyst reopens counts as notified again.",
    ),
    (
        "Confirmed removed",
        "Locations that keepdown re-checks found no longer publicly available, confirmed in the "
        "period: the media URL answers 404, 410 or 451, its host name no longer exists, or the "
        "archive no longer holds the file; or, after a second check that agrees (or a removal "
        "the provider reported), it answers 401/403 or serves something that no longer matches "
        "(a 'content removed' page). A provider saying it removed something does not count "
        "until a check confirms it.",
    ),
    (
        "Time to removal",
        "From the first notice that named a location to the first check that "
        "found it gone. Median: the middle value (mean of the two middle values for an even "
        "count). p90: the nearest-rank 90th percentile, the smallest measured time that at least "
        "90 % of removals took no longer than. Times under an hour are shown in minutes; the "
        "JSON and CSV keep them in hours to the second.",
    ),
    (
        "Precision of time to removal",
        "A check sees a removal after it happened: each time to removal is late by at most the "
        "time since the last check that still found the location (or since the first notice). "
        "The report gives the median and largest of these, per provider; they follow each "
        "provider's re-check interval.",
    ),
    (
        "Notice to acknowledgement",
        "From a notice's first sending to the provider's first acknowledgement, counted in the "
        "period of the acknowledgement.",
    ),
    (
        "Detection to notice",
        "From the moment keepdown first recorded known material at a location to "
        "the first notice that named the location; counted in the period of that notice.",
    ),
    (
        "Report to notice",
        "For each URL reported to keepdown (by the public, a trusted flagger or a hotline; not "
        "the operator's own crawls) whose crawl found known material: from its first report to "
        "the first notice naming what that crawl found; counted in the period of that notice.",
    ),
    (
        "Removed within 24 h / 7 days / 42 days",
        "Of the locations first notified in the period, "
        "the share found gone within 24 hours, 7 days or 42 days of the first notice, and before "
        "the period end. Locations still online count in the denominator.",
    ),
    (
        "Still present",
        "Locations notified before the period end that had not been found gone "
        "(nor withdrawn after an upheld dispute) by the period end, whenever they were notified.",
    ),
    (
        "Reappearances",
        "Known material seen again after a confirmed removal, counted at the "
        "provider where it came back: at the same URL, elsewhere at the same provider, or at "
        "another provider.",
    ),
    (
        "Repeat notices",
        "The share of notices about material already named in an earlier "
        "notice to the same provider (the recidivism measure the Canadian Centre for Child "
        "Protection publishes): the same file or bank entry named to that provider before, "
        "whether or not it was removed since. Material that comes back at another provider is "
        "a reappearance there, not a repeat notice.",
    ),
    (
        "Removals reported by the provider",
        "A provider saying, through its signed link, that it removed a location. Counted apart: "
        "only a keepdown re-check confirms a removal.",
    ),
    (
        "Failed deliveries",
        "Notice deliveries to the provider that failed for good (refused, or given up after the "
        "last attempt): a provider its own abuse contact does not reach.",
    ),
    (
        "Disputes",
        "Disputes providers opened in the period, and the outcomes of reviews in the "
        "period: upheld (not the material, or not there: the location is withdrawn) or rejected "
        "(the notice stands). Pending: opened before the period end and not reviewed by then. "
        "A withdrawn location seen again is not notified again unless an analyst reopens it "
        "(counted as reopened); it stays one location.",
    ),
    (
        "League table",
        "Providers ranked by median time to removal (then p90, then name); "
        "providers with no removal confirmed in the period come after, most locations still "
        "present first.",
    ),
    (
        "Matches per bank, source and detection",
        "Sightings of known material recorded in the period per bank (with the bank's source, "
        "its provenance, as its sightings and review decisions name it) and per detection "
        "channel (crawl, "
        "upload, scan, report): exact or near matches, "
        "confirmed automatically (exact match on a trusted bank) or sent to human review.",
    ),
    (
        "False positives and error rate",
        "Review decisions in the period that said 'not a "
        "match', and their share of all confirm / not-a-match decisions (the error rate of the "
        "matches humans reviewed). Automatically confirmed exact matches are not in the "
        "denominator: no human looked at them.",
    ),
    (
        "Platform keys",
        "Uploads and hashes checked through the API in the period by each "
        "platform key: blocked, sent to review, allowed.",
    ),
    (
        "Removal requests",
        "Requests to remove a person's pictures from a platform that uses keepdown: sent by "
        "the person, or started when an analyst confirmed that an upload matched hashes the "
        "person sent (self-submitted). Each has a deadline (48 hours from receipt by default, "
        "the US TAKE IT DOWN Act's). Received: in the period. Closed: the first time every copy "
        "found (named, held, or found by a sweep of the platform's stored content) was removed "
        "or dismissed, in the period, with the hours from receipt. Closed within the deadline: "
        "of the requests received in the period (less those withdrawn by its end), those "
        "closed by their deadline and before the period end. Open and overdue: at the period "
        "end. Withdrawn: ended without removal (the person withdrew, or found invalid).",
    ),
    (
        "Self-submitted hashes",
        "Submissions of hashes people made of their own pictures on their own device, received "
        "and withdrawn in the period, by programme (pictures taken under 18, or as adults), "
        "and the hashes received. Uploads held: platform uploads that matched a self-submitted "
        "hash and were held for an analyst (never blocked automatically); confirmed and not a "
        "match: the analysts' decisions in the period.",
    ),
    (
        "What the report never contains",
        "No URL of material, no hash, no image: only counts, "
        "durations, provider names and countries.",
    ),
    *((f"{d.name} ({d.style})", d.text) for d in DEFINITIONS),
)
