"""Who files, and how: one filing profile per organisation.

A platform files its own CyberTipline reports with its own NCMEC account and its own
statements of reasons with its own DSA Transparency Database token; a hotline files its own
trusted-flagger report and, where it reports sightings to NCMEC, its own reports. So the
reporter's details and the credentials belong to an organisation, not to the deployment.

Credentials are never stored: a profile names the *environment variables* that hold them
(``{"username": "NCMEC_TEST_USER"}``), read at the moment of use (:func:`credential`), as
keepdown's secret settings and exchange feeds do. Test and production credentials are
separate, and a report records the environment it was drafted for, so switching a profile to
production never sends a report drafted for the test environment there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.errors import ConfigurationError, InvalidInput
from keepdown.filings.goaml import GoamlConfig

__all__ = [
    "PARTS",
    "DsaEnvironment",
    "DsaProfile",
    "FilingProfile",
    "MemoryProfiles",
    "NcmecEnvironment",
    "NcmecProfile",
    "ProfileStore",
    "Secret",
    "credential",
    "profile_from_dict",
]

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]{1,2000}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class NcmecEnvironment(StrEnum):
    TEST = "test"  # NCMEC's test service: reports are discarded
    PRODUCTION = "production"


class DsaEnvironment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Secret:
    """A credential that never shows itself by accident (``str``, ``repr`` and logs: ***)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def credential(variable: str, what: str, environ: Mapping[str, str] | None = None) -> Secret:
    """The secret in environment variable ``variable``; ConfigurationError naming the
    variable (never a value) when it is not set."""
    if not variable:
        raise ConfigurationError(f"no environment variable is named for {what}")
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise ConfigurationError(f"{what} is read from ${variable}, which is not set")
    return Secret(value)


def _env_name(value: str, name: str) -> str:
    if value and not _ENV_NAME.match(value):
        raise InvalidInput(
            f"{name} must name an environment variable (A-Z, 0-9, _), not a value", field=name
        )
    return value


def _text(value: str, name: str, limit: int, pattern: re.Pattern[str] | None = None) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    if value and pattern is not None and not pattern.match(value):
        raise InvalidInput(f"{name} is not valid: {value[:80]!r}", field=name)
    return value


@dataclass(frozen=True)
class NcmecProfile:
    """An organisation's CyberTipline reporter details and credentials (by variable name)."""

    environment: NcmecEnvironment = NcmecEnvironment.TEST
    test_username_env: str = ""
    test_password_env: str = ""
    production_username_env: str = ""
    production_password_env: str = ""
    reporter_email: str = ""
    reporter_first_name: str = ""
    reporter_last_name: str = ""
    company_template: str = ""
    legal_url: str = ""
    terms_of_service: str = ""
    esp_service: str = ""
    approval: bool = False  # a second person approves each report before it is sent
    sightings: bool = False  # report confirmed crawl sightings too (the operator's choice)

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", NcmecEnvironment(self.environment))
        for name in (
            "test_username_env",
            "test_password_env",
            "production_username_env",
            "production_password_env",
        ):
            _env_name(getattr(self, name), name)
        object.__setattr__(
            self, "reporter_email", _text(self.reporter_email, "reporter_email", 255, _EMAIL)
        )
        object.__setattr__(self, "legal_url", _text(self.legal_url, "legal_url", 2000, _URL))
        for name, limit in (
            ("reporter_first_name", 100),
            ("reporter_last_name", 100),
            ("company_template", 255),
            ("terms_of_service", 3000),
            ("esp_service", 255),
        ):
            object.__setattr__(self, name, _text(getattr(self, name), name, limit))

    def credential_names(self, environment: str) -> tuple[str, str]:
        """(username variable, password variable) for ``environment``."""
        if NcmecEnvironment(environment) is NcmecEnvironment.PRODUCTION:
            return self.production_username_env, self.production_password_env
        return self.test_username_env, self.test_password_env

    def missing(self) -> list[str]:
        """What the profile lacks before a report can be drafted (empty: nothing)."""
        needed = []
        if not self.reporter_email:
            needed.append("reporter_email")
        user, password = self.credential_names(self.environment)
        if not user or not password:
            needed.append(f"{self.environment.value} credentials (username and password variables)")
        return needed


#: The countries the DSA applies in (the EEA), the default territorial scope of a decision.
EEA = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IS",
    "IT",
    "LI",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
)


#: The content types the Transparency Database knows.
CONTENT_TYPES = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
)


@dataclass(frozen=True)
class DsaProfile:
    """An online platform's statements-of-reasons settings (DSA Art. 17 and 24(5))."""

    environment: DsaEnvironment = DsaEnvironment.SANDBOX
    sandbox_token_env: str = ""
    production_token_env: str = ""
    territorial_scope: tuple[str, ...] = tuple(EEA)
    decision_ground: str = "DECISION_GROUND_ILLEGAL_CONTENT"
    illegal_content_legal_ground: str = (
        "Directive 2011/93/EU on combating the sexual abuse and sexual exploitation of "
        "children and child pornography, as transposed into national law"
    )
    illegal_content_explanation: str = (
        "The content is identical to material that a hash list of known child sexual abuse "
        "material identifies."
    )
    incompatible_content_ground: str = ""
    decision_ground_reference_url: str = ""
    content_language: str = ""
    #: What a platform's uploads are (keepdown's events do not say): CONTENT_TYPE_* names.
    content_types: tuple[str, ...] = ("CONTENT_TYPE_IMAGE",)
    #: Decisions before this day (YYYY-MM-DD) are not filed by keepdown ("": all of them).
    since: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", DsaEnvironment(self.environment))
        if self.since:
            try:
                date.fromisoformat(self.since)
            except ValueError:
                raise InvalidInput("since: a day as YYYY-MM-DD", field="since") from None
        kinds = tuple(dict.fromkeys(k.strip().upper() for k in self.content_types if k.strip()))
        if not kinds or any(k not in CONTENT_TYPES for k in kinds):
            raise InvalidInput(
                "content_types: one or more of " + ", ".join(CONTENT_TYPES), field="content_types"
            )
        object.__setattr__(self, "content_types", kinds)
        language = self.content_language.strip().upper()
        if language and not _COUNTRY.match(language):
            raise InvalidInput(
                "content_language: a two-letter ISO 639-1 code", field="content_language"
            )
        object.__setattr__(self, "content_language", language)
        _env_name(self.sandbox_token_env, "sandbox_token_env")
        _env_name(self.production_token_env, "production_token_env")
        scope = tuple(sorted({c.strip().upper() for c in self.territorial_scope if c.strip()}))
        for country in scope:
            if not _COUNTRY.match(country) or country not in EEA:
                raise InvalidInput(
                    f"territorial scope {country!r} is not an EEA country code",
                    field="territorial_scope",
                )
        object.__setattr__(self, "territorial_scope", scope)
        if self.decision_ground not in (
            "DECISION_GROUND_ILLEGAL_CONTENT",
            "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        ):
            raise InvalidInput(
                "decision_ground is not a DSA decision ground", field="decision_ground"
            )
        for name, limit in (
            ("illegal_content_legal_ground", 500),
            ("illegal_content_explanation", 2000),
            ("incompatible_content_ground", 500),
        ):
            object.__setattr__(self, name, _text(getattr(self, name), name, limit))
        object.__setattr__(
            self,
            "decision_ground_reference_url",
            _text(self.decision_ground_reference_url, "decision_ground_reference_url", 500, _URL),
        )

    def token_name(self, environment: str) -> str:
        if DsaEnvironment(environment) is DsaEnvironment.PRODUCTION:
            return self.production_token_env
        return self.sandbox_token_env


@dataclass(frozen=True)
class FilingProfile:
    """An organisation's filing profile: any part may be absent (a platform has ``ncmec`` and
    ``dsa``; a hotline ``ncmec`` for sightings and ``goaml`` for its FIU)."""

    organisation: str
    ncmec: NcmecProfile | None = None
    dsa: DsaProfile | None = None
    goaml: GoamlConfig | None = None
    updated_at: datetime | None = None
    updated_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Safe to show: variable names, never values."""
        return {
            "organisation": self.organisation,
            "ncmec": _part_dict(self.ncmec),
            "dsa": _part_dict(self.dsa),
            "goaml": _part_dict(self.goaml),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
        }

    def with_changes(self, part: str, values: Mapping[str, Any]) -> FilingProfile:
        """A copy with ``values`` set in ``part`` ("ncmec", "dsa" or "goaml"), validated."""
        cls: type[NcmecProfile] | type[DsaProfile] | type[GoamlConfig]
        if part not in PARTS:
            raise InvalidInput(f"a profile's parts are {', '.join(PARTS)}, not {part!r}")
        cls = {"ncmec": NcmecProfile, "dsa": DsaProfile, "goaml": GoamlConfig}[part]
        current = getattr(self, part) or cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(f"unknown {part} profile field(s): {', '.join(unknown)}")
        changed = dict(values)
        for name in ("territorial_scope", "content_types", "indicator_codes"):
            if isinstance(changed.get(name), str):
                changed[name] = tuple(changed[name].split(","))
            elif isinstance(changed.get(name), list):
                changed[name] = tuple(changed[name])
        try:
            updated = replace(current, **changed)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{part} profile: {exc}") from exc
        if isinstance(updated, NcmecProfile):
            return replace(self, ncmec=updated)
        if isinstance(updated, GoamlConfig):
            return replace(self, goaml=updated)
        return replace(self, dsa=updated)


#: The parts of a profile.
PARTS = ("ncmec", "dsa", "goaml")


def _part_dict(part: NcmecProfile | DsaProfile | GoamlConfig | None) -> dict[str, Any] | None:
    if part is None:
        return None
    data = asdict(part)
    for name, value in data.items():
        if isinstance(value, StrEnum):
            data[name] = value.value
        elif isinstance(value, tuple):
            data[name] = list(value)
    return data


def profile_from_dict(organisation: str, data: Mapping[str, Any]) -> FilingProfile:
    """Rebuild a stored profile (the inverse of :meth:`FilingProfile.to_dict`)."""
    ncmec = data.get("ncmec")
    dsa = data.get("dsa")
    goaml = data.get("goaml")
    return FilingProfile(
        organisation=organisation,
        ncmec=NcmecProfile(**ncmec) if ncmec else None,
        dsa=DsaProfile(
            **{
                **dsa,
                "territorial_scope": tuple(dsa.get("territorial_scope", EEA)),
                "content_types": tuple(dsa.get("content_types", ("CONTENT_TYPE_IMAGE",))),
            }
        )
        if dsa
        else None,
        goaml=GoamlConfig(**{**goaml, "indicator_codes": tuple(goaml.get("indicator_codes", ()))})
        if goaml
        else None,
        updated_by=str(data.get("updated_by", "")),
    )


class ProfileStore(Protocol):
    """Where profiles live (SQL in ``keepdown.storage``; an in-memory twin)."""

    def get(self, organisation: str) -> FilingProfile | None: ...

    def put(self, profile: FilingProfile) -> FilingProfile: ...

    def all(self) -> list[FilingProfile]: ...


@dataclass
class MemoryProfiles:
    """The in-memory :class:`ProfileStore`."""

    profiles: dict[str, FilingProfile] = field(default_factory=dict)

    def get(self, organisation: str) -> FilingProfile | None:
        return self.profiles.get(organisation)

    def put(self, profile: FilingProfile) -> FilingProfile:
        self.profiles[profile.organisation] = profile
        return profile

    def all(self) -> list[FilingProfile]:
        return [self.profiles[k] for k in sorted(self.profiles)]
