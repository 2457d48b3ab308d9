"""Kind-specific feed options: declared once per client with a type, a default and a help text.

``keepdown feed add --option name=value`` and the API store options as given; each client
reads them through :func:`read_options`, which fills defaults and refuses unknown names and
values of the wrong type with a message naming the option (so a typo is an error at
``feed add``, not a silent default at 3 a.m.).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keepdown.errors import InvalidInput

__all__ = ["OptionSpec", "parse_option", "read_options"]


@dataclass(frozen=True)
class OptionSpec:
    """One option: its type (int, float, str, bool or list), default and help."""

    type: type
    default: Any
    help: str


def parse_option(spec: OptionSpec, name: str, raw: Any) -> Any:
    """``raw`` (a string from a command line, or a JSON value) as the option's type."""
    try:
        if spec.type is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return text in ("1", "true", "yes", "on")
        if spec.type is list:
            if isinstance(raw, list | tuple):
                return [str(item) for item in raw]
            text = str(raw).strip()
            if text.startswith("["):
                return [str(item) for item in json.loads(text)]
            return [part.strip() for part in text.split(",") if part.strip()]
        if spec.type in (int, float) and isinstance(raw, str):
            return spec.type(raw.replace("_", ""))
        return spec.type(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"option {name}: expected {spec.type.__name__}, got {raw!r}", option=name
        ) from exc


def read_options(specs: Mapping[str, OptionSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of ``specs``: the given ones parsed, the others at their default."""
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise InvalidInput(
            f"unknown option(s) {', '.join(unknown)}; this kind takes: {', '.join(sorted(specs))}",
            options=unknown,
        )
    return {
        name: parse_option(spec, name, given[name]) if name in given else spec.default
        for name, spec in specs.items()
    }
