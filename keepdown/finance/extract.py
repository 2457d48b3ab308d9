"""All payment indicators of one page's text: wallets, payment links, payment e-mails.

:class:`Extractor` holds what the operator configured (payment patterns, the e-mail window, a
size limit) and turns text into a de-duplicated list of :class:`Found`, in order of first
appearance. Text past ``max_chars`` is not read (a page is never worth unbounded CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keepdown.finance.emails import find_payment_emails
from keepdown.finance.payments import DEFAULT_PATTERNS, PaymentPattern, find_payment_links
from keepdown.finance.wallets import find_wallets

__all__ = ["INDICATOR_TYPES", "Extractor", "Found"]

#: Every indicator type, with what it is.
INDICATOR_TYPES = {
    "btc": "Bitcoin address",
    "ltc": "Litecoin address",
    "eth": "Ethereum address",
    "xmr": "Monero address",
    "payment_link": "payment page or merchant link of a payment service",
    "email": "e-mail address used for payment",
}


@dataclass(frozen=True)
class Found:
    type: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Extractor:
    patterns: Sequence[PaymentPattern] = DEFAULT_PATTERNS
    email_window: int = 80
    max_chars: int = 2_000_000

    def __call__(self, text: str) -> list[Found]:
        text = text[: self.max_chars]
        hits: list[tuple[int, Found]] = [
            (at, Found(w.type, w.value, w.detail)) for at, w in find_wallets(text)
        ]
        hits += [
            (at, Found("payment_link", link.value, f"{link.service}:{link.merchant}"))
            for at, link in find_payment_links(text, self.patterns)
        ]
        hits += [
            (at, Found("email", email))
            for at, email in find_payment_emails(text, self.email_window)
        ]
        seen: set[tuple[str, str]] = set()
        out = []
        for _, found in sorted(hits, key=lambda hit: hit[0]):
            key = (found.type, found.value)
            if key not in seen:
                seen.add(key)
                out.append(found)
        return out
