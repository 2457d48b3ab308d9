"""Match index start-up: a fresh build from the database against a checkpoint plus a delta.

For each size N, in one run, on the same database:

1. fill a database with N random PDQ entries (setup, not timed: rows written straight through
   the driver, sorted so the unique index is appended to);
2. start a process that builds its index from SQL (what every start did before checkpoints)
   and writes a checkpoint (``keepdown index save``);
3. change the banks as a day might: D new entries through a real import, and 100 removals;
4. start fresh processes: one that builds from SQL again, one that loads the checkpoint
   (memory-mapped, every file's SHA-256 checked) and applies the delta, and the same without
   the checksums (``index_verify_checkpoints = false``).

Each child prints its own timings (from its start to a ready index; of that, imports and
numba's cached code; the index alone; the first query) and resident memory. Every child
answers the same 2,000 queries (half near stored hashes); the parent checks that all answers
after the changes are identical.

    python benchmarks/index_startup.py --entries 1e6,1e7 --delta 10000
    python benchmarks/index_startup.py --entries 1e6 --databases sqlite,postgresql
    python benchmarks/index_startup.py --entries 1e7 --keep-db /tmp  # reuse the filled database

The checkpoint files were just written, so they are in the page cache (as on a machine that
restarts a service); a cold disk adds its read time (about 1.4 GB at 10M).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

START = time.perf_counter()
PG = os.environ.get(
    "KEEPDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REPO = Path(__file__).resolve().parent.parent


# --- the children: one process start each -----------------------------------------------------


def child(mode: str, url: str, folder: str, queries_path: str) -> None:
    """Start an index as ``mode`` says, answer the queries, print timings as one JSON line."""
    import psutil

    from keepdown.hashing.types import PdqHash
    from keepdown.index import warm_up
    from keepdown.index.checkpoint import CheckpointDir
    from keepdown.matching.live import BankIndex
    from keepdown.storage import open_storage_url
    from keepdown.storage.index_feed import IndexFeed

    warm_up()  # numba's cached machine code; timed separately, as every process pays it
    imported = time.perf_counter() - START
    storage = open_storage_url(url, migrate=False)
    index = BankIndex(
        IndexFeed(storage.engine),
        storage.banks.list_banks,
        checkpoints=None if mode == "fresh" else CheckpointDir(folder),
        checkpoint_after=0,
        verify_checkpoints=mode != "checkpoint-unverified",
        background=False,
    )
    began = time.perf_counter()
    index.refresh()
    ready = time.perf_counter() - began
    since_start = time.perf_counter() - START
    saved_s = None
    if mode == "save":
        began = time.perf_counter()
        index.checkpoint(wait=True)
        saved_s = time.perf_counter() - began
    raw = np.load(queries_path)
    began = time.perf_counter()
    first = index.match_hashes([PdqHash(raw[0].tobytes())])
    first_s = time.perf_counter() - began
    del first
    answers = index.match_hashes([PdqHash(row.tobytes()) for row in raw])
    digest = hashlib.sha256(
        json.dumps([[(v.bank, v.entry_id, v.distance) for v in a] for a in answers]).encode()
    ).hexdigest()
    print(
        json.dumps(
            {
                "mode": mode,
                "imports_s": imported,
                "ready_s": ready,
                "since_start_s": since_start,
                "first_query_s": first_s,
                "save_s": saved_s,
                "rss_mb": psutil.Process().memory_info().rss / 1e6,
                "loaded_from": index.loaded_from,
                "entries": index.status()["entries"].get("pdq", 0),
                "answers": digest,
                "matched": sum(bool(a) for a in answers),
            }
        ),
        flush=True,
    )
    storage.close()


def run_child(mode: str, url: str, folder: Path, queries: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, str(folder), str(queries)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if out.returncode:
        raise SystemExit(f"child {mode} failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- setup --------------------------------------------------------------------------------------


def fill(url: str, n: int, rng: np.random.Generator, keep: Path | None) -> np.ndarray:
    """A bank of n random PDQ hashes; returns them (sorted, as stored in id order).

    With ``keep`` (SQLite), the filled database is kept there and copied on the next run."""
    from keepdown.banks.service import BankService
    from keepdown.events import EventLog
    from keepdown.storage import open_storage_url

    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    raw = raw[np.lexsort(raw.T[::-1])]
    pristine = keep / f"index-startup-{n}.sqlite3" if keep and url.startswith("sqlite") else None
    if pristine is not None and pristine.exists():
        shutil.copyfile(pristine, url.removeprefix("sqlite:///"))
        return raw
    with open_storage_url(url) as storage:
        BankService(storage.banks, EventLog()).create_bank("bench", owner="bench")
        bank_id = storage.banks.get_bank("bench").id
    stamp = "2026-01-01 00:00:00.000000"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        sql = (
            "INSERT INTO bank_entries (bank_id, signal_type, value, value_key, added_at) "
            "VALUES (?,?,?,?,?)"
        )
        for start in range(0, n, 500_000):
            hexes = [r.tobytes().hex() for r in raw[start : start + 500_000]]
            rows = [(bank_id, "pdq", h, h, stamp) for h in hexes]  # a PDQ hex is its own key
            conn.executemany(sql, rows)
        conn.execute(
            "INSERT INTO imports (bank_id, file_name, sha256, started_at, finished_at, status, "
            "lines, added) VALUES (?, 'bench', '', ?, ?, 'done', ?, ?)",
            (bank_id, stamp, stamp, n, n),
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        if pristine is not None:
            shutil.copyfile(url.removeprefix("sqlite:///"), pristine)
    else:
        _fill_postgres(url, bank_id, raw, n)
    return raw


def _fill_postgres(url: str, bank_id: int, raw: np.ndarray, n: int) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(
            "COPY bank_entries (bank_id, signal_type, value, value_key, added_at) FROM STDIN"
        ) as cp:
            for r in raw:
                h = r.tobytes().hex()
                cp.write_row((bank_id, "pdq", h, h, "2026-01-01T00:00:00Z"))
        conn.exec_driver_sql(
            "INSERT INTO imports (bank_id, file_name, sha256, started_at, finished_at, status, "
            "lines, added) VALUES (%s, 'bench', '', now(), now(), 'done', %s, %s)",
            (bank_id, n, n),
        )
    engine.dispose()


def change(url: str, raw: np.ndarray, delta: int, rng: np.random.Generator, tmp: Path) -> None:
    """``delta`` new entries through a real import, and 100 removals of old ones."""
    from keepdown.banks.service import BankService
    from keepdown.events import EventLog
    from keepdown.storage import open_storage_url

    new = rng.integers(0, 256, size=(delta, 32), dtype=np.uint8)
    path = tmp / "delta.txt"
    path.write_text("".join(r.tobytes().hex() + "\n" for r in new))
    with open_storage_url(url) as storage:
        service = BankService(storage.banks, EventLog())
        service.import_file("bench", path, fmt="plain", signal_type="pdq")
        for i in rng.choice(len(raw), size=100, replace=False):
            service.remove_entry("bench", "pdq", raw[i].tobytes().hex(), "false-positive")


def queries(raw: np.ndarray, rng: np.random.Generator, path: Path) -> None:
    near = raw[rng.choice(len(raw), size=1000, replace=False)].copy()
    flips = np.packbits(rng.random((1000, 256)) < 0.05, axis=1)  # ~13 bits away
    np.save(path, np.concatenate([near ^ flips, rng.integers(0, 256, (1000, 32), np.uint8)]))


# --- the comparison ----------------------------------------------------------------------------


def measure(url: str, n: int, delta: int, tmp: Path, keep: Path | None) -> list[dict]:
    rng = np.random.default_rng(n)
    began = time.perf_counter()
    raw = fill(url, n, rng, keep)
    print(f"  setup: {n:,} entries written in {time.perf_counter() - began:.0f} s", flush=True)
    folder, qpath = tmp / "index", tmp / "queries.npy"
    queries(raw, rng, qpath)
    rows = [dict(run_child("save", url, folder, qpath), step="before the changes")]
    change(url, raw, delta, rng, tmp)
    for mode in ("fresh", "checkpoint", "checkpoint-unverified"):
        rows.append(
            dict(run_child(mode, url, folder, qpath), step=f"after {delta:,} new + 100 removed")
        )
    after = {r["answers"] for r in rows[1:]}
    assert len(after) == 1, "a checkpoint start answered differently from a fresh build"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", default="1e6", help="comma-separated sizes, e.g. 1e6,1e7")
    parser.add_argument("--delta", type=int, default=10_000)
    parser.add_argument(
        "--databases", default="sqlite", help="comma-separated: sqlite, postgresql (or both)"
    )
    parser.add_argument("--workdir", default=None, help="where the databases go (default: tmp)")
    parser.add_argument(
        "--keep-db", default=None, help="folder to keep the filled SQLite databases in, reused"
    )
    args = parser.parse_args()
    keep = Path(args.keep_db) if args.keep_db else None
    for n in (int(float(s)) for s in args.entries.split(",")):
        for backend in args.databases.split(","):
            with tempfile.TemporaryDirectory(dir=args.workdir) as name:
                tmp = Path(name)
                url, cleanup = _database(backend, tmp)
                print(f"N = {n:,} on {backend}", flush=True)
                try:
                    rows = measure(url, n, args.delta, tmp, keep)
                finally:
                    cleanup()
                _print(rows)


def _database(backend: str, tmp: Path):
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    import sqlalchemy

    admin = sqlalchemy.create_engine(PG, isolation_level="AUTOCOMMIT")
    schema = f"kd_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sqlalchemy.engine.make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"})

    def cleanup() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    return url.render_as_string(hide_password=False), cleanup


def _print(rows: list[dict]) -> None:
    print(
        "| step | start | ready after process start s | imports + numba s | index s "
        "| first query ms | RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        how = {"fresh": "build from SQL", "save": "build from SQL, then save"}.get(
            r["mode"],
            "checkpoint + delta" + (" (no checksums)" if "unverified" in r["mode"] else ""),
        )
        ready = f"{r['ready_s']:.2f}" + (f" (+ save {r['save_s']:.1f})" if r["save_s"] else "")
        print(
            f"| {r['step']} | {how} | {r['since_start_s']:.1f} | {r['imports_s']:.1f} | {ready} | "
            f"{r['first_query_s'] * 1000:.1f} | {r['rss_mb']:,.0f} |"
        )
    print(
        f"entries {rows[-1]['entries']:,}; answers identical across starts after the changes "
        f"({rows[-1]['matched']} of 2,000 queries matched)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
