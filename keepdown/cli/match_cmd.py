"""``keepdown match PATH...``: which files match the banks, and how.

Steps:

1. Take the runtime's match chain (:mod:`keepdown.matching.chain`), the same one the API,
   the crawler and scans ask: every enabled bank with its own thresholds, videos, the
   allow-list; its index comes from the checkpoint in ``index_dir`` plus the database's
   changes since when it is valid, else from every entry (and a large rebuild writes a
   checkpoint on the side for the next run).
2. Expand the arguments as ``keepdown hash`` does (files, folders recursively, ``-``).
3. Hash each input (exact hashes always; PDQ with its 8 rotations and mirrors when the
   ``match_dihedral`` setting is on) and match it.
4. Print the matches as they are found, in ``--format`` text, jsonl or csv.

Exit status, so scripts can act on it: **1 when anything matched** (the thing a scan must not
miss, so it wins over failures), otherwise 65 when any input failed (listed on stderr),
otherwise 0.

Text format, one line per match, the path last (it may contain spaces)::

    <bank> <exact|near> <signal type> <distance> <variant or -> <classification or -> <path>

Bank entries' own hash values are never printed: an entry is named by bank and entry id.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TextIO

import click
from tqdm import tqdm

from keepdown.app.runtime import Runtime
from keepdown.cli.inputs import Failure, Input, expand, format_option, hash_mode, summarise_failures
from keepdown.errors import InvalidInput, NotFound
from keepdown.hashing import HashResult, hash_file
from keepdown.matching.chain import MatchChain
from keepdown.matching.views import MatchView, verdict_of
from keepdown.settings import Settings

__all__ = ["command"]

EXIT_MATCHED = 1
EXIT_FAILED = 65
PROGRESS_MIN_FILES = 20
CSV_COLUMNS = (
    "path", "bank", "entry_id", "signal_type", "distance", "variant", "match_type",
    "classification", "trusted",
)  # fmt: skip


@click.command("match")
@click.argument("paths", nargs=-1, required=True)
@format_option
@click.option(
    "--mode", type=click.Choice(["exact", "fast"]), default=None,
    help="PDQ mode (default: the hash_mode setting). fast decodes large JPEGs at a reduced scale.",
)  # fmt: skip
@click.option(
    "--all", "show_all", is_flag=True,
    help="jsonl: also print a record for inputs that matched nothing.",
)  # fmt: skip
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    mode: str | None,
    show_all: bool,
    progress: bool | None,
) -> None:
    """Match files, folders (recursively) and '-' against the banks; exit 1 on any match."""
    settings: Settings = ctx.obj
    mode = hash_mode(mode, settings)
    inputs = list(expand(paths))
    if progress is None:
        progress = sys.stderr.isatty() and len(inputs) > PROGRESS_MIN_FILES
    writer = _Writer(fmt, sys.stdout, show_all)
    matched, failures = 0, list[Failure]()
    # The runtime's match chain: the index from the checkpoint in index_dir plus the changes
    # since, if valid; closing it finishes a checkpoint being written on the side first.
    with Runtime.open(settings) as runtime:
        matcher = runtime.matcher
        for item in tqdm(inputs, disable=not progress, file=sys.stderr, unit="file"):
            matched += _match_one(item, matcher, settings, mode, writer, failures)
        sys.stdout.flush()
    if failures:
        summarise_failures("keepdown match", failures, len(inputs))
    if matched:
        click.echo(f"keepdown match: {matched} of {len(inputs)} inputs matched", err=True)
        ctx.exit(EXIT_MATCHED)
    if failures:
        ctx.exit(EXIT_FAILED)


def _match_one(
    item: Input,
    matcher: MatchChain,
    settings: Settings,
    mode: str,
    writer: _Writer,
    failures: list[Failure],
) -> bool:
    """Steps 3-4 for one input; True if it matched (a failure is appended, not raised)."""
    try:
        result = _hash(item, settings, mode, matcher.wants_robust("match"))
    except (InvalidInput, NotFound) as exc:
        failures.append(Failure(item.label, exc))
        return False
    if result.pdq_error is not None:
        failures.append(Failure(item.label, result.pdq_error))
    views = matcher.match_result(result, door="match")
    writer.write(item.label, result, views)
    return bool(views)


def _hash(item: Input, settings: Settings, mode: str, robust: bool) -> HashResult:
    if item.error is not None:
        raise item.error
    source = sys.stdin.buffer if item.path is None else item.path
    return hash_file(
        source, settings=settings, mode=mode, dihedral=settings.match_dihedral, robust=robust
    )


class _Writer:
    """Step 4: records in the chosen format."""

    def __init__(self, fmt: str, out: TextIO, show_all: bool) -> None:
        self.fmt = fmt
        self.out = out
        self.show_all = show_all
        self.csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if self.csv:
            self.csv.writerow(CSV_COLUMNS)

    def write(self, label: str, result: HashResult, views: list[MatchView]) -> None:
        if self.fmt == "jsonl":
            if views or self.show_all:
                record = {
                    "path": label,
                    "sha256": result.sha256.hex,
                    "pdq": result.pdq.hex if result.pdq else None,
                    "quality": result.quality,
                    "verdict": str(verdict_of(views)),
                    "matches": [_match_dict(v) for v in views],
                }
                self.out.write(json.dumps(record) + "\n")
            return
        for v in views:
            if self.csv:
                self.csv.writerow([label, *_match_dict(v).values()])
            else:
                self.out.write(
                    f"{v.bank} {v.match_type} {v.signal_type} {v.distance} {v.variant or '-'} "
                    f"{v.classification or '-'} {label}\n"
                )


def _match_dict(v: MatchView) -> dict[str, object]:
    return {
        "bank": v.bank,
        "entry_id": v.entry_id,
        "signal_type": v.signal_type,
        "distance": v.distance,
        "variant": v.variant or "",
        "match_type": v.match_type,
        "classification": v.classification or "",
        "trusted": v.trusted,
    }
