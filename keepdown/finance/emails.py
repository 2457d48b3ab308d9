"""E-mail addresses used for payment: an address near a payment word.

An address alone says nothing about money; one within ``window`` characters of a payment word
("pay", "bitcoin", "invoice", "e-transfer", a currency sign...) on the same page is how sellers
say where to send it. :func:`find_payment_emails` yields only those, lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["PAYMENT_WORDS", "find_payment_emails"]

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
PAYMENT_WORDS = (
    "pay",
    "paid",
    "payment",
    "paypal",
    "venmo",
    "zelle",
    "interac",
    "e-transfer",
    "etransfer",
    "transfer",
    "wire",
    "bitcoin",
    "btc",
    "crypto",
    "monero",
    "xmr",
    "ethereum",
    "eth",
    "litecoin",
    "wallet",
    "invoice",
    "price",
    "buy",
    "purchase",
    "order",
    "donate",
    "donation",
    "send money",
    "gift card",
    "usd",
    "eur",
    "gbp",
    "cad",
    "aud",
)
_WORDS = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(re.escape(w) for w in PAYMENT_WORDS) + r")(?![A-Za-z])"
    r"|[$€£¥₿]",
    re.IGNORECASE,
)


def find_payment_emails(text: str, window: int = 80) -> Iterator[tuple[int, str]]:
    """E-mail addresses with a payment word within ``window`` characters, with offsets."""
    for match in _EMAIL.finditer(text):
        before = text[max(0, match.start() - window) : match.start()]
        after = text[match.end() : match.end() + window]
        if _WORDS.search(before) or _WORDS.search(after):
            yield match.start(), match[0].lower()
