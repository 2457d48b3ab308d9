"""One client per exchange, built the same way from a feed.

- :mod:`~keepdown.exchanges.clients.ncmec`: NCMEC Hash Sharing API v2 (XML, HTTP Basic);
- :mod:`~keepdown.exchanges.clients.stopncii`: StopNCII.org (JSON, subscription and
  function keys);
- :mod:`~keepdown.exchanges.clients.threatexchange`: ThreatExchange ``threat_updates``
  (Graph API JSON, an app token).

:data:`KINDS` says, per kind, the secrets a feed must name, the optional ones and the options
its client reads; :func:`build_client` makes the client of a feed (reading its secrets from
the environment at that moment). A new kind (a peer keepdown, issue 18) registers its
:class:`ClientKind` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keepdown.banks.classification import Classification
from keepdown.clock import Clock
from keepdown.errors import InvalidInput
from keepdown.exchanges.clients import ncmec, stopncii, threatexchange
from keepdown.exchanges.clients.options import OptionSpec, read_options
from keepdown.exchanges.http import HttpLimits
from keepdown.exchanges.protocol import PagedClient
from keepdown.exchanges.secrets import resolve

__all__ = ["KINDS", "ClientKind", "build_client", "check_feed_config"]


@dataclass(frozen=True)
class ClientKind:
    """What a kind of exchange needs from a feed, and how its client is made."""

    make: Callable[..., PagedClient]
    secrets: tuple[str, ...]
    options: Mapping[str, OptionSpec]
    optional_secrets: tuple[str, ...] = ()
    default_url: str = ""
    notes: str = field(default="", compare=False)


KINDS: dict[str, ClientKind] = {
    "ncmec": ClientKind(
        ncmec.NcmecClient,
        ncmec.SECRETS,
        ncmec.OPTIONS,
        default_url="https://report.cybertip.org/hashsharing",
    ),
    "stopncii": ClientKind(
        stopncii.StopNciiClient,
        stopncii.SECRETS,
        stopncii.OPTIONS,
        optional_secrets=stopncii.OPTIONAL_SECRETS,
        default_url="https://api.stopncii.org/v1",
    ),
    "threatexchange": ClientKind(
        threatexchange.ThreatExchangeClient,
        threatexchange.SECRETS,
        threatexchange.OPTIONS,
        default_url="https://graph.facebook.com/v21.0",
    ),
}


def kind_of(name: str) -> ClientKind:
    try:
        return KINDS[str(name)]
    except KeyError:
        raise InvalidInput(
            f"no exchange client of kind {name!r} here; known: {', '.join(sorted(KINDS))}"
        ) from None


def check_feed_config(kind: str, options: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
    """InvalidInput unless ``options`` and the names in ``secrets`` suit ``kind``."""
    spec = kind_of(kind)
    read_options(spec.options, options)
    missing = [name for name in spec.secrets if name not in secrets]
    unknown = sorted(set(secrets) - set(spec.secrets) - set(spec.optional_secrets))
    if missing:
        raise InvalidInput(
            f"a {kind} feed needs the secret(s) {', '.join(missing)} "
            "(--secret NAME=ENVIRONMENT_VARIABLE)"
        )
    if unknown:
        raise InvalidInput(f"a {kind} feed has no secret named {', '.join(unknown)}")


def build_client(
    feed: Any,
    clock: Clock,
    *,
    environ: Mapping[str, str] | None = None,
    limits: HttpLimits | None = None,
    default: Classification | None = None,
    http: Any = None,
) -> PagedClient:
    """The client of ``feed`` (a :class:`~keepdown.exchanges.model.Feed`), secrets read now."""
    spec = kind_of(str(feed.kind))
    secrets = resolve(feed.name, feed.secrets, required=spec.secrets, environ=environ)
    return spec.make(
        feed.url or spec.default_url,
        feed.options,
        secrets,
        clock,
        default=default,
        limits=limits,
        http=http,
    )
