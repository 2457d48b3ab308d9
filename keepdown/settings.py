"""Every keepdown setting, declared once.

Each :class:`Setting` has a name, a type, a default and a help text. Values come from, in
increasing priority: the defaults here, a TOML file (``KEEPDOWN_CONFIG`` or ``--config``),
``KEEPDOWN_<NAME>`` environment variables, and explicit overrides (CLI options, tests).

Secrets are never stored in a setting's value: a secret setting names an *environment
variable* that holds the secret (``secret=True``), so configuration files and logs never carry
one. ``docs/settings.md`` documents every setting; a test fails when one is missing there.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepdown.errors import ConfigurationError

__all__ = ["SETTINGS", "Setting", "Settings", "load_settings"]

ENV_PREFIX = "KEEPDOWN_"


@dataclass(frozen=True)
class Setting:
    """One setting: its name (snake_case), type, default and a one-line help text."""

    name: str
    type: type
    default: Any
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: Any) -> Any:
        """Turn a raw value (string from the environment, or TOML value) into this type."""
        try:
            if self.type is bool:
                return _parse_bool(raw)
            if self.type is tuple:
                return _parse_list(raw)
            if self.type in (int, float) and isinstance(raw, str):
                return self.type(raw.replace("_", ""))
            return self.type(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"setting {self.name} ({self.env_var}) expects {self.type.__name__}, got {raw!r}"
            ) from exc


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(raw)


def _parse_list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(item) for item in raw)
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


MiB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    # --- where things live ---
    Setting("data_dir", str, "~/.local/share/keepdown",
            "Folder for the embedded database, saved indexes and signing keys."),
    Setting("database_url", str, "",
            "SQLAlchemy URL of the database; empty means SQLite at <data_dir>/keepdown.sqlite3. "
            "Use postgresql+psycopg://... for PostgreSQL."),
    # --- hashing ---
    Setting("max_image_bytes", int, 50 * MiB,
            "Largest image file keepdown will decode, in bytes."),
    Setting("max_image_pixels", int, 100_000_000,
            "Largest image, in pixels (width x height), keepdown will decode; larger is refused "
            "before any pixel is allocated (decompression bombs)."),
    Setting("max_gif_frames", int, 500,
            "Most frames hashed from one animated image when every frame is asked for."),
    Setting("pdq_quality_floor", int, 50,
            "PDQ hashes with a quality below this are not matched (the reference recommends 50)."),
    Setting("hash_mode", str, "exact",
            "Default PDQ mode for scanning: 'exact' (bit-identical to the reference) or 'fast' "
            "(reduced-scale JPEG decode). Bank entries are always hashed in exact mode."),
    Setting("apply_exif_orientation", bool, False,
            "Rotate images by their EXIF orientation before hashing. Off by default, as the "
            "reference does not, so hashes agree with existing hash lists."),
    # --- matching ---
    Setting("pdq_match_threshold", int, 31,
            "Default largest Hamming distance at which two PDQ hashes match (per bank overridable)."),
    Setting("match_dihedral", bool, True,
            "Also match the 8 rotations and mirrors of each image's PDQ hash."),
    Setting("index_dir", str, "",
            "Folder for saved match indexes; empty means <data_dir>/index."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved setting values. Read them as attributes: ``settings.max_image_pixels``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting named {name!r}") from None

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values changed (validated like any other source)."""
        values = dict(self._values)
        for name, raw in overrides.items():
            values[name] = _declared(name).parse(raw)
        return Settings(values)

    def as_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """All values; secret settings are shown as the variable they name, never resolved."""
        return dict(self._values) if not redact else {
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
            return str(self.database_url)
        return f"sqlite:///{self.data_path / 'keepdown.sqlite3'}"

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir).expanduser() if self.index_dir else self.data_path / "index"


def _declared(name: str) -> Setting:
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
    values = {s.name: s.default for s in SETTINGS}
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
