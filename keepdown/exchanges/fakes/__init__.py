"""Fake exchanges on loopback, for tests, benchmarks and integrators.

Each serves the documented shapes of a real exchange from data put in it, and plays that
exchange's known failure modes on request (see :mod:`~keepdown.exchanges.fakes.server`):

- :class:`FakeNcmec`: NCMEC Hash Sharing v2 (XML, Basic auth, ``next`` paging by offset);
- :class:`FakeStopNcii`: StopNCII.org (JSON, subscription and function keys, page tokens);
- :class:`FakeThreatExchange`: ThreatExchange ``threat_updates`` (Graph API JSON, a token).

They listen on 127.0.0.1 only; nothing here reaches any other host.
"""

from keepdown.exchanges.fakes.ncmec import FakeNcmec, NcmecEntry
from keepdown.exchanges.fakes.server import FakeServer
from keepdown.exchanges.fakes.stopncii import FakeStopNcii, StopNciiHash
from keepdown.exchanges.fakes.threatexchange import FakeThreatExchange, TeIndicator

__all__ = [
    "FakeNcmec",
    "FakeServer",
    "FakeStopNcii",
    "FakeThreatExchange",
    "NcmecEntry",
    "StopNciiHash",
    "TeIndicator",
]
