"""Federation between hotlines (keepdown.federation; docs/federation.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, names, text

__all__ = ["FederationSettings"]


class FederationSettings:
    """Peers: shared banks, referrals and status callbacks."""

    federation_name = text(
        "",
        "This hotline's name as its peers know it: the organisation their keys for us belong "
        "to, and the sender of every page and message we sign; empty: operator_organisation.",
    )
    federation_countries = names(
        (),
        "Countries this hotline covers (ISO 3166-1 alpha-2, e.g. NL,BE): a confirmed sighting "
        "hosted elsewhere, in a country a peer covers, is referred to that peer.",
    )
    federation_page_entries = integer(
        20_000,
        "Most changes one page of a published bank carries.",
        minimum=100,
        maximum=200_000,
    )
    federation_page_max_age_seconds = integer(
        600,
        "A bank page signed longer ago than this (or this far in the future) is refused.",
        minimum=10,
        maximum=86_400,
    )
    federation_message_window_hours = integer(
        168,
        "A referral or status message signed longer ago than this is refused (replay window).",
        minimum=1,
        maximum=24 * 90,
    )
