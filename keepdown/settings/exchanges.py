"""Hash exchanges' feeds and the defence against bad entries (keepdown.exchanges;
docs/exchanges.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, number

__all__ = ["ExchangeSettings"]


class ExchangeSettings:
    """Feeds' schedule and the quarantine of feed entries whose matches burst."""

    exchange_worker_seconds = integer(
        60,
        "How often the workers run the feeds that are due (each feed has its own schedule) "
        "and send the exchanges' outbox (feedback, write-back); 0 = never: run `keepdown feed "
        "run --due` and `keepdown feed outbox send` from a scheduler instead.",
        minimum=0,
        maximum=86_400,
    )

    quarantine_window_seconds = integer(
        3600,
        "Quarantine: the sliding window an entry's matches are counted over.",
        minimum=60,
        maximum=7 * 86_400,
    )
    quarantine_factor = number(
        20.0,
        "Quarantine: an entry is quarantined when its matches in the window reach this many "
        "times its baseline (its usual matches per window)...",
        minimum=1.0,
    )
    quarantine_min_matches = integer(
        50,
        "...and at least this many (an entry that usually matches nothing).",
        minimum=1,
    )
    quarantine_baseline_days = number(
        7.0,
        "Quarantine: the days an entry's baseline is measured over.",
        minimum=0.0,
        maximum=90.0,
    )
