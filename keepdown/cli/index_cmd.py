"""``keepdown index``: the match index checkpoint in ``index_dir``.

A process (``keepdown serve``, ``keepdown match``) starts from the checkpoint plus the changes
made in the database since, instead of reading every entry (see ``docs/index.md``):

- ``keepdown index save``: bring the index up to date (from the checkpoint if valid, else from
  the database), fold every delta into the main part, write a new checkpoint;
- ``keepdown index status``: the checkpoint, how far the database moved since, and whether a
  process starting now would use it (and if not, why);
- ``keepdown index clear``: delete every checkpoint (the next start reads the database).

Running processes write checkpoints on their own too (``index_checkpoint_after``).
"""

from __future__ import annotations

import time

import click

from keepdown.app.maintenance import checkpoint_status
from keepdown.app.runtime import Runtime
from keepdown.index.checkpoint import CheckpointDir
from keepdown.settings import Settings

__all__ = ["command"]


@click.group("index")
def command() -> None:
    """Save, inspect or clear the match index checkpoint."""


@command.command("save")
@click.pass_obj
def save_cmd(settings: Settings) -> None:
    """Bring the match index up to date and write a checkpoint to index_dir."""
    started = time.perf_counter()
    with Runtime.open(settings) as runtime:
        index = runtime.index
        loaded = time.perf_counter() - started
        name = index.checkpoint(wait=True, compact=True)
    directory = CheckpointDir(settings.index_path)
    entries = ", ".join(f"{k} {v:,}" for k, v in index.status()["entries"].items() if v)
    click.echo(
        f"checkpoint {name} written to {directory.root}: {entries or 'no entries'}, up to entry "
        f"id {index.status()['max_entry_id']}, {directory.disk_bytes(str(name)) / 1e6:,.1f} MB "
        f"(index from {index.loaded_from} in {loaded:.1f} s, total "
        f"{time.perf_counter() - started:.1f} s)"
    )


@command.command("status")
@click.pass_obj
def status_cmd(settings: Settings) -> None:
    """The checkpoint in index_dir, the changes since it, and whether it would be used."""
    with Runtime.open(settings) as runtime:
        status = checkpoint_status(runtime)
    directory, found = status.directory, status.found
    if found is None:
        click.echo(f"no checkpoint in {directory.root}: a start reads every entry")
        return
    meta = found.meta
    entries = ", ".join(f"{k} {v:,}" for k, v in meta.get("entries", {}).items() if v)
    click.echo(f"checkpoint {found.name} in {directory.root}")
    click.echo(f"  saved at {meta.get('saved_at', '?')}: {entries or 'no entries'}")
    if found.refused:
        click.echo(f"  would be refused (a start rebuilds from the database): {found.refused}")
        return
    click.echo(
        f"  up to entry id {found.mark.max_entry_id:,}; the database is at "
        f"{status.database_max_entry_id:,}: {status.newer_active:,} newer active entries"
        f"{', and removals or restores' if status.removals_since else ''} to apply at start"
    )
    click.echo("  usable: a start loads it and applies the changes since")


@command.command("clear")
@click.pass_obj
def clear_cmd(settings: Settings) -> None:
    """Delete every checkpoint in index_dir."""
    directory = CheckpointDir(settings.index_path)
    click.echo(f"{directory.clear()} checkpoint(s) deleted from {directory.root}")
