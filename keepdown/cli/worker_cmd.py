"""``keepdown worker``: run background tasks from the queue (crawls, notices, imports, scans).

``keepdown worker`` consumes tasks until stopped (Ctrl-C or SIGTERM finish the running tasks
first; SIGKILL loses nothing either, see docs/operations.md). Several workers, on one machine
or many, share the queue that ``task_queue_url`` names. ``keepdown worker import BANK FILE``
queues a bank import; ``keepdown worker status`` shows what is waiting.
"""

from __future__ import annotations

import logging

import click

from keepdown.app.workers import open_queue
from keepdown.settings import Settings
from keepdown.tasks import describe_backend
from keepdown.tasks.consumer import consumer_for

__all__ = ["command"]


@click.group("worker", invoke_without_command=True)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Tasks run at once (default: worker_concurrency).",
)
@click.option(
    "--processes", is_flag=True, help="Run tasks in processes instead of threads (CPU-bound)."
)
@click.option("--no-periodic", is_flag=True, help="Do not look for due work (another worker does).")
@click.option("-v", "--verbose", is_flag=True, help="Log every task.")
@click.pass_context
def command(
    ctx: click.Context, concurrency: int | None, processes: bool, no_periodic: bool, verbose: bool
) -> None:
    """Run a worker: take tasks from the queue until stopped."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("keepdown").setLevel(logging.INFO)
    queue = open_queue(settings, jobs=True)
    workers = concurrency or settings.worker_concurrency
    click.echo(
        f"keepdown worker: {workers} {'processes' if processes else 'threads'} on "
        f"{describe_backend(settings)}",
        err=True,
    )
    consumer = consumer_for(
        queue, workers=workers, periodic=not no_periodic, kind="process" if processes else "thread"
    )
    try:
        consumer.run()
    finally:
        queue.close()


@command.command("import")
@click.argument("bank")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", help="File format (default: from the file name).")
@click.option("--signal-type", help="Signal type of a plain list of hashes.")
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid lines of a file with bad ones."
)
@click.pass_obj
def import_(
    settings: Settings,
    bank: str,
    path: str,
    fmt: str | None,
    signal_type: str | None,
    skip_invalid: bool,
) -> None:
    """Queue a bank import; a worker runs it (the file must be readable by the workers)."""
    import os

    options = {"fmt": fmt, "signal_type": signal_type, "skip_invalid": skip_invalid}
    open_queue(settings).import_bank(bank, os.path.abspath(path), options)
    click.echo(f"queued: import of {path} into {bank}")


@command.command("status")
@click.pass_obj
def status(settings: Settings) -> None:
    """What is waiting in the queue."""
    queue = open_queue(settings)
    waiting = queue.pending()
    click.echo(
        f"{describe_backend(settings)}: {len(waiting)} tasks waiting, "
        f"{len(queue.huey.scheduled())} scheduled"
    )
    counts: dict[str, int] = {}
    for name, _args in waiting:
        counts[name] = counts.get(name, 0) + 1
    for name, count in sorted(counts.items()):
        click.echo(f"  {name}: {count}")
