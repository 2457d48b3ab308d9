"""The URL block list (keepdown.blocklist, docs/blocklist.md).

Each attribute is one setting (:mod:`keepdown.settings.setting`); docs/settings.md lists them.
"""

from __future__ import annotations

from keepdown.settings.setting import integer, number, secret_ref, text

__all__ = ["BlocklistSettings"]


class BlocklistSettings:
    """The block list's forms, its canary and its licensees' keys."""

    blocklist_secret_env = secret_ref(
        "Name of an environment variable holding the master secret every licensee's feed key "
        "is derived from; empty means a random secret kept in <data_dir>/blocklist.key (several "
        "machines: the same secret). Changing it changes every licensee's key.",
    )
    blocklist_canary_host = text(
        "blocklist-canary.keepdown.invalid",
        "The canary: a host always on the list (as a whole domain, and its URL "
        "http://HOST/keepdown-canary) so a licensee can check its blocking works. Use a name "
        "under a domain the hotline controls.",
    )
    blocklist_rpz_zone = text("rpz.keepdown.", "Name of the response policy zone (RPZ).")
    blocklist_rpz_splash_host = text(
        "",
        "Where a listed name resolves in the RPZ zone: empty answers NXDOMAIN; a host name "
        "answers a CNAME to it (the operator points it at its splash page).",
    )
    blocklist_rpz_proxy_host = text(
        "",
        "When set, the RPZ zone also answers every host with a listed URL with a CNAME to this "
        "host: the ISP's filtering proxy, which blocks the listed URLs and passes the rest "
        "(the two-stage design of Cleanfeed). Empty: the zone holds whole domains only.",
    )
    blocklist_rpz_ttl = integer(
        300, "TTL of the RPZ zone's records and its SOA minimum, in seconds.", minimum=1
    )
    blocklist_splash_url = text(
        "",
        "The splash page a proxy sends a blocked request to; empty means "
        "<notice_public_base_url>/web/blocked.",
    )
    blocklist_refresh_seconds = number(
        15.0,
        "A fetch of the list recomputes it from the locations when the last computation is "
        "older than this (so a confirmed removal leaves every form within this, plus the "
        "computation's time); 0 = at every fetch.",
        minimum=0,
    )
