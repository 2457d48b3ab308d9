"""Every keepdown setting, declared once, typed.

Each setting is an attribute of one group class (:mod:`~keepdown.settings.hashing`,
:mod:`~keepdown.settings.crawling`, :mod:`~keepdown.settings.api`,
:mod:`~keepdown.settings.notices`, :mod:`~keepdown.settings.web`,
:mod:`~keepdown.settings.accountability`, :mod:`~keepdown.settings.filings`,
:mod:`~keepdown.settings.blocklist`, :mod:`~keepdown.settings.workers`,
:mod:`~keepdown.settings.federation`, :mod:`~keepdown.settings.exchanges`), made with the
typed constructors of :mod:`~keepdown.settings.setting`: its type, default, help and range.
:class:`Settings` joins the groups; ``settings.max_image_pixels`` is an ``int`` to mypy and at
run time, and :data:`SETTINGS` lists every :class:`Setting` in the groups' order.

Values come from, in increasing priority: the defaults, a TOML file (``KEEPDOWN_CONFIG`` or
``--config``), ``KEEPDOWN_<NAME>`` environment variables, and explicit overrides (CLI options,
tests). Each is parsed and range-checked where it enters, so components never cast or
re-check a setting.

Secrets are never stored in a setting's value: a secret setting names an *environment
variable* that holds the secret, so configuration files and logs never carry one.
``docs/settings.md`` documents every setting; a test fails when one is missing there.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keepdown.errors import ConfigurationError
from keepdown.settings.accountability import AccountabilitySettings
from keepdown.settings.api import ApiSettings
from keepdown.settings.blocklist import BlocklistSettings
from keepdown.settings.crawling import CrawlSettings
from keepdown.settings.exchanges import ExchangeSettings
from keepdown.settings.federation import FederationSettings
from keepdown.settings.filings import FilingSettings
from keepdown.settings.hashing import HashingSettings
from keepdown.settings.notices import NoticeSettings
from keepdown.settings.setting import ENV_PREFIX, Setting
from keepdown.settings.submissions import SubmissionSettings
from keepdown.settings.web import WebSettings
from keepdown.settings.workers import WorkerSettings

__all__ = [
    "ENV_PREFIX",
    "GROUPS",
    "SETTINGS",
    "Setting",
    "Settings",
    "load_settings",
    "process_settings",
]

_GROUPS: tuple[type, ...] = (
    HashingSettings,
    CrawlSettings,
    ApiSettings,
    NoticeSettings,
    WebSettings,
    AccountabilitySettings,
    FilingSettings,
    BlocklistSettings,
    WorkerSettings,
    SubmissionSettings,
    FederationSettings,
    ExchangeSettings,
)


class Settings(
    HashingSettings,
    CrawlSettings,
    ApiSettings,
    NoticeSettings,
    WebSettings,
    AccountabilitySettings,
    FilingSettings,
    BlocklistSettings,
    WorkerSettings,
    SubmissionSettings,
    FederationSettings,
    ExchangeSettings,
):
    """Resolved, checked setting values. Read them as attributes: ``settings.api_port``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values changed (parsed and checked like any other source)."""
        values = dict(self._values)
        for name, raw in overrides.items():
            values[name] = _declared(name).parse(raw)
        return Settings(values)

    def as_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """All values; secret settings are shown as the variable they name, never resolved."""
        if not redact:
            return dict(self._values)
        return {
            k: (f"${{{v}}}" if _BY_NAME[k].secret and v else v) for k, v in self._values.items()
        }

    def secret(self, name: str) -> str | None:
        """Resolve a secret setting: read the environment variable it names."""
        setting = _declared(name)
        if not setting.secret:
            raise ConfigurationError(f"setting {name} is not a secret reference")
        ref = self._values[name]
        return os.environ.get(ref) if ref else None

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path / 'keepdown.sqlite3'}"

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir).expanduser() if self.index_dir else self.data_path / "index"


#: Each group's title (its docstring's first line) and settings, in declaration order.
GROUPS: tuple[tuple[str, tuple[Setting[Any], ...]], ...] = tuple(
    (
        (group.__doc__ or group.__name__).strip().splitlines()[0].rstrip("."),
        tuple(value for value in vars(group).values() if isinstance(value, Setting)),
    )
    for group in _GROUPS
)
SETTINGS: tuple[Setting[Any], ...] = tuple(s for _, group in GROUPS for s in group)
_BY_NAME = {s.name: s for s in SETTINGS}


def _declared(name: str) -> Setting[Any]:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigurationError(f"unknown setting {name!r}") from None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting from defaults, a TOML file, the environment and overrides."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.parse(s.default) for s in SETTINGS}
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(_read_file(Path(config_file)))
    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = setting.parse(environ[setting.env_var])
    for name, raw in (overrides or {}).items():
        values[name] = _declared(name).parse(raw)
    return Settings(values)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("keepdown", data)
    return {name: _declared(name).parse(raw) for name, raw in section.items()}


@functools.cache
def process_settings() -> Settings:
    """The settings of this process's environment, read once: what library calls that are
    given no settings use (``keepdown.hash_file(path)``), so a hash in a loop does not read
    the environment and every variable again."""
    return load_settings()
