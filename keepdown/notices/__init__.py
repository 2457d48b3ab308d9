"""Notice and takedown: tell the host, check again, measure how long removal took.

Modules, in the order a notice lives:

- :mod:`~keepdown.notices.providers`: the provider registry (who, how, how patiently);
- :mod:`~keepdown.notices.attribution`: which provider hosts a host/IP (registry, then RDAP);
- :mod:`~keepdown.notices.lifecycle`: the pure state machine of notices and locations;
- :mod:`~keepdown.notices.model`: notices, locations, deliveries, and the store protocol;
- :mod:`~keepdown.notices.compose` and :mod:`~keepdown.notices.links`: what a notice says,
  and the signed link a provider answers through;
- :mod:`~keepdown.notices.senders` and :mod:`~keepdown.notices.sealing`: SMTP, signed webhooks,
  and their secrets encrypted at rest;
- :mod:`~keepdown.notices.service`: one send pass, built from
  :mod:`~keepdown.notices.drafting` (sightings to notices, reappearances),
  :mod:`~keepdown.notices.outbox` (plan, deliver, exactly once),
  :mod:`~keepdown.notices.answers` (the provider's answers, an analyst's review) and
  :mod:`~keepdown.notices.resend` (an analyst's resend, an operator's retry);
- :mod:`~keepdown.notices.facts`: what notice events say about each location;
- :mod:`~keepdown.notices.response_page`: the HTML page of the signed link;
- :mod:`~keepdown.notices.tracker`, :mod:`~keepdown.notices.verify` and
  :mod:`~keepdown.notices.policy`: re-checks on each provider's cadence;

See docs/notices.md and docs/providers.md.
"""
