"""Federation: keepdown instances of different hotlines share banks and refer sightings.

- :mod:`~keepdown.federation.wire`: signed envelopes (Ed25519 under a context per record) and
  the one refusal error, :class:`~keepdown.federation.wire.Refused`, with its reason;
- :mod:`~keepdown.federation.peers`: peers (organisations with the ``peer`` role, the
  countries they cover), publications (a bank published to a peer) and where a sighting is
  referred;
- :mod:`~keepdown.federation.pages`: the signed, paged, checkpointed bank feed a publisher
  serves and a subscriber verifies (``docs/federation.md``);
- :mod:`~keepdown.federation.messages`: referrals and status callbacks, signed, with replay
  protection.

Nothing here opens storage or the network: ``keepdown.storage`` implements the stores,
``keepdown.exchanges.clients.keepdown`` reads a publisher's pages as a feed, ``keepdown.app``
wires it.
"""

from __future__ import annotations

__all__: list[str] = []
