"""``keepdown scan SOURCE``: hash and match a folder, archive, URL list or S3 bucket.

Writes ``--report`` (JSONL, one row per item, written as items finish) and the CSV beside it.
Run the same command again after an interruption: items already in the report are skipped.
``--fresh`` starts the report over. Exit status: 0 no match, 1 at least one match (like
``keepdown match``), the error's own code when the scan could not run.
"""

from __future__ import annotations

from pathlib import Path

import click

from keepdown.app.scanning import scan
from keepdown.scan import HashOptions
from keepdown.settings import Settings

__all__ = ["command"]


@click.command("scan")
@click.argument("source")
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("keepdown-scan.jsonl"),
    show_default=True,
    help="Report file (JSONL); the CSV is written next to it.",
)
@click.option("--video", is_flag=True, help="Also hash videos (vPDQ); else file hashes only.")
@click.option(
    "--processes",
    type=click.IntRange(min=0),
    help="Processes to hash with (default scan_processes; 0: one per core).",
)
@click.option(
    "--distributed", is_flag=True, help="Hash as tasks on the queue, across `keepdown worker`s."
)
@click.option(
    "--hash-mode",
    type=click.Choice(["exact", "fast"]),
    help="PDQ mode (default: the hash_mode setting).",
)
@click.option("--fresh", is_flag=True, help="Start the report over instead of resuming it.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--batch-timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="With --distributed: seconds before an unanswered batch is queued again.",
)
@click.pass_obj
def command(
    settings: Settings,
    source: str,
    report: Path,
    video: bool,
    processes: int | None,
    distributed: bool,
    hash_mode: str | None,
    fresh: bool,
    no_progress: bool,
    batch_timeout: float,
) -> None:
    """Scan SOURCE (folder, .zip/.tar, URL list, s3://bucket/prefix) against the banks."""
    options = HashOptions(
        mode=hash_mode or settings.hash_mode,
        dihedral=settings.match_dihedral,
        video=video,
    )
    summary = scan(
        settings,
        source,
        report,
        options=options,
        processes=processes,
        distributed=distributed,
        fresh=fresh,
        progress=not no_progress,
        batch_timeout=batch_timeout,
    )
    click.echo(
        f"{summary.items} items in {summary.report} and {summary.csv}: {summary.hashed} hashed "
        f"now ({summary.rate:.1f}/s), {summary.matched} matched, {summary.errors} with errors"
    )
    if summary.matched:
        raise SystemExit(1)
