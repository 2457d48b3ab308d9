"""The list's published forms, each rendered from one :class:`~keepdown.blocklist.model.Snapshot`.

- :func:`rpz_zone`: a DNS response policy zone of the whole-domain entries (a resolver can
  only block names, not URLs), each name and its subdomains answered NXDOMAIN
  (``CNAME .``) or sent to the operator's splash host (``CNAME splash.``), with the serial in
  the SOA; optionally the hosts of listed URLs steered to the ISP's filtering proxy
  (:class:`RpzPolicy`); :func:`rpz_delta`: the changes since a serial in IXFR's condensed
  order (RFC 1995: new SOA, old SOA, the records deleted, new SOA, the records added, new SOA);
- :func:`squid_domains` / :func:`squid_urls`: Squid ACL files (``dstdomain`` for whole
  domains, ``url_regex`` for listed URLs) and :func:`squid_config`, the lines that use them;
- :func:`json_list` / :func:`csv_list`: everything, for other consumers;
- the keyed prefix feed is :mod:`keepdown.blocklist.keyed`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from keepdown.blocklist.canonical import split_canonical
from keepdown.blocklist.model import Change, Entry, EntryKind, Snapshot

__all__ = [
    "RpzPolicy",
    "csv_list",
    "json_list",
    "rpz_delta",
    "rpz_zone",
    "squid_config",
    "squid_domains",
    "squid_urls",
]

CSV_FIELDS = ("kind", "target", "reason", "first_confirmed_at", "classification", "provider")


@dataclass(frozen=True)
class RpzPolicy:
    """The zone's name and what a listed name resolves to: ``splash_host`` empty means
    NXDOMAIN, else a CNAME to that host (which the operator points at its splash page).

    ``proxy_host``: when set, every host with a listed URL (and no whole-domain entry) is
    answered with a CNAME to it: the two-stage design of BT's Cleanfeed, where the resolver
    steers only the hosts that have listed URLs to the ISP's filtering proxy, and the proxy
    blocks the listed URLs and passes the rest. Empty: the zone holds whole domains only."""

    zone: str = "rpz.keepdown."
    splash_host: str = ""
    proxy_host: str = ""
    ttl: int = 300

    @property
    def origin(self) -> str:
        return self.zone if self.zone.endswith(".") else f"{self.zone}."

    @property
    def target(self) -> str:
        return _absolute(self.splash_host) if self.splash_host else "."


def _absolute(host: str) -> str:
    return host if host.endswith(".") else f"{host}."


def _soa(policy: RpzPolicy, serial: int) -> str:
    # Serials are 32-bit in DNS; the list's serial counts changes, far below 2**32.
    return (
        f"@ {policy.ttl} IN SOA localhost. hostmaster.localhost. "
        f"{serial % 2**32} 3600 600 86400 {policy.ttl}"
    )


def _covered(host: str, domains: set[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))


def _rpz_records(entries: Iterable[Entry], policy: RpzPolicy) -> list[str]:
    """The zone's records, sorted: block records for domains, steer records for hosts."""
    entries = list(entries)
    domains = {e.target for e in entries if e.kind is EntryKind.DOMAIN}
    lines = set()
    for name in domains:
        lines.add(f"{name} {policy.ttl} IN CNAME {policy.target}")
        lines.add(f"*.{name} {policy.ttl} IN CNAME {policy.target}")
    if policy.proxy_host:
        proxy = _absolute(policy.proxy_host)
        hosts = {e.host for e in entries if e.kind is EntryKind.URL}
        for host in hosts:
            if not re.fullmatch(r"[0-9.]+", host) and not _covered(host, domains):
                lines.add(f"{host} {policy.ttl} IN CNAME {proxy}")
    return sorted(lines)


def rpz_zone(snapshot: Snapshot, policy: RpzPolicy) -> str:
    """The whole zone file at the snapshot's serial."""
    head = [
        f"$ORIGIN {policy.origin}",
        f"$TTL {policy.ttl}",
        _soa(policy, snapshot.serial),
        f"@ {policy.ttl} IN NS localhost.",
    ]
    return "\n".join(head + _rpz_records(snapshot.entries, policy)) + "\n"


def rpz_delta(
    old_serial: int, snapshot: Snapshot, changes: Sequence[Change], policy: RpzPolicy
) -> str:
    """The zone's changes from ``old_serial`` to the snapshot's serial, IXFR-ordered. The old
    list is the new one with ``changes`` (every change after ``old_serial``) undone, so a
    host's steer record goes only with its last listed URL."""
    now = {e.key: e for e in snapshot.entries}
    then = dict(now)
    for change in reversed(changes):
        if change.op == "add":
            then.pop(change.entry.key, None)
        else:
            then[change.entry.key] = change.entry
    old_records = set(_rpz_records(then.values(), policy))
    new_records = set(_rpz_records(now.values(), policy))
    new, old = _soa(policy, snapshot.serial), _soa(policy, old_serial)
    lines = [f"$ORIGIN {policy.origin}", f"; delta {old_serial} -> {snapshot.serial}", new, old]
    lines += [f"-{line}" for line in sorted(old_records - new_records)]
    lines.append(new)
    lines += [f"+{line}" for line in sorted(new_records - old_records)]
    lines.append(new)
    return "\n".join(lines) + "\n"


def squid_domains(snapshot: Snapshot) -> str:
    """A ``dstdomain`` file: each listed domain and its subdomains (``.example.com``)."""
    names = sorted(f".{e.target}" for e in snapshot.of_kind(EntryKind.DOMAIN))
    return "".join(f"{name}\n" for name in names)


_ERE_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\.[](){}*+?|^$"})


def _ere(text: str) -> str:
    return text.translate(_ERE_SPECIAL)


def squid_urls(snapshot: Snapshot) -> str:
    """A ``url_regex`` file, one anchored POSIX regular expression per listed URL: any
    scheme Squid sees in clear, any port; an entry without a query matches any query (as the
    safe-browsing expressions do) and one ending in ``/`` what is under it, one with a query
    matches that query only."""
    lines = []
    for target in sorted(e.target for e in snapshot.entries if e.kind is EntryKind.URL):
        canon = split_canonical(target)
        if canon.query is not None:
            tail = _ere(f"?{canon.query}") + "$"
        else:  # as the hash feed: a directory covers what is under it, a file any query
            tail = ".*$" if canon.path.endswith("/") else r"(\?.*)?$"
        lines.append(f"^https?://{_ere(canon.host)}(:[0-9]+)?{_ere(canon.path)}{tail}\n")
    return "".join(lines)


def squid_config(directory: str, splash_url: str) -> str:
    """The squid.conf lines that load the two files from ``directory`` and redirect a
    blocked request to the splash page (``%u``: the blocked URL)."""
    return (
        # -n: never match an IP address by its reverse name (it would block the splash page)
        f'acl keepdown_domains dstdomain -n "{directory}/keepdown-domains.txt"\n'
        f'acl keepdown_urls url_regex "{directory}/keepdown-urls.txt"\n'
        f"deny_info {splash_url}?url=%u keepdown_domains\n"
        f"deny_info {splash_url}?url=%u keepdown_urls\n"
        "http_access deny keepdown_domains\n"
        "http_access deny keepdown_urls\n"
    )


def json_list(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "serial": snapshot.serial,
        "at": snapshot.at.isoformat() if snapshot.at else None,
        "count": len(snapshot.entries),
        "entries": [e.to_dict() for e in snapshot.entries],
    }


def csv_list(snapshot: Snapshot) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    writer.writerows(
        (
            e.kind.value,
            e.target,
            e.reason,
            e.first_confirmed_at.isoformat(),
            e.classification,
            e.provider,
        )
        for e in snapshot.entries
    )
    return out.getvalue()
