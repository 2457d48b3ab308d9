"""Indicators as a STIX 2.1 bundle (``stix2``) and as CSV, marked with the operator's TLP.

The bundle holds, for the whole export: the operator's ``identity``; the TLP 2.0 marking
definition chosen (:data:`TLP`: the published OASIS objects, ids and all, since STIX 2.1
predefines only TLP 1.0); the ``extension-definition`` of the ``cryptocurrency-wallet``
observable (STIX 2.1 has no wallet object, so keepdown defines one the 2.1 way, a ``new-sco``
extension). Then, per indicator:

1. an observable: ``cryptocurrency-wallet`` (address, currency), ``email-addr`` or ``url``;
2. an ``indicator`` with a STIX pattern on it (``[cryptocurrency-wallet:address = '...']``),
   its first sighting as ``valid_from``, and a description with the confirmed sightings, pages
   and providers (counts and provider names: never the URL of a page with material);
3. an ``observed-data`` (first and last seen, number of pages) referring to the observable;
4. a ``relationship`` indicator ``based-on`` observed-data.

Every object carries the TLP marking and is created by the operator's identity. The CSV
carries the same facts, one indicator a row.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import stix2
from stix2.properties import StringProperty

from keepdown.errors import InvalidInput
from keepdown.finance.model import Indicator
from keepdown.spreadsheet import rows_writer

__all__ = ["CSV_COLUMNS", "TLP", "render_indicators_csv", "stix_bundle", "tlp_marking"]

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#: The OASIS TLP 2.0 marking definitions (cti-stix-common-objects), by level.
TLP = {
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    "amber+strict": (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "TLP:AMBER+STRICT",
    ),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}
WALLET_EXTENSION = "extension-definition--76c89e8a-28ab-4577-980b-edfb8cfdd420"
_CREATED = "2026-01-01T00:00:00.000Z"
_NAMES = {
    "btc": "Bitcoin",
    "ltc": "Litecoin",
    "eth": "Ethereum",
    "xmr": "Monero",
    "payment_link": "Payment link",
    "email": "Payment e-mail address",
}


@stix2.CustomObservable(
    "cryptocurrency-wallet",
    [("address", StringProperty(required=True)), ("currency", StringProperty())],
    extension_name=WALLET_EXTENSION,
)
class CryptocurrencyWallet:
    """A cryptocurrency address (keepdown's ``new-sco`` extension)."""


#: The wallet's constructor: stix2's decorator gives the class its keyword properties.
_new_wallet: Callable[..., Any] = CryptocurrencyWallet


def tlp_marking(level: str) -> stix2.MarkingDefinition:
    """The TLP 2.0 marking definition of ``level`` (clear, green, amber, amber+strict, red)."""
    key = level.strip().lower().removeprefix("tlp:")
    if key == "white":
        key = "clear"  # TLP 1.0's WHITE is TLP 2.0's CLEAR
    if key not in TLP:
        raise InvalidInput(f"unknown TLP level {level!r}; use {', '.join(TLP)}", tlp=level)
    marking_id, name = TLP[key]
    return stix2.MarkingDefinition(
        id=marking_id,
        created="2022-10-01T00:00:00.000Z",
        name=name,
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": key}},
    )


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _observable(ind: Indicator, marks: list[str]) -> tuple[Any, str]:
    if ind.type == "email":
        sco = stix2.EmailAddress(value=ind.value, object_marking_refs=marks)
        return sco, f"[email-addr:value = '{_quote(ind.value)}']"
    if ind.type == "payment_link":
        sco = stix2.URL(value=ind.value, object_marking_refs=marks)
        return sco, f"[url:value = '{_quote(ind.value)}']"
    sco = _new_wallet(address=ind.value, currency=ind.type, object_marking_refs=marks)
    return sco, f"[cryptocurrency-wallet:address = '{_quote(ind.value)}']"


def _describe(ind: Indicator) -> str:
    providers = ", ".join(ind.providers) or "unknown"
    return (
        f"{_NAMES.get(ind.type, ind.type)} found on {len(ind.pages)} crawled page(s) where "
        f"known child sexual abuse material was confirmed ({ind.confirmed_sightings} confirmed "
        f"sighting(s) on {ind.confirmed_pages} page(s)); hosting providers: {providers}; "
        f"first seen {ind.first_seen.isoformat()}, last seen {ind.last_seen.isoformat()}."
    )


def _objects_of(ind: Indicator, who: str, marks: list[str]) -> list[Any]:
    sco, pattern = _observable(ind, marks)
    common = {"created_by_ref": who, "object_marking_refs": marks, "allow_custom": True}
    indicator = stix2.Indicator(
        name=f"{_NAMES.get(ind.type, ind.type)} {ind.value}",
        description=_describe(ind),
        pattern=pattern,
        pattern_type="stix",
        valid_from=ind.first_seen,
        indicator_types=["malicious-activity"],
        labels=[f"keepdown:{ind.type}"],
        **common,
    )
    observed = stix2.ObservedData(
        first_observed=ind.first_seen,
        last_observed=ind.last_seen,
        number_observed=max(len(ind.pages), 1),
        object_refs=[sco.id],
        **common,
    )
    link = stix2.Relationship(
        source_ref=indicator.id,
        relationship_type="based-on",
        target_ref=observed.id,
        created_by_ref=who,
        object_marking_refs=marks,
    )
    return [sco, indicator, observed, link]


def stix_bundle(indicators: Sequence[Indicator], *, operator: str, tlp: str, now: datetime) -> str:
    """The STIX 2.1 bundle of ``indicators`` as JSON text (module docstring)."""
    marking = tlp_marking(tlp)
    marks = [marking.id]
    identity = stix2.Identity(
        name=operator or "keepdown operator",
        identity_class="organization",
        created=now,
        modified=now,
        object_marking_refs=marks,
    )
    extension = stix2.ExtensionDefinition(
        id=WALLET_EXTENSION,
        created_by_ref=identity.id,
        created=_CREATED,
        modified=_CREATED,
        name="cryptocurrency-wallet",
        description="A cryptocurrency address seen where known material was confirmed.",
        schema="keepdown docs/finance.md: address (string, required), currency (btc, ltc, "
        "eth, xmr)",
        version="1.0.0",
        extension_types=["new-sco"],
        object_marking_refs=marks,
    )
    objects: list[Any] = [identity, marking, extension]
    for ind in indicators:
        objects += _objects_of(ind, identity.id, marks)
    bundle = stix2.Bundle(objects=objects, allow_custom=True)
    return json.dumps(json.loads(bundle.serialize()), indent=2) + "\n"


CSV_COLUMNS = (
    "type",
    "value",
    "detail",
    "confirmed_sightings",
    "confirmed_pages",
    "pages",
    "providers",
    "first_seen",
    "last_seen",
    "tlp",
)


def render_indicators_csv(indicators: Sequence[Indicator], *, tlp: str) -> str:
    label = tlp_marking(tlp).name
    out = io.StringIO()
    writer = rows_writer(out)
    writer.writerow(CSV_COLUMNS)
    for ind in indicators:
        writer.writerow(
            (
                ind.type,
                ind.value,
                ind.detail,
                ind.confirmed_sightings,
                ind.confirmed_pages,
                len(ind.pages),
                ";".join(ind.providers),
                ind.first_seen.isoformat(),
                ind.last_seen.isoformat(),
                label,
            )
        )
    return out.getvalue()
