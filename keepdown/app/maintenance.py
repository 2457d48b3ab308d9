"""The operator's maintenance of a deployment: the database schema and the index checkpoints.

``keepdown db`` and ``keepdown index`` call these; they take storage from the runtime (or, to
migrate, an engine of the configured database) so the CLI never opens storage itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepdown.app.runtime import Runtime
from keepdown.index.checkpoint import CheckpointDir
from keepdown.matching import checkpoints
from keepdown.matching.checkpoints import Inspection
from keepdown.settings import Settings
from keepdown.storage import head_revision, make_engine, upgrade
from keepdown.storage.index_feed import IndexFeed
from keepdown.storage.migrate import read_revision

__all__ = [
    "CheckpointStatus",
    "checkpoint_status",
    "database_revision",
    "upgrade_database",
]


def upgrade_database(settings: Settings) -> tuple[str | None, str]:
    """Apply every pending migration: (revision before, revision after); the operator
    organisation is there afterwards (a runtime opened on the database makes it)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        revisions = upgrade(engine)
    finally:
        engine.dispose()
    with Runtime.open(settings):
        pass
    return revisions


def database_revision(settings: Settings) -> tuple[str | None, str]:
    """(the database's revision, the newest this keepdown ships); changes nothing."""
    engine = make_engine(settings.resolved_database_url)
    try:
        current = read_revision(engine)
    finally:
        engine.dispose()
    return current, head_revision()


@dataclass(frozen=True)
class CheckpointStatus:
    """The checkpoint in ``index_dir`` against the database now (``keepdown index status``)."""

    directory: CheckpointDir
    found: Inspection | None
    database_max_entry_id: int = 0
    newer_active: int = 0
    removals_since: bool = False


def checkpoint_status(runtime: Runtime) -> CheckpointStatus:
    """Whether a start would load the checkpoint, and what it would apply after it."""
    directory = CheckpointDir(runtime.settings.index_path)
    banks = runtime.matching_banks()
    with IndexFeed(runtime.storage.engine).view() as view:
        found = checkpoints.inspect(directory, view, banks)
        if found is None or found.refused:
            return CheckpointStatus(directory, found)
        mark = view.mark()
        newer = view.count_active_after(found.mark.max_entry_id)
    return CheckpointStatus(
        directory,
        found,
        database_max_entry_id=mark.max_entry_id,
        newer_active=newer,
        removals_since=mark.journal[2:] != found.mark.journal[2:],
    )
