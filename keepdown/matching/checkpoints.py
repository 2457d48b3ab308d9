"""Saving the bank index with its database position, and trusting a saved one only when safe.

A checkpoint is an index snapshot (:mod:`keepdown.index.checkpoint`) plus, in its meta, the
:class:`~keepdown.matching.sync.SyncState` it stands for and what identifies the database it came
from. Loading one (:func:`load`) refuses it, with the reason, when:

1. its files are missing, truncated or fail their checksums, or it is from another format;
2. it was made on another database: another dialect or schema revision, a bank it knows is
   missing or different (id, name, creation time), or sampled entries (ids spread over the
   index, values compared) disagree with the database;
3. the database is behind it (fewer entries or a smaller journal: a restored backup).

A refused checkpoint is never used; the caller rebuilds from the database instead. An accepted
one is then caught up with :func:`keepdown.matching.sync.catch_up` like any refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from keepdown.banks.model import Bank
from keepdown.errors import IndexFileError
from keepdown.index.checkpoint import CheckpointDir
from keepdown.index.snapshot import IndexSnapshot
from keepdown.matching.sync import FeedMark, FeedView, SyncState

__all__ = ["KIND", "Inspection", "Loaded", "Refused", "inspect", "load", "save"]

KIND = "keepdown-bank-index"
#: Entries whose values are compared with the database when a checkpoint is loaded.
SAMPLES = 32


class Refused(Exception):
    """A checkpoint that must not be used; the message says why."""


@dataclass(frozen=True, eq=False)
class Loaded:
    name: str
    snapshot: IndexSnapshot
    state: SyncState


def save(
    directory: CheckpointDir,
    snapshot: IndexSnapshot,
    state: SyncState,
    identity: Mapping[str, Any],
    banks: Iterable[Bank],
    *,
    now: datetime,
    wait: bool = False,
) -> str | None:
    """Write a checkpoint of ``snapshot`` at ``state``; None if another process is writing."""
    meta = {
        "kind": KIND,
        "mark": state.mark.as_json(),
        "pending": {str(k): int(v) for k, v in state.pending.items()},
        "removal_log": state.removal_log,
        "identity": dict(identity),
        "banks": [_bank_key(b) for b in banks],
        "samples": _samples(snapshot),
        "entries": {str(k): v for k, v in snapshot.counts().items()},
        "saved_at": now.isoformat(),
    }
    return directory.save(snapshot, meta, {"tombstones": state.tombstones}, wait=wait)


def load(
    directory: CheckpointDir,
    view: FeedView,
    banks: Iterable[Bank],
    *,
    verify: bool = True,
) -> Loaded:
    """The current checkpoint, checked against ``view`` (steps 1-3 of the module), or Refused."""
    try:
        checkpoint = directory.load(verify=verify)
    except IndexFileError as exc:
        raise Refused(str(exc)) from exc
    meta = checkpoint.saved.meta
    try:
        state = _state(meta, checkpoint.saved.arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused(f"checkpoint {checkpoint.name} has an unreadable position: {exc}") from exc
    _check_database(meta, view, {b.id: b for b in banks}, state.mark)
    return Loaded(checkpoint.name, checkpoint.saved.snapshot, state)


def inspect(directory: CheckpointDir, view: FeedView, banks: Iterable[Bank]) -> Inspection | None:
    """The current checkpoint's manifest and whether :func:`load` would refuse it (files are
    not read: their checksums are checked by ``load`` only). None when there is none."""
    try:
        found = directory.manifest()
    except IndexFileError as exc:
        name = directory.current() if (directory.root / "CURRENT").exists() else None
        return Inspection(name or "?", {}, str(exc))
    if found is None:
        return None
    name, manifest = found
    meta = manifest.get("meta") or {}
    try:
        mark = FeedMark.from_json(meta["mark"])
        if meta.get("kind") != KIND:
            raise ValueError(f"kind {meta.get('kind')!r}")
        _check_database(meta, view, {b.id: b for b in banks}, mark)
    except Refused as exc:
        return Inspection(name, meta, str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        return Inspection(name, meta, f"unreadable position: {exc}")
    return Inspection(name, meta, None)


@dataclass(frozen=True)
class Inspection:
    name: str
    meta: Mapping[str, Any]
    refused: str | None

    @property
    def mark(self) -> FeedMark:
        return FeedMark.from_json(self.meta["mark"])


def _state(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> SyncState:
    if meta.get("kind") != KIND:
        raise ValueError(f"not a bank index checkpoint (kind {meta.get('kind')!r})")
    tombstones = np.asarray(arrays["tombstones"], dtype=np.int64)
    pending = {int(k): int(v) for k, v in meta["pending"].items()}
    return SyncState(
        FeedMark.from_json(meta["mark"]), tombstones, pending, int(meta["removal_log"])
    )


def _check_database(
    meta: Mapping[str, Any], view: FeedView, banks: Mapping[int, Bank], mark: FeedMark
) -> None:
    mine, theirs = dict(meta["identity"]), view.identity()
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            raise Refused(
                f"made for another database: {key} {mine.get(key)!r}, this one has "
                f"{theirs.get(key)!r}"
            )
    for key in meta["banks"]:
        bank = banks.get(int(key[0]))
        if bank is None or _bank_key(bank) != list(key):
            raise Refused(f"made for another database: bank {key[1]!r} (id {key[0]}) differs")
    now = view.mark()
    # Samples first (those the database has ids for): a foreign database is called foreign
    # even when it is also smaller; then whether this database is behind (a backup).
    samples = {int(i): (s, v) for i, s, v in meta["samples"] if int(i) <= now.max_entry_id}
    found = view.values(samples)
    for entry_id, want in samples.items():
        if found.get(entry_id) != want:
            raise Refused(
                f"made for another database: entry {entry_id} is {want[0]} {want[1][:12]}... "
                "in the checkpoint, not in the database"
            )
    behind = now.max_entry_id < mark.max_entry_id or any(
        a < b for a, b in zip(now.journal, mark.journal, strict=True)
    )
    if behind:
        raise Refused(
            f"the database is behind the checkpoint (entries up to id {now.max_entry_id}, "
            f"checkpoint up to {mark.max_entry_id}): restored from a backup?"
        )


def _bank_key(bank: Bank) -> list[Any]:
    return [int(bank.id), bank.name, bank.created_at.isoformat()]


def _samples(snapshot: IndexSnapshot) -> list[list[Any]]:
    """Up to SAMPLES (entry id, signal type, hex value), spread over every main part."""
    out: list[list[Any]] = []
    rows = snapshot.pdq.main.rows
    for i in _spread(len(rows), SAMPLES // 2):
        raw = np.ascontiguousarray(rows.words[i]).view(np.uint8).tobytes()
        out.append([int(rows.entry_ids[i]), "pdq", raw.hex()])
    for signal, layer in snapshot.exact.items():
        main = layer.main
        for i in _spread(len(main), SAMPLES // 8):
            out.append([int(main.entry_ids[i]), str(signal), bytes(main.values[i]).hex()])
    return out


def _spread(n: int, k: int) -> list[int]:
    return sorted({int(x) for x in np.linspace(0, n - 1, num=min(n, k))}) if n else []
