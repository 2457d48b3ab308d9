"""Payment-page links and merchant identifiers of known payment services, from a pattern list.

A :class:`PaymentPattern` names a service and a regular expression whose named group
``merchant`` is the merchant or account identifier. :data:`DEFAULT_PATTERNS` covers common
pay-me links and hosted checkouts; an operator adds or overrides services with a TOML file
(setting ``finance_payment_patterns_file``)::

    [[service]]
    name = "examplepay"
    pattern = 'https?://(?:www\\.)?examplepay\\.test/pay/(?P<merchant>[A-Za-z0-9_-]{3,64})'

A found link becomes the indicator ``https://<host>/<path as matched>`` (scheme and host
lower-cased, query and fragment dropped) with ``detail`` = ``service:merchant``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from keepdown.errors import ConfigurationError

__all__ = [
    "DEFAULT_PATTERNS",
    "PaymentLink",
    "PaymentPattern",
    "find_payment_links",
    "load_patterns",
]

_ID = r"(?P<merchant>[A-Za-z0-9][A-Za-z0-9_.-]{1,63})"


@dataclass(frozen=True)
class PaymentPattern:
    name: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class PaymentLink:
    service: str
    merchant: str
    value: str


def _p(name: str, pattern: str) -> PaymentPattern:
    return PaymentPattern(name, re.compile(pattern, re.IGNORECASE))


DEFAULT_PATTERNS: tuple[PaymentPattern, ...] = (
    _p("paypal", rf"https?://(?:www\.)?paypal\.me/{_ID}"),
    _p("paypal", rf"https?://(?:www\.)?paypal\.com/paypalme/{_ID}"),
    _p("cashapp", r"https?://(?:www\.)?cash\.app/\$(?P<merchant>[A-Za-z][A-Za-z0-9_-]{0,19})"),
    _p("venmo", rf"https?://(?:www\.|account\.)?venmo\.com/(?:u/)?{_ID}"),
    _p("revolut", rf"https?://(?:www\.)?revolut\.me/{_ID}"),
    _p("wise", rf"https?://(?:www\.)?wise\.com/pay/me/{_ID}"),
    _p("buymeacoffee", rf"https?://(?:www\.)?buymeacoffee\.com/{_ID}"),
    _p("ko-fi", rf"https?://(?:www\.)?ko-fi\.com/{_ID}"),
    _p("patreon", rf"https?://(?:www\.)?patreon\.com/{_ID}"),
    _p("stripe", r"https?://buy\.stripe\.com/(?P<merchant>[A-Za-z0-9_]{8,64})"),
    _p("stripe", r"https?://checkout\.stripe\.com/c/pay/(?P<merchant>[A-Za-z0-9_]{8,200})"),
    _p(
        "coinbase-commerce",
        r"https?://commerce\.coinbase\.com/(?:checkout|pay|charges)/(?P<merchant>[A-Za-z0-9-]{6,64})",
    ),
)


def load_patterns(path: str | Path | None) -> tuple[PaymentPattern, ...]:
    """The defaults plus (first, so they win) the services of a TOML file, if any."""
    if not path:
        return DEFAULT_PATTERNS
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        extra = []
        for entry in doc.get("service", []):
            regex = re.compile(str(entry["pattern"]), re.IGNORECASE)
            if "merchant" not in regex.groupindex:
                raise ConfigurationError(
                    f"payment pattern {entry['name']!r} has no (?P<merchant>...) group"
                )
            extra.append(PaymentPattern(str(entry["name"]), regex))
    except (OSError, tomllib.TOMLDecodeError, KeyError, re.error, TypeError) as exc:
        raise ConfigurationError(f"cannot read payment patterns from {path}: {exc}") from exc
    return (*extra, *DEFAULT_PATTERNS)


def _canonical(url: str) -> str:
    parts = urlsplit(url)
    return f"https://{parts.netloc.lower()}{parts.path.rstrip('/.,;:')}"


def find_payment_links(
    text: str, patterns: Sequence[PaymentPattern] = DEFAULT_PATTERNS
) -> Iterator[tuple[int, PaymentLink]]:
    """Every payment link in ``text`` with its offset (one per place, first pattern wins)."""
    taken: list[tuple[int, int]] = []
    for pattern in patterns:
        for match in pattern.regex.finditer(text):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue
            taken.append((match.start(), match.end()))
            merchant = match["merchant"].rstrip(".-")
            yield match.start(), PaymentLink(pattern.name, merchant, _canonical(match[0]))
