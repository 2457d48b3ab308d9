"""Payment and wallet indicators as a goAML report, for a financial intelligence unit.

goAML (UNODC's system, used by FIUs in many countries) takes reports as XML valid against the
FIU's own copy of the goAML schema: every FIU publishes the schema with its own lookup values
(report codes, indicator codes, address types, currencies), so the report is checked against
the XSD the operator names (``filings_goaml_xsd``: the one its FIU gave it). UNODC publishes
no schema of its own; keepdown was checked against one FIU's public copy, the UAE FIU's goAML
5.0.2 schema (docs/finance.md says where it was read and what it asks beyond the rest).

keepdown is not a bank: it reports no transaction. It writes an **activity** report
(``<activity>``): one ``<report_party>`` per indicator that has confirmed sightings
(:mod:`keepdown.finance`):

- a cryptocurrency wallet (btc, ltc, eth, xmr) is an ``<account>``: the network as the
  institution (``non_bank_institution``), the currency's ticker as its code, the address as the
  account number, "Unknown holder of a ... wallet" as the account name;
- a payment link is an ``<entity>``: the service and merchant as its name, the link as its URL;
- an e-mail address given for payment is an ``<entity>`` with that address.

Names keepdown writes itself (account and entity names) keep to letters, digits, space and
``.'-``: FIUs' goAML schemas restrict names to those (the UAE FIU's 5.0.2 schema does), and a
name that is only a label loses nothing by it. The ``entity_reference`` (required by some FIUs'
schemas) is the operator's, or one keepdown derives from the day and the indicators reported.

Each party's ``<reason>`` states the evidence in numbers: confirmed sightings, pages, hosting
providers, first and last seen; never the URL of a page with material. What only the FIU and
the operator know (the reporting entity's id and branch, the reporting person, the report and
indicator codes, the address type) comes from the operator's :class:`GoamlConfig`.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from keepdown.errors import InvalidInput
from keepdown.finance.model import Indicator

__all__ = ["GoamlConfig", "goaml_report"]

_CURRENCIES = {"btc": "Bitcoin", "ltc": "Litecoin", "eth": "Ethereum", "xmr": "Monero"}


@dataclass(frozen=True)
class GoamlConfig:
    """What the FIU and the operator say about the report (module docstring)."""

    rentity_id: int = 0  # the reporting entity's id at the FIU (required)
    rentity_branch: str = "-"
    report_code: str = "SAR"  # the FIU's code for a suspicious activity report
    submission_code: str = "E"  # electronic
    currency_code_local: str = "EUR"
    reporting_first_name: str = ""
    reporting_last_name: str = ""
    reporting_email: str = ""
    address_type: str = "-"  # the FIU's contact type code
    address: str = ""
    city: str = ""
    country_code: str = ""
    state: str = ""  # required by some FIUs' schemas (the address's state or emirate)
    indicator_codes: tuple[str, ...] = ("-",)  # the FIU's report indicator codes
    entity_reference: str = ""
    action: str = ""
    reason_intro: str = field(
        default=(
            "Payment and wallet indicators found by a hotline's crawler on web pages where "
            "known child sexual abuse material was confirmed."
        )
    )

    def __post_init__(self) -> None:
        codes = self.indicator_codes
        if isinstance(codes, str):
            codes = tuple(codes.split(","))
        cleaned = tuple(c.strip() for c in codes if c.strip())
        object.__setattr__(self, "indicator_codes", cleaned or ("-",))
        try:
            object.__setattr__(self, "rentity_id", int(self.rentity_id))
        except (TypeError, ValueError):
            raise InvalidInput("rentity_id: the FIU's number of the reporting entity") from None

    def missing(self) -> list[str]:
        needed = []
        for name in ("reporting_first_name", "reporting_last_name", "address", "city"):
            if not getattr(self, name).strip():
                needed.append(name)
        if len(self.country_code) != 2:
            needed.append("country_code")
        if self.rentity_id < 1:
            needed.append("rentity_id")
        return needed


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _when(at: datetime) -> str:
    """goAML's sql_date: an xs:dateTime without a zone, in UTC."""
    return at.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


_NAME_SAFE = re.compile(r"[^A-Za-z0-9 .'-]+")


def _name(text: str, fallback: str = "Unknown") -> str:
    """``text`` kept to the characters goAML names allow (module docstring)."""
    cleaned = " ".join(_NAME_SAFE.sub(" ", text).split())[:255]
    return cleaned or fallback


def _reference(chosen: Sequence[Indicator], now: datetime) -> str:
    """The same indicators on the same day give the same reference (a resubmission is
    recognisable); another set, another reference."""
    digest = hashlib.sha256(
        "\n".join(f"{i.type}:{i.value}" for i in sorted(chosen, key=lambda i: i.id)).encode()
    ).hexdigest()[:12]
    return f"keepdown-{now.astimezone(UTC):%Y%m%d}-{digest}"


def _evidence(ind: Indicator) -> str:
    providers = ", ".join(ind.providers) or "unknown"
    return (
        f"{ind.confirmed_sightings} confirmed sighting(s) of known child sexual abuse material "
        f"on {ind.confirmed_pages} page(s) carrying this indicator, of {len(ind.pages)} page(s) "
        f"crawled with it; hosting providers: {providers}; first seen "
        f"{ind.first_seen.date().isoformat()}, last seen {ind.last_seen.date().isoformat()}."
    )[:4000]


def _party(parties: ET.Element, ind: Indicator) -> None:
    party = _add(parties, "report_party")
    if ind.type in _CURRENCIES:
        account = _add(party, "account")
        _add(account, "institution_name", f"{_CURRENCIES[ind.type]} network (cryptocurrency)")
        _add(account, "institution_code", ind.type.upper())
        _add(account, "non_bank_institution", "true")
        _add(account, "account", ind.value[:255])
        _add(account, "account_name", f"Unknown holder of a {_CURRENCIES[ind.type]} wallet")
    else:
        entity = _add(party, "entity")
        if ind.type == "email":
            _add(entity, "name", "Unknown holder of an e-mail address given for payment")
            _add(entity, "email", ind.value[:255])
        else:
            service = ind.detail or ind.value.split("//", 1)[-1].split("/", 1)[0]
            _add(entity, "name", _name(service, "Unknown payment link holder"))
            _add(entity, "url", ind.value[:255])
    _add(party, "reason", _evidence(ind))


def _reporter(root: ET.Element, config: GoamlConfig) -> None:
    person = _add(root, "reporting_person")
    _add(person, "first_name", config.reporting_first_name[:100])
    _add(person, "last_name", config.reporting_last_name[:100])
    if config.reporting_email:
        _add(person, "email", config.reporting_email[:255])
    location = _add(root, "location")
    _add(location, "address_type", config.address_type)
    _add(location, "address", config.address[:100])
    _add(location, "city", config.city[:255])
    _add(location, "country_code", config.country_code.upper())
    if config.state.strip():
        _add(location, "state", config.state.strip()[:255])


def goaml_report(indicators: Sequence[Indicator], config: GoamlConfig, *, now: datetime) -> bytes:
    """The activity report for ``indicators`` (those with confirmed sightings)."""
    missing = config.missing()
    if missing:
        raise InvalidInput("the goAML settings lack " + ", ".join(missing))
    chosen = [i for i in indicators if i.confirmed_sightings > 0]
    if not chosen:
        raise InvalidInput("no indicator has a confirmed sighting: there is nothing to report")
    root = ET.Element("report")
    _add(root, "rentity_id", str(config.rentity_id))
    _add(root, "rentity_branch", config.rentity_branch or "-")
    _add(root, "submission_code", config.submission_code)
    _add(root, "report_code", config.report_code)
    _add(root, "entity_reference", (config.entity_reference or _reference(chosen, now))[:255])
    _add(root, "submission_date", _when(now))
    _add(root, "currency_code_local", config.currency_code_local)
    _reporter(root, config)
    _add(root, "reason", f"{config.reason_intro} {len(chosen)} indicator(s).")
    if config.action:
        _add(root, "action", config.action[:8000])
    parties = _add(_add(root, "activity"), "report_parties")
    for ind in chosen:
        _party(parties, ind)
    codes = _add(root, "report_indicators")
    for code in config.indicator_codes or ("-",):
        _add(codes, "indicator", code)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
