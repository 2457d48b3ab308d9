"""Save an index snapshot to a folder of ``.npy`` files and load it back, memory-mapped.

A process with millions of hashes starts in seconds because nothing is rebuilt: the chunk tables
are saved as they are and ``np.load(mmap_mode='r')`` maps them (pages are read on first use, and
processes on one machine share them through the page cache). Deltas and hidden ids are saved
too, so a snapshot comes back exactly as it was. A caller may store its own JSON ``meta`` and
extra arrays next to the index (the bank index keeps its database position there).

Saving:
1. write every array into a fresh sibling folder, each file flushed to disk;
2. write ``manifest.json`` last: format, meta, and every file's size and checksum
   (:mod:`keepdown.index.checksum`);
3. swap the folder into place with renames, so a reader never sees a half-written index.

Loading checks the format, then every file's size, and with ``verify`` (the default) its
checksum: a truncated, damaged or foreign folder raises :class:`IndexFileError`, never a wrong
index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keepdown import files
from keepdown.errors import IndexFileError, KeepdownError
from keepdown.hashing.types import SignalType
from keepdown.index.checksum import file_checksum
from keepdown.index.exact import ExactIndex
from keepdown.index.layers import ExactLayer, PdqLayer
from keepdown.index.mih import ChunkLayout, MihPdqIndex
from keepdown.index.rows import PdqRows
from keepdown.index.snapshot import EXACT_SIGNALS, IndexSnapshot

__all__ = [
    "FORMAT",
    "SavedIndex",
    "load_snapshot",
    "read_index",
    "read_manifest",
    "save_snapshot",
    "write_index",
]

#: Bumped whenever the files change meaning; an older folder is refused (and rebuilt).
FORMAT = "keepdown-index-3"
_ROW_FILES = ("words", "entry_ids", "bank_ids")
_EXACT_FILES = ("values", "entry_ids", "bank_ids", "keys")


@dataclass(frozen=True, eq=False)
class SavedIndex:
    """A loaded folder: the snapshot, the caller's meta and the caller's extra arrays."""

    snapshot: IndexSnapshot
    meta: Mapping[str, Any] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)


def save_snapshot(snapshot: IndexSnapshot, folder: str | Path) -> Path:
    """Write ``snapshot`` to ``folder`` (replaced atomically); returns the folder."""
    target = Path(folder)
    files.private_dir(target.parent)
    fresh = target.with_name(f".{target.name}.new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    write_index(snapshot, fresh)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def write_index(
    snapshot: IndexSnapshot,
    folder: Path,
    *,
    meta: Mapping[str, Any] | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write a complete index into the new, empty ``folder`` (steps 1-2 of the module)."""
    files.private_dir(folder.parent)
    folder.mkdir(mode=files.DIR_MODE)
    arrays_out: dict[str, np.ndarray] = {}
    layout = _pdq_files(snapshot.pdq, arrays_out)
    for signal, layer in snapshot.exact.items():
        _exact_files(layer, signal, arrays_out)
    for name, array in (arrays or {}).items():
        arrays_out[f"extra.{name}"] = np.asarray(array)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": snapshot.version,
        "pdq": {"layout": layout},
        "extras": sorted((arrays or {}).keys()),
        "meta": dict(meta or {}),
        "files": {name: _write_array(folder, name, arr) for name, arr in arrays_out.items()},
    }
    _write_durably(folder / "manifest.json", json.dumps(manifest, indent=1).encode())
    _fsync_dir(folder)


def _pdq_files(layer: PdqLayer, files: dict[str, np.ndarray]) -> list[int] | None:
    for part, index in (("main", layer.main), ("delta", layer.delta)):
        for name in _ROW_FILES:
            files[f"pdq.{part}.{name}"] = getattr(index.rows, name)
    files["pdq.hidden"] = layer.hidden
    if layer.main.layout is None:
        return None
    files["pdq.main.tables"] = layer.main.tables  # type: ignore[assignment]
    files["pdq.main.offsets"] = layer.main.offsets  # type: ignore[assignment]
    return list(layer.main.layout.widths)


def _exact_files(layer: ExactLayer, signal: SignalType, files: dict[str, np.ndarray]) -> None:
    for part, index in (("main", layer.main), ("delta", layer.delta)):
        for name in _EXACT_FILES:
            files[f"{signal}.{part}.{name}"] = getattr(index, name)
    files[f"{signal}.hidden"] = layer.hidden


def _write_array(folder: Path, name: str, array: np.ndarray) -> dict[str, Any]:
    path = folder / f"{name}.npy"
    with files.open_private(path, "wb") as out:
        np.save(out, np.ascontiguousarray(array), allow_pickle=False)
        out.flush()
        os.fsync(out.fileno())
    return {"bytes": path.stat().st_size, "checksum": file_checksum(path)}


def _write_durably(path: Path, data: bytes) -> None:
    with files.open_private(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_snapshot(folder: str | Path, *, mmap: bool = True, verify: bool = True) -> IndexSnapshot:
    """The snapshot saved in ``folder`` (see :func:`read_index`)."""
    return read_index(folder, mmap=mmap, verify=verify).snapshot


def read_index(folder: str | Path, *, mmap: bool = True, verify: bool = True) -> SavedIndex:
    """Load a saved folder; big arrays are memory-mapped read-only unless ``mmap=False``.

    Every file's size is checked; with ``verify`` its checksum too (the file is read once, at
    memory speed when cached, which also brings the pages in). Raises :class:`IndexFileError`
    when the folder is missing, from another format, truncated or damaged.
    """
    root = Path(folder)
    manifest = _manifest(root)
    try:
        _check_files(root, manifest["files"], verify)
        extras = {name: _load(root / f"extra.{name}.npy", False) for name in manifest["extras"]}
        snapshot = IndexSnapshot(
            _load_pdq(root, manifest["pdq"], mmap),
            {s: _load_exact(root, s, mmap) for s in EXACT_SIGNALS},
            int(manifest["version"]),
        )
    except IndexFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, KeepdownError) as exc:
        raise IndexFileError(f"saved index in {root} is damaged: {exc}", path=str(root)) from exc
    return SavedIndex(snapshot, manifest.get("meta") or {}, extras)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a saved folder, without loading or checking its arrays."""
    return _manifest(Path(folder))


def _manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise IndexFileError(f"no saved index at {root}", path=str(root)) from exc
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"unreadable index manifest {path}: {exc}", path=str(root)) from exc
    if not isinstance(manifest, dict):
        raise IndexFileError(f"{path} is not an index manifest", path=str(root))
    if manifest.get("format") != FORMAT:
        raise IndexFileError(
            f"{path} is not a {FORMAT} index (format {manifest.get('format')!r}): it was "
            "written by another version of keepdown",
            path=str(root),
        )
    return manifest


def _check_files(root: Path, files: Mapping[str, Mapping[str, Any]], verify: bool) -> None:
    for name, info in files.items():
        size = (root / f"{name}.npy").stat().st_size
        if size != int(info["bytes"]):
            raise IndexFileError(
                f"saved index in {root} is damaged: {name}.npy is {size} bytes, "
                f"the manifest says {info['bytes']} (truncated or overwritten)",
                path=str(root),
            )
    if not verify:
        return
    names = list(files)
    with ThreadPoolExecutor(max_workers=2) as pool:  # the compiled loop releases the GIL
        digests = list(pool.map(lambda n: file_checksum(root / f"{n}.npy"), names))
    for name, digest in zip(names, digests, strict=True):
        if digest != files[name]["checksum"]:
            raise IndexFileError(
                f"saved index in {root} is damaged: {name}.npy does not match its checksum",
                path=str(root),
            )


def _load(path: Path, mmap: bool) -> np.ndarray:
    array: np.ndarray = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    return array


def _load_rows(root: Path, prefix: str, mmap: bool) -> PdqRows:
    return PdqRows(*(_load(root / f"{prefix}.{n}.npy", mmap) for n in _ROW_FILES))


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
            _load(root / f"{signal}.{part}.{n}.npy", mmap and part == "main") for n in _EXACT_FILES
        ]
        parts[part] = ExactIndex(signal, *arrays)
    return ExactLayer(parts["main"], parts["delta"], _load(root / f"{signal}.hidden.npy", False))
