"""``keepdown hash PATH...``: print the hashes of files, folders and standard input.

Steps:

1. Expand the arguments: a file as given, a folder walked recursively (sorted, symlinked
   folders not followed, only regular files), ``-`` for standard input.
2. Hash each input with :func:`keepdown.hashing.hash_file`: exact hashes always, PDQ when the
   input decodes as an image.
3. Print records to stdout as they are made, in ``--format`` text, jsonl or csv.
4. On stderr, list every input that failed (unreadable, or not decodable as an image) with
   its reason, and exit 65 (EX_DATAERR) if there was any. Successes are printed regardless.

Text format, one line per input, space-separated, the path last (it may contain spaces)::

    <pdq hex or -> <quality or -> <sha256 hex> <path>

``--dihedral`` adds a line per rotation or mirror with ``#<variant>`` after the path, and
``--all-frames`` a line per later frame with ``#frame<N>``, so ``grep`` on a path finds all.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import click
from tqdm import tqdm

from keepdown.cli.inputs import (
    Failure,
    Input,
    expand,
    format_option,
    hash_mode,
    require_inputs,
    summarise_failures,
)
from keepdown.errors import InvalidInput, KeepdownError, NotFound
from keepdown.hashing import HashResult, hash_file
from keepdown.settings import Settings

__all__ = ["command"]

#: Above this many inputs a progress bar is shown on stderr when it is a terminal.
PROGRESS_MIN_FILES = 20
CSV_COLUMNS = (
    "path", "variant", "pdq", "quality", "sha256", "sha1", "md5", "size_bytes",
    "media_type", "width", "height", "mode", "error",
)  # fmt: skip


@click.command("hash")
@click.argument("paths", nargs=-1, required=True)
@format_option
@click.option("--dihedral", is_flag=True, help="Also print the 8 rotations and mirrors' PDQ.")
@click.option(
    "--mode", type=click.Choice(["exact", "fast"]), default=None,
    help="PDQ mode (default: the hash_mode setting). Bank entries always use exact.",
)  # fmt: skip
@click.option("--all-frames", is_flag=True, help="PDQ of every frame of animated images.")
@click.option(
    "--progress/--no-progress", default=None,
    help=f"Progress bar on stderr (default: when stderr is a terminal and over "
    f"{PROGRESS_MIN_FILES} inputs).",
)  # fmt: skip
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    dihedral: bool,
    mode: str | None,
    all_frames: bool,
    progress: bool | None,
) -> None:
    """Hash files, folders (recursively) and '-' (standard input)."""
    settings: Settings = ctx.obj
    mode = hash_mode(mode, settings)
    inputs = require_inputs(list(expand(paths)), paths)
    if progress is None:
        progress = sys.stderr.isatty() and len(inputs) > PROGRESS_MIN_FILES
    writer = _Writer(fmt, sys.stdout)
    options = {"settings": settings, "mode": mode, "dihedral": dihedral, "all_frames": all_frames}
    failures: list[Failure] = []
    for item in tqdm(inputs, disable=not progress, file=sys.stderr, unit="file"):
        try:
            result = _hash_one(item, options)
        except (InvalidInput, NotFound) as exc:  # anything else is not this input's fault
            failures.append(Failure(item.label, exc))
            writer.failure(item.label, exc)
            continue
        writer.result(item.label, result)
        if result.pdq_error is not None:
            failures.append(Failure(item.label, result.pdq_error))
    sys.stdout.flush()
    if failures:
        summarise_failures("keepdown hash", failures, len(inputs))
        ctx.exit(65)


def _hash_one(item: Input, options: dict[str, Any]) -> HashResult:
    """Step 2 for one input."""
    if item.error is not None:
        raise item.error
    return hash_file(sys.stdin.buffer if item.path is None else item.path, **options)


class _Writer:
    """Step 3: one record per input in the chosen format."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.fmt = fmt
        self.out = out
        self.csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if self.csv:
            self.csv.writerow(CSV_COLUMNS)

    def result(self, label: str, result: HashResult) -> None:
        if self.fmt == "jsonl":
            self.out.write(json.dumps({"path": label, **result.to_dict()}) + "\n")
            return
        for variant, pdq, quality in _variants(result):
            if self.csv:
                self.csv.writerow(_csv_row(label, variant, pdq, quality, result))
            else:
                suffix = f"#{variant}" if variant else ""
                q = "-" if quality is None else quality
                self.out.write(f"{pdq or '-'} {q} {result.sha256} {label}{suffix}\n")

    def failure(self, label: str, error: KeepdownError) -> None:
        """Unreadable inputs have no hashes: only jsonl carries a record for them."""
        if self.fmt == "jsonl":
            self.out.write(json.dumps({"path": label, "error": error.to_dict()}) + "\n")


def _variants(result: HashResult) -> Iterator[tuple[str, str | None, int | None]]:
    """(variant, pdq hex, quality): the image itself, then rotations, then later frames."""
    yield "", result.pdq.hex if result.pdq else None, result.quality
    for name, variant in (result.dihedral or {}).items():
        if name != "original":
            yield name, variant.hash.hex, variant.quality
    for index, frame in enumerate(result.frames or ()):
        if index:
            yield f"frame{index}", frame.hash.hex, frame.quality


def _csv_row(
    label: str, variant: str, pdq: str | None, quality: int | None, result: HashResult
) -> list[object]:
    error = result.pdq_error
    return [
        label, variant, pdq or "", "" if quality is None else quality,
        result.sha256.hex, result.sha1.hex, result.md5.hex, result.size_bytes,
        result.media_type or "", result.width or "", result.height or "", result.mode,
        f"{error.code}: {error.message}" if error else "",
    ]  # fmt: skip
