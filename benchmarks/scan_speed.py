"""Bulk scan speed: ``keepdown scan`` on one core and on every core, next to a plain loop over
python-threatexchange's hashing and matching, in the same run on the same files.

Steps:

1. Generate ``--count`` benign, mixed-size JPEGs (``keepdown.testing.synthetic_jpeg``: 320x240
   up to 1920x1080, quality 75-92) and cache them under ``benchmarks/.cache/scan_speed/``.
2. Make a bank of ``--bank`` random PDQ hashes plus the PDQ of 1 % of the images (so matches
   happen), in a fresh SQLite data dir, the way an operator's bank looks to the scanner.
3. Time, wall clock, each contender over the whole folder (machine noise: best of
   ``--repeat``):

   - keepdown, 1 process: ``Scanner(processes=1)`` (hash, match against the index, write the
     JSONL report), in ``--mode`` (``fast`` by default: what a bulk scan should use;
     ``exact`` gives bank-grade hashes);
   - keepdown, every core: the same with ``processes=os.cpu_count()`` (pool start included);
   - python-threatexchange: for each file ``PdqSignal.hash_from_file``, then a query of its
     ``PDQIndex`` built once from the same bank (no report written: its loop does less).

4. Check every contender found the same matches, and print images/s and the ratios against
   the targets (every core >= 1.8x one core, >= 8x python-threatexchange).

    PYTHONPATH=. python benchmarks/scan_speed.py --count 20000        # the full run
    PYTHONPATH=. python benchmarks/scan_speed.py --count 1000 --repeat 1   # a quick one
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from keepdown.app import open_services
from keepdown.clock import SystemClock
from keepdown.hashing import hash_file
from keepdown.scan import HashOptions, Scanner
from keepdown.settings import load_settings
from keepdown.testing import random_pdq_hex, synthetic_jpeg

CACHE = Path(__file__).resolve().parent / ".cache" / "scan_speed"
SIZES = [(320, 240), (640, 480), (800, 600), (1024, 768), (1280, 720), (1920, 1080)]


def make_images(count: int) -> Path:
    folder = CACHE / f"jpegs-{count}"
    if folder.exists() and sum(1 for _ in folder.iterdir()) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(5)
    for i in range(count):
        width, height = rng.choice(SIZES)
        data = synthetic_jpeg(20_000 + i, width, height, quality=rng.randint(75, 92))
        (folder / f"{i:06d}.jpg").write_bytes(data)
    return folder


def make_bank(data_dir: Path, folder: Path, size: int) -> tuple[object, list[str]]:
    settings = load_settings(environ={}, overrides={"data_dir": str(data_dir)})
    services = open_services(settings, SystemClock())
    rng = random.Random(11)
    values = [random_pdq_hex(rng) for _ in range(size)]
    files = sorted(folder.iterdir())
    for path in files[:: max(1, len(files) // max(1, len(files) // 100))]:
        result = hash_file(path, settings=settings)
        if result.pdq is not None:
            values.append(result.pdq.hex)
    services.auth.ensure_organisation("bench")
    services.banks.create_bank("bench", owner="bench", trust="review")
    lines = data_dir / "bank.txt"
    lines.write_text("\n".join(values) + "\n")
    services.banks.import_file("bench", lines, signal_type="pdq")
    services.close()
    return settings, values


def run_keepdown(settings, folder: Path, processes: int, mode: str, out: Path) -> tuple[float, set]:
    services = open_services(settings, SystemClock())
    scanner = Scanner(
        settings,
        functools.partial(services.matcher.match_result, door="scan"),
        options=HashOptions(mode=mode, dihedral=False, video=False),
        processes=processes,
        progress=False,
    )
    started, cpu = time.perf_counter(), _cpu()
    summary = scanner.run(str(folder), out, fresh=True)
    seconds = time.perf_counter() - started
    CPU[processes] = _cpu() - cpu
    services.close()
    matched = {
        row["path"]
        for row in (json.loads(line) for line in out.read_text().splitlines())
        if row["match"]
    }
    assert summary.hashed == sum(1 for _ in folder.iterdir())
    return seconds, matched


CPU: dict[int, float] = {}  # CPU seconds (this process and its children) of the last run


def _cpu() -> float:
    """CPU time of this process and of its finished children: on a shared machine the wall
    clock also counts other people's jobs, CPU time says what the scan itself cost."""
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_pytx(folder: Path, bank: list[str]) -> tuple[float, set]:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    started = time.perf_counter()
    index = PdqSignal.get_index_cls().build([(value, i) for i, value in enumerate(bank)])
    matched = set()
    for path in sorted(folder.iterdir()):
        signal = PdqSignal.hash_from_file(path)  # "" below its quality floor: nothing to match
        if signal and index.query(signal):
            matched.add(path.name)
    return time.perf_counter() - started, matched


def best(runs: list[tuple[float, set]]) -> tuple[float, set]:
    return min(runs, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--bank", type=int, default=100_000)
    parser.add_argument("--mode", choices=["fast", "exact"], default="fast")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true", help="skip python-threatexchange")
    args = parser.parse_args()

    folder = make_images(args.count)
    work = Path(tempfile.mkdtemp(prefix="scan-speed-"))
    try:
        settings, bank = make_bank(work / "data", folder, args.bank)
        cores = os.cpu_count() or 1
        one = best(
            [
                run_keepdown(settings, folder, 1, args.mode, work / "one.jsonl")
                for _ in range(args.repeat)
            ]
        )
        every = best(
            [
                run_keepdown(settings, folder, cores, args.mode, work / "all.jsonl")
                for _ in range(args.repeat)
            ]
        )
        pytx = (
            (0.0, set())
            if args.no_peer
            else best([run_pytx(folder, bank) for _ in range(args.repeat)])
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.count
    print(f"{n} mixed-size JPEGs, bank of {len(bank)} PDQ hashes, keepdown mode {args.mode}")
    print(f"  keepdown scan, 1 process:   {n / one[0]:8.1f} images/s  ({one[0]:.1f} s)")
    print(f"  keepdown scan, {cores} processes: {n / every[0]:8.1f} images/s  ({every[0]:.1f} s)")
    if pytx[0]:
        print(f"  python-threatexchange loop: {n / pytx[0]:8.1f} images/s  ({pytx[0]:.1f} s)")
    load = os.getloadavg()[0]
    print(f"  every core / one core: {one[0] / every[0]:.2f}x (target >= 1.8x)")
    print(
        f"  CPU s per image: 1 process {CPU[1] / n * 1000:.1f} ms, {cores} processes "
        f"{CPU[cores] / n * 1000:.1f} ms (load average {load:.1f} on {cores} cores: "
        "other jobs share them)"
    )
    if pytx[0]:
        print(f"  every core / pytx:     {pytx[0] / every[0]:.2f}x (target >= 8x)")
    same = "yes" if one[1] == every[1] else "NO"
    print(
        f"  matches: keepdown {len(every[1])} (1 and all processes agree: {same}), "
        f"pytx {len(pytx[1])}"
    )


if __name__ == "__main__":
    main()
