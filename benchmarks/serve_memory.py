"""Resident memory of ``keepdown serve``: the API alone against the API with its embedded
task workers, over one bank of N random PDQ hashes, measured in the same run.

Since the one runtime (issue 14), the API, the web pages and the embedded workers of one
process share one match index; before it, the workers opened their own crawl services and
built the index a second time. If that came back, the second row would grow by about the
size of the index (the third column: the index as the process holds it, measured in-process
right after a build from the same database).

    python benchmarks/serve_memory.py                     # 1,000,000 entries
    python benchmarks/serve_memory.py --entries 100000

Every server is started on 127.0.0.1 with its own data dir copy of one seeded database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from api_load import free_port, rss_mb, seed, start, stop

from keepdown.app import open_services
from keepdown.clock import SystemClock
from keepdown.settings import load_settings


def index_mb(data_dir: Path) -> float:
    """How much resident memory building the index adds to a process (MB)."""
    me = psutil.Process()
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir)})
    services = open_services(settings, SystemClock())
    before = me.memory_info().rss
    services.index.refresh()
    after = me.memory_info().rss
    services.close()
    return (after - before) / 1e6


def serve_rss(data_dir: Path, workers: int, settle: float) -> tuple[float, int, float]:
    """RSS (MB) and process count of ``keepdown serve --workers N`` once ready and settled."""
    port = free_port()
    env = {
        **os.environ,
        "KEEPDOWN_DATA_DIR": str(data_dir),
        "KEEPDOWN_NOTICE_WORKER_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    started = time.perf_counter()
    process = start(
        [sys.executable, "-m", "keepdown", "serve", "--port", str(port), "--workers", str(workers)],
        env,
        f"http://127.0.0.1:{port}/api/v1/ready",
    )
    ready = time.perf_counter() - started
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10)
        time.sleep(settle)  # the embedded workers start and take their parts from the runtime
        memory, processes = rss_mb(process)
    finally:
        stop(process)
    return memory, processes, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=float, default=1e6)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after ready")
    args = parser.parse_args()
    entries = int(args.entries)
    with tempfile.TemporaryDirectory(prefix="kd-serve-mem-") as tmp:
        seeded = Path(tmp) / "seeded"
        seeded.mkdir()
        seed(seeded, entries)
        index = index_mb(seeded)
        load = os.getloadavg()[0]
        rows = []
        for workers in (0, 1):
            copy = Path(tmp) / f"w{workers}"
            shutil.copytree(seeded, copy)
            rows.append((workers, *serve_rss(copy, workers, args.settle)))
        print(
            f"\n{entries:,} PDQ entries; load average {load:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after\n"
        )
        print("| keepdown serve | RSS MB | processes | ready s | index alone MB |")
        print("| --- | --- | --- | --- | --- |")
        for workers, memory, processes, ready in rows:
            what = "API only (--workers 0)" if workers == 0 else "API + embedded workers"
            print(f"| {what} | {memory:,.0f} | {processes} | {ready:.1f} | {index:,.0f} |")
        grown = rows[1][1] - rows[0][1]
        print(f"\nthe embedded workers add {grown:,.0f} MB; a second index would add ~{index:,.0f}")


if __name__ == "__main__":
    main()
