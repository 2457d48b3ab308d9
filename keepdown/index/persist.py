"""Save an index snapshot to a folder of ``.npy`` files and load it back, memory-mapped.

A process with millions of hashes starts in seconds because nothing is rebuilt: the chunk tables
are saved as they are and ``np.load(mmap_mode='r')`` maps them (pages are read on first use, and
processes on one machine share them through the page cache). Deltas and hidden ids are saved
too, so a snapshot comes back exactly as it was.

Saving:
1. write every array and ``manifest.json`` into a fresh sibling folder;
2. swap it into place with renames, so a reader never sees a half-written index.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from keepdown.errors import IndexFileError, KeepdownError
from keepdown.hashing.types import SignalType
from keepdown.index.exact import ExactIndex
from keepdown.index.layers import ExactLayer, PdqLayer
from keepdown.index.mih import ChunkLayout, MihPdqIndex
from keepdown.index.rows import PdqRows
from keepdown.index.snapshot import EXACT_SIGNALS, IndexSnapshot

__all__ = ["FORMAT", "load_snapshot", "save_snapshot"]

FORMAT = "keepdown-index-1"


def save_snapshot(snapshot: IndexSnapshot, folder: str | Path) -> Path:
    """Write ``snapshot`` to ``folder`` (replaced atomically); returns the folder."""
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f".{target.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    manifest: dict[str, Any] = {"format": FORMAT, "version": snapshot.version}
    manifest["pdq"] = _save_pdq(snapshot.pdq, fresh)
    for signal, layer in snapshot.exact.items():
        _save_exact(layer, fresh, signal)
    (fresh / "manifest.json").write_text(json.dumps(manifest, indent=1))
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _save_pdq(layer: PdqLayer, folder: Path) -> dict[str, Any]:
    for part, index in (("main", layer.main), ("delta", layer.delta)):
        _save_rows(folder, f"pdq.{part}", index.rows)
    np.save(folder / "pdq.hidden.npy", layer.hidden)
    if layer.main.layout is None:
        return {"layout": None}
    np.save(folder / "pdq.main.tables.npy", layer.main.tables)
    np.save(folder / "pdq.main.offsets.npy", layer.main.offsets)
    return {"layout": list(layer.main.layout.widths)}


def _save_rows(folder: Path, prefix: str, rows: PdqRows) -> None:
    np.save(folder / f"{prefix}.words.npy", rows.words)
    np.save(folder / f"{prefix}.entry_ids.npy", rows.entry_ids)
    np.save(folder / f"{prefix}.bank_ids.npy", rows.bank_ids)


def _save_exact(layer: ExactLayer, folder: Path, signal: SignalType) -> None:
    for part, index in (("main", layer.main), ("delta", layer.delta)):
        for name in ("values", "entry_ids", "bank_ids", "keys"):
            np.save(folder / f"{signal}.{part}.{name}.npy", getattr(index, name))
    np.save(folder / f"{signal}.hidden.npy", layer.hidden)


def load_snapshot(folder: str | Path, *, mmap: bool = True) -> IndexSnapshot:
    """Load a saved snapshot; big arrays are memory-mapped read-only unless ``mmap=False``.

    Raises :class:`IndexFileError` when the folder is missing, from another format, or damaged.
    """
    root = Path(folder)
    manifest = _manifest(root)
    try:
        return IndexSnapshot(
            _load_pdq(root, manifest["pdq"], mmap),
            {s: _load_exact(root, s, mmap) for s in EXACT_SIGNALS},
            int(manifest["version"]),
        )
    except IndexFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, KeepdownError) as exc:
        raise IndexFileError(f"saved index in {root} is damaged: {exc}", path=str(root)) from exc


def _manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise IndexFileError(f"no saved index at {root}", path=str(root)) from exc
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"unreadable index manifest {path}: {exc}", path=str(root)) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFileError(
            f"{path} is not a {FORMAT} index (format {manifest.get('format')!r})"
            if isinstance(manifest, dict)
            else f"{path} is not an index manifest",
            path=str(root),
        )
    return manifest


def _load(path: Path, mmap: bool) -> np.ndarray:
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def _load_rows(root: Path, prefix: str, mmap: bool) -> PdqRows:
    return PdqRows(*(_load(root / f"{prefix}.{n}.npy", mmap) for n in _ROW_FILES))


_ROW_FILES = ("words", "entry_ids", "bank_ids")


def _load_pdq(root: Path, meta: dict[str, Any], mmap: bool) -> PdqLayer:
    rows = _load_rows(root, "pdq.main", mmap)
    if meta["layout"] is None:
        main = MihPdqIndex(rows, None)
    else:
        main = MihPdqIndex(
            rows,
            ChunkLayout(tuple(int(w) for w in meta["layout"])),
            _load(root / "pdq.main.tables.npy", mmap),
            _load(root / "pdq.main.offsets.npy", mmap),
        )
    delta = MihPdqIndex.build(_load_rows(root, "pdq.delta", mmap=False))
    return PdqLayer(main, delta, _load(root / "pdq.hidden.npy", mmap=False))


def _load_exact(root: Path, signal: SignalType, mmap: bool) -> ExactLayer:
    parts = {}
    for part in ("main", "delta"):
        arrays = [
            _load(root / f"{signal}.{part}.{n}.npy", mmap and part == "main")
            for n in ("values", "entry_ids", "bank_ids", "keys")
        ]
        parts[part] = ExactIndex(signal, *arrays)
    return ExactLayer(parts["main"], parts["delta"], _load(root / f"{signal}.hidden.npy", False))
