"""Notice and takedown: tell the host, check again, measure how long removal took.

Modules, in the order a notice lives:

- :mod:`~keepdown.notices.providers`: the provider registry (who, how, how patiently);
- :mod:`~keepdown.notices.attribution`: which provider hosts a host/IP (registry, then RDAP);
- :mod:`~keepdown.notices.lifecycle`: the pure state machine of notices and locations;
- :mod:`~keepdown.notices.model`: notices, locations, deliveries, and the store protocol;
- :mod:`~keepdown.notices.compose` and :mod:`~keepdown.notices.links`: what a notice says,
  and the signed link a provider answers through;
- :mod:`~keepdown.notices.senders`: SMTP and signed webhooks;
- :mod:`~keepdown.notices.service`: draft, plan, deliver (the outbox), the provider's answers;
- :mod:`~keepdown.notices.tracker` and :mod:`~keepdown.notices.verify`: re-checks;
- :mod:`~keepdown.notices.metrics`: time to removal and its companions, from events.

See docs/notices.md and docs/providers.md.
"""
