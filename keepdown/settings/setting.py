"""One setting: a typed descriptor that knows its name, type, default, help and range.

A settings group (:mod:`keepdown.settings.hashing`, ...) is a class whose attributes are
settings made with :func:`integer`, :func:`number`, :func:`flag`, :func:`text`, :func:`names`
or :func:`secret_ref`. Read on a :class:`~keepdown.settings.Settings` instance, an attribute is
the resolved value, typed (``settings.max_image_pixels`` is an ``int`` to mypy as at run
time); read on the class, it is the :class:`Setting` itself (``Settings.max_image_pixels``).

A setting named for its unit (``..._seconds``, ``_minutes``, ``_hours``, ``_days``) is a
duration, bounded above by :data:`DURATION_CAPS` unless it declares a tighter maximum.

Every value is parsed and checked where it enters (defaults, file, environment, overrides),
so a component never casts or re-checks a setting: a value out of range or not among the
choices is a :class:`~keepdown.errors.ConfigurationError` naming the setting and its variable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, overload

from keepdown.errors import ConfigurationError

__all__ = [
    "DURATION_CAPS",
    "ENV_PREFIX",
    "MiB",
    "Setting",
    "flag",
    "integer",
    "names",
    "number",
    "secret_ref",
    "text",
]

ENV_PREFIX = "KEEPDOWN_"
MiB = 1024 * 1024
#: The largest value of a duration setting by the unit its name ends with (``_seconds``: a
#: week; ``_minutes`` and ``_hours``: 366 days; ``_days``: ten years), unless it says less.
DURATION_CAPS: dict[str, float] = {
    "seconds": 7 * 24 * 3600,
    "minutes": 366 * 24 * 60,
    "hours": 366 * 24,
    "days": 3660,
}

T = TypeVar("T")


class _HasValues(Protocol):
    _values: dict[str, Any]


class Setting(Generic[T]):
    """One setting: its type, default, one-line help, and the range or choices it accepts.

    ``secret`` settings hold the *name of an environment variable* that holds the secret,
    never the secret itself (:meth:`keepdown.settings.Settings.secret` reads it)."""

    name: str

    def __init__(
        self,
        kind: type,
        default: T,
        help: str,
        *,
        parse: Callable[[Any], T],
        secret: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> None:
        self.type = kind
        self.default = default
        self.help = help
        self.secret = secret
        self.minimum = minimum
        self.maximum = maximum
        self.above = above
        self.choices = choices
        self._parse = parse

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        unit = name.rsplit("_", 1)[-1]
        if unit in DURATION_CAPS and self.maximum is None:
            # a duration whose name gives its unit is bounded by it: 1e300 hours is nonsense
            # (and would overflow the first date it is added to), not "very patient"
            self.maximum = DURATION_CAPS[unit]

    @overload
    def __get__(self, obj: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, obj: _HasValues, owner: type) -> T: ...

    def __get__(self, obj: _HasValues | None, owner: type) -> Setting[T] | T:
        if obj is None:
            return self
        value: T = obj._values[self.name]
        return value

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: Any) -> T:
        """Turn a raw value (text from the environment, a TOML value, an override) into this
        setting's type, and check its range."""
        try:
            value = self._parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"setting {self.name} ({self.env_var}) expects {self.type.__name__}, got {raw!r}"
            ) from exc
        self._check(value)
        return value

    @property
    def accepts(self) -> str:
        """The range or choices, in words (docs/settings.md); empty when anything goes."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        low = f"> {self.above:g}" if self.above is not None else None
        if low is None and self.minimum is not None:
            low = f">= {self.minimum:g}"
        high = f"<= {self.maximum:g}" if self.maximum is not None else None
        return " and ".join(part for part in (low, high) if part)

    def _check(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            self._refuse(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.above is not None and value <= self.above)
        ):
            self._refuse(value)

    def _refuse(self, value: Any) -> None:
        raise ConfigurationError(
            f"setting {self.name} ({self.env_var}) must be {self.accepts}, got {value!r}"
        )


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    if isinstance(raw, str):
        return int(_ascii_number(raw))
    return int(raw)


def _parse_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(raw, str):
        raw = _ascii_number(raw)
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


def _ascii_number(raw: str) -> str:
    """``1_000`` is allowed; other scripts' digits (int() accepts them) are not."""
    text = raw.strip().replace("_", "")
    if not text.isascii():
        raise ValueError(raw)
    return text


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(raw)


def _parse_names(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(item).strip() for item in raw if str(item).strip())
    return tuple(part.strip() for part in str(raw).split(",") if part.strip())


def _parse_text(raw: Any) -> str:
    if isinstance(raw, bool | list | tuple | dict):
        raise TypeError(f"{type(raw).__name__} is not text")
    return str(raw)


def _parse_choice(raw: Any) -> str:
    return _parse_text(raw).strip().lower()


def integer(
    default: int, help: str, *, minimum: int | None = None, maximum: int | None = None
) -> Setting[int]:
    """A whole number, within ``minimum``..``maximum`` when given."""
    return Setting(int, default, help, parse=_parse_int, minimum=minimum, maximum=maximum)


def number(
    default: float,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> Setting[float]:
    """A finite number; ``above`` is an exclusive lower bound (a duration that must be > 0)."""
    return Setting(
        float, default, help, parse=_parse_float, minimum=minimum, maximum=maximum, above=above
    )


def flag(default: bool, help: str) -> Setting[bool]:
    """On or off: 1/0, true/false, yes/no, on/off."""
    return Setting(bool, default, help, parse=_parse_bool)


def text(default: str, help: str, *, choices: tuple[str, ...] | None = None) -> Setting[str]:
    """Text; with ``choices``, one of them (case and surrounding spaces ignored)."""
    if choices is None:
        return Setting(str, default, help, parse=_parse_text)
    return Setting(str, default, help, parse=_parse_choice, choices=choices)


def names(default: tuple[str, ...], help: str) -> Setting[tuple[str, ...]]:
    """A list of names (comma-separated in the environment, a list in a file)."""
    return Setting(tuple, default, help, parse=_parse_names)


def secret_ref(help: str) -> Setting[str]:
    """The name of the environment variable that holds a secret (empty: none)."""
    return Setting(str, "", help, parse=_parse_text, secret=True)
