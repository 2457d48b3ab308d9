"""Financial indicators: payment details found where known material was confirmed.

Modules, in the order an indicator travels:

- :mod:`~keepdown.finance.codecs`, :mod:`~keepdown.finance.wallets`: addresses kept only when
  their checksum holds (Base58Check, Bech32/Bech32m, EIP-55, Monero);
- :mod:`~keepdown.finance.payments`, :mod:`~keepdown.finance.emails`: payment links and
  merchants of known services (a configurable list), e-mail addresses near payment words;
- :mod:`~keepdown.finance.extract`: all of them from one page's text;
- :mod:`~keepdown.finance.observer`: the crawl's page observer that stores them;
- :mod:`~keepdown.finance.model`: indicators and the store protocol ("confirmed" at query time);
- :mod:`~keepdown.finance.stix_export`: STIX 2.1 bundle (TLP 2.0) and CSV;
- :mod:`~keepdown.finance.alerts`: alerts to subscribed financial institutions, sent once.

See docs/finance.md.
"""
