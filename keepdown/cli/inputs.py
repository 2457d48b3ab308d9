"""Inputs of the commands that read files: files as given, folders walked, ``-`` for stdin.

``keepdown hash`` and ``keepdown match`` share this, so both walk folders the same way (sorted,
symlinked folders not followed, only regular files) and report failures the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from keepdown.errors import ConfigurationError, KeepdownError, NotFound
from keepdown.settings import Settings

__all__ = [
    "STDIN",
    "Failure",
    "Input",
    "expand",
    "format_option",
    "hash_mode",
    "require_inputs",
    "summarise_failures",
]

STDIN = "-"


@dataclass(frozen=True, slots=True)
class Input:
    """One input: a path, standard input (``path`` None), or one that failed to be found."""

    label: str
    path: Path | None = None
    error: KeepdownError | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    label: str
    error: KeepdownError


def expand(paths: tuple[str, ...]) -> Iterator[Input]:
    """Step 1, in argument order; a missing path is an input that failed."""
    for arg in paths:
        if arg == STDIN:
            yield Input(STDIN)
        elif os.path.isdir(arg):
            yield from _walk(arg)
        elif os.path.lexists(arg):
            yield Input(arg, Path(arg))
        else:
            yield Input(arg, error=NotFound(f"no such file or folder: {arg}"))


def require_inputs(inputs: list[Input], paths: tuple[str, ...]) -> list[Input]:
    """The inputs, or :class:`NotFound` (exit 66) when the paths held no file at all: a
    command that silently did nothing to an empty folder looks like one that worked."""
    if not inputs:
        named = ", ".join(paths)
        raise NotFound(f"no files in {named}: nothing to do", paths=list(paths))
    return inputs


def _walk(top: str) -> Iterator[Input]:
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(top, onerror=errors.append):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.isfile(path):  # skips FIFOs and sockets, which would block or fail
                yield Input(path, Path(path))
    for exc in errors:
        yield Input(str(exc.filename), error=NotFound(f"cannot list folder: {exc.strerror}"))


def summarise_failures(command: str, failures: list[Failure], total: int) -> None:
    """Every failed input with its reason, on stderr."""
    click.echo(f"{command}: {len(failures)} of {total} inputs failed:", err=True)
    for failure in failures:
        click.echo(f"  {failure.label}: {failure.error.code}: {failure.error.message}", err=True)


#: ``--format text|jsonl|csv`` as every file-reading command spells it.
format_option = click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "jsonl", "csv"]), default="text",
    show_default=True, help="Output format.",
)  # fmt: skip


def hash_mode(mode: str | None, settings: Settings) -> str:
    """``--mode`` if given, else the ``hash_mode`` setting, checked."""
    mode = mode or settings.hash_mode
    if mode not in ("exact", "fast"):
        raise ConfigurationError(f"hash_mode must be 'exact' or 'fast', got {mode!r}")
    return mode
