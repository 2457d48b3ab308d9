"""A feed's secrets: read from the environment variables the feed names, at the moment of use.

A feed stores only *where* its credentials are (``{"password": "NCMEC_PASSWORD"}``), as
``keepdown.settings`` does for its secret settings, so the database, exports, logs, API
answers and web pages never hold one. :func:`resolve` reads the variables when a client is
built; a :class:`Secret` prints as ``***`` (in a traceback, a log line, a ``repr``) and gives
its value only to :meth:`Secret.reveal`, which the clients call when they build a request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from keepdown.errors import ConfigurationError

__all__ = ["Secret", "resolve"]


class Secret:
    """A credential that never shows itself by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def resolve(
    feed: str,
    refs: Mapping[str, str],
    *,
    required: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, Secret]:
    """The secrets ``refs`` names (secret name -> variable), read from ``environ``.

    A required secret with no reference, or a reference to an unset or empty variable, is a
    ConfigurationError that names the variable, never a value."""
    env = os.environ if environ is None else environ
    missing = [name for name in required if name not in refs]
    if missing:
        raise ConfigurationError(
            f"feed {feed}: no environment variable given for secret(s) "
            + ", ".join(missing)
            + " (keepdown feed update --secret NAME=VARIABLE)",
            feed=feed,
        )
    out: dict[str, Secret] = {}
    for name, variable in refs.items():
        value = env.get(variable, "")
        if not value:
            raise ConfigurationError(
                f"feed {feed}: secret {name!r} is read from ${variable}, which is not set",
                feed=feed,
                variable=variable,
            )
        out[name] = Secret(value)
    return out
