"""The list's published forms, each rendered from one :class:`~keepdown.blocklist.model.Snapshot`.

- :func:`rpz_zone`: a DNS response policy zone of the whole-domain entries (a resolver can
  only block names, not URLs), each name and its subdomains answered NXDOMAIN
  (``CNAME .``) or sent to the operator's splash host (``CNAME splash.``), with the serial in
  the SOA; :func:`rpz_delta`: the changes since a serial in IXFR's condensed order (RFC 1995:
  new SOA, old SOA, the records deleted, new SOA, the records added, new SOA);
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

from keepdown.blocklist.canonical import parse_canonical
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
    NXDOMAIN, else a CNAME to that host (which the operator points at its splash page)."""

    zone: str = "rpz.keepdown."
    splash_host: str = ""
    ttl: int = 300

    @property
    def origin(self) -> str:
        return self.zone if self.zone.endswith(".") else f"{self.zone}."

    @property
    def target(self) -> str:
        if not self.splash_host:
            return "."
        return self.splash_host if self.splash_host.endswith(".") else f"{self.splash_host}."


def _soa(policy: RpzPolicy, serial: int) -> str:
    # Serials are 32-bit in DNS; the list's serial counts changes, far below 2**32.
    return (
        f"@ {policy.ttl} IN SOA localhost. hostmaster.localhost. "
        f"{serial % 2**32} 3600 600 86400 {policy.ttl}"
    )


def _rpz_records(entries: Iterable[Entry], policy: RpzPolicy) -> list[str]:
    lines = []
    for entry in entries:
        if entry.kind is EntryKind.DOMAIN:
            name = entry.target
            lines.append(f"{name} {policy.ttl} IN CNAME {policy.target}")
            lines.append(f"*.{name} {policy.ttl} IN CNAME {policy.target}")
    return lines


def rpz_zone(snapshot: Snapshot, policy: RpzPolicy) -> str:
    """The whole zone file at the snapshot's serial."""
    head = [
        f"$ORIGIN {policy.origin}",
        f"$TTL {policy.ttl}",
        _soa(policy, snapshot.serial),
        f"@ {policy.ttl} IN NS localhost.",
    ]
    body = _rpz_records(sorted(snapshot.entries, key=lambda e: e.target), policy)
    return "\n".join(head + body) + "\n"


def rpz_delta(
    old_serial: int, snapshot: Snapshot, changes: Sequence[Change], policy: RpzPolicy
) -> str:
    """The zone's changes from ``old_serial`` to the snapshot's serial, IXFR-ordered."""
    removed = [c.entry for c in changes if c.op == "remove"]
    added = [c.entry for c in changes if c.op == "add"]
    new, old = _soa(policy, snapshot.serial), _soa(policy, old_serial)
    lines = [f"$ORIGIN {policy.origin}", f"; delta {old_serial} -> {snapshot.serial}", new, old]
    lines += [f"-{line}" for line in _rpz_records(removed, policy)]
    lines.append(new)
    lines += [f"+{line}" for line in _rpz_records(added, policy)]
    lines.append(new)
    return "\n".join(lines) + "\n"


def squid_domains(snapshot: Snapshot) -> str:
    """A ``dstdomain`` file: each listed domain and its subdomains (``.example.com``)."""
    names = sorted(f".{e.target}" for e in snapshot.of_kind(EntryKind.DOMAIN))
    return "".join(f"{name}\n" for name in names)


_ERE_SPECIAL = re.compile(r"([\\.\[\](){}*+?|^$])")


def _ere(text: str) -> str:
    return _ERE_SPECIAL.sub(r"\\\1", text)


def squid_urls(snapshot: Snapshot) -> str:
    """A ``url_regex`` file, one anchored POSIX regular expression per listed URL: any
    scheme Squid sees in clear, any port; an entry without a query matches any query (as the
    safe-browsing expressions do) and one ending in ``/`` what is under it, one with a query
    matches that query only."""
    lines = []
    for entry in sorted(snapshot.of_kind(EntryKind.URL), key=lambda e: e.target):
        canon = parse_canonical(entry.target)
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
        f'acl keepdown_domains dstdomain "{directory}/keepdown-domains.txt"\n'
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
    for entry in snapshot.entries:
        row = entry.to_dict()
        writer.writerow([row[name] for name in CSV_FIELDS])
    return out.getvalue()
