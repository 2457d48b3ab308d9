"""PDQ index speed: keepdown's MIH index against FAISS and python-threatexchange, same data.

For each size N and each data set (uniform random, clustered near-duplicates):
1. build keepdown's index (build time, resident memory growth) and time its queries; at the
   largest size also save + load it (memory-mapped) and add 10,000 entries without a rebuild;
   then free it, so the peers are measured with the memory to themselves;
2. build each peer over the same N hashes and time the same Q queries: half a stored hash with
   0..31 bits flipped, half random. Single-query p50/p99 latency (wall clock and the thread's
   CPU time; the second pass over the queries, the first pass's p99 is in the note), batch
   throughput, recall of the planted neighbours, and the number of results (which must agree
   with FAISS IndexBinaryFlat, an exact brute force);
3. print each table and the ratios against the issue's targets (keepdown's p99 at least 5x
   faster than IndexBinaryFlat and python-threatexchange; p99 <= 2 ms, RSS <= 1.5 GB and build
   <= 20 s at 1e7).

The full comparison the issue asks for, in one command (about 11 GB of memory at the peak,
python-threatexchange's index alone ~7.6 GB at 1e7; an hour or more on 2 cores)::

    python benchmarks/index_speed.py --full

A quick check (keepdown and every peer at 1e6, uniform data)::

    python benchmarks/index_speed.py --sizes 1e6 --data uniform

``--peer-queries`` caps how many queries the peers are timed on (all by default);
``--only keepdown,flat,multihash,pytx`` picks contenders. A peer whose index would not fit in
the free memory is skipped with the reason printed. The numba JIT warm-up is timed and
reported, never counted in latencies.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psutil

from keepdown.hashing.types import PdqHash
from keepdown.index import (
    IndexEntry,
    IndexSnapshot,
    MihPdqIndex,
    PdqRows,
    load_snapshot,
    pdq_words,
    save_snapshot,
    warm_up,
)

T = 31


@dataclass
class Result:
    name: str
    build_s: float
    rss_mb: float
    p50_ms: float
    p99_ms: float
    p99_cpu_ms: float
    batch_qps: float
    recall: float
    n_results: int
    note: str = ""
    counts: list[int] = field(default_factory=list)  # results per query, in query order


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def make_data(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """N hashes: uniform, or clusters of ~100 near-duplicates (each bit flipped with p=0.04)."""
    if kind == "uniform":
        return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    centres = rng.integers(0, 256, size=(max(n // 100, 1), 32), dtype=np.uint8)
    out = np.empty((n, 32), dtype=np.uint8)
    for start in range(0, n, 500_000):
        stop = min(start + 500_000, n)
        noise = np.packbits(rng.random((stop - start, 256)) < 0.04, axis=1)
        out[start:stop] = centres[rng.integers(0, len(centres), stop - start)] ^ noise
    return out


def make_queries(data: np.ndarray, q: int, rng: np.random.Generator):
    """Half planted (a stored row with 0..31 bits flipped), half random; and the planted rows."""
    half = q // 2
    sources = rng.integers(0, len(data), size=half)
    planted = data[sources].copy()
    for i in range(half):
        for bit in rng.choice(256, size=i % (T + 1), replace=False):
            planted[i, bit // 8] ^= np.uint8(1 << (bit % 8))
    randoms = rng.integers(0, 256, size=(q - half, 32), dtype=np.uint8)
    return np.concatenate([planted, randoms]), sources


def latencies(fn: Callable[[int], set[int]], n: int) -> tuple[list[float], list[set[int]], float]:
    """Time ``fn`` per query, twice: the first pass warms the VM's memory mappings (its p99 is
    returned as the third value), the second is what is reported.

    Each time is a pair (wall clock, this thread's CPU time): on a shared machine the wall clock
    p99 includes being preempted for a scheduler tick; the CPU time shows the query's own cost.
    """
    first: list = []
    for _ in range(2):
        times, found = [], []
        for i in range(n):
            start, cpu = time.perf_counter(), time.thread_time()
            got = fn(i)
            times.append((time.perf_counter() - start, time.thread_time() - cpu))
            found.append(got)
        first = first or times
    cold_p99 = sorted(w for w, _ in first)[min(n - 1, int(n * 0.99))] * 1e3
    return times, found, cold_p99


def summarise(name, build_s, rss, times, found, sources, batch_s, note="") -> Result:
    half = len(sources)
    planted = [i for i in range(min(half, len(found)))]
    recall = sum(int(sources[i]) in found[i] for i in planted) / max(len(planted), 1)
    ms = sorted(w * 1e3 for w, _ in times)
    cpu = sorted(c * 1e3 for _, c in times)
    p99 = min(len(ms) - 1, int(len(ms) * 0.99))
    return Result(
        name,
        build_s,
        rss,
        statistics.median(ms),
        ms[p99],
        cpu[p99],
        len(times) / batch_s if batch_s else float("nan"),
        recall,
        sum(len(f) for f in found),
        note,
        [len(f) for f in found],
    )


def bench_keepdown(data, queries, sources) -> tuple[Result, MihPdqIndex]:
    before = rss_mb()
    start = time.perf_counter()
    index = MihPdqIndex.build(PdqRows.from_arrays(data, np.arange(len(data)), np.zeros(len(data))))
    build = time.perf_counter() - start
    rss = rss_mb() - before
    words = pdq_words(queries)
    index.search_rows(words[:1], T)  # first call per process: loads the compiled kernels
    times, found, cold = latencies(
        lambda i: set(index.search_rows(words[i : i + 1], T)[1].tolist()), len(queries)
    )
    start = time.perf_counter()
    index.search_rows(words, T)
    batch = time.perf_counter() - start
    shape = f"{len(index.layout.widths)} chunks" if index.layout else "scan"
    note = f"{shape}, {index.nbytes / 1e6:.0f} MB of arrays, first-pass p99 {cold:.2f} ms"
    return summarise("keepdown MIH", build, rss, times, found, sources, batch, note), index


def bench_faiss(data, queries, sources, kind: str, n_lat: int) -> Result:
    import faiss

    faiss.omp_set_num_threads(1)
    before = rss_mb()
    start = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = T // 16  # pigeonhole: exact at this radius
    index.add(data)
    build = time.perf_counter() - start
    rss = rss_mb() - before

    def one(i: int) -> set[int]:
        _, _, ids = index.range_search(queries[i : i + 1], T + 1)
        return set(ids.tolist())

    times, found, cold = latencies(one, n_lat)
    start = time.perf_counter()
    index.range_search(queries[:n_lat], T + 1)
    batch = time.perf_counter() - start
    name = "FAISS IndexBinaryFlat" if kind == "flat" else "FAISS IndexBinaryMultiHash 16x16"
    note = f"{n_lat} queries, 1 thread, first-pass p99 {cold:.2f} ms"
    return summarise(name, build, rss, times, found, sources, batch, note)


def bench_pytx(data, queries, sources, n_lat: int) -> Result:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    index_cls = PdqSignal.get_index_cls()
    hexes = [bytes(row).hex() for row in data]
    before = rss_mb()
    start = time.perf_counter()
    index = index_cls.build((h, i) for i, h in enumerate(hexes))
    build = time.perf_counter() - start
    rss = rss_mb() - before
    del hexes
    qhex = [bytes(row).hex() for row in queries]
    times, found, cold = latencies(lambda i: {m.metadata for m in index.query(qhex[i])}, n_lat)
    note = f"{index_cls.__name__}, {n_lat} queries, no batch API, first-pass p99 {cold:.2f} ms"
    return summarise("python-threatexchange", build, rss, times, found, sources, 0.0, note)


def bench_persistence(index: MihPdqIndex, queries: np.ndarray) -> list[str]:
    lines = []
    snap = IndexSnapshot.from_parts(index.rows)
    with tempfile.TemporaryDirectory(dir=".") as folder:
        start = time.perf_counter()
        save_snapshot(snap, folder + "/idx")
        lines.append(f"save {len(index):,} rows: {time.perf_counter() - start:.2f} s")
        for mmap, verify in ((True, True), (True, False), (False, True)):
            start = time.perf_counter()
            loaded = load_snapshot(folder + "/idx", mmap=mmap, verify=verify)
            load = time.perf_counter() - start
            start = time.perf_counter()
            for i in range(1000):
                loaded.search_pdq(pdq_words(queries[i : i + 1]), T)
            first = (time.perf_counter() - start) * 1e3 / 1000
            how = ("memory-mapped" if mmap else "read into memory") + (
                ", checksums checked" if verify else ", no checksums"
            )
            lines.append(
                f"load ({how}): {load:.2f} s; first 1000 queries after: {first:.3f} ms mean"
            )
            del loaded
    rng = np.random.default_rng(9)
    new = rng.integers(0, 256, size=(10_000, 32), dtype=np.uint8)
    base = len(index)
    entries = [IndexEntry(base + i, 1, PdqHash(new[i].tobytes())) for i in range(len(new))]
    start = time.perf_counter()
    changed = snap.with_changes(added=entries)
    ok = all(changed.query_pdq(PdqHash(new[i].tobytes())) for i in range(0, 10_000, 500))
    lines.append(
        f"10,000 new entries matchable after {time.perf_counter() - start:.3f} s "
        f"(no rebuild; found again: {ok})"
    )
    return lines


def print_table(title: str, results: list[Result]) -> None:
    print(f"\n### {title}\n")
    print(
        "| index | build s | RSS MB | p50 ms | p99 ms | p99 CPU ms | batch q/s | recall | results "
        "| note |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.name} | {r.build_s:.2f} | {r.rss_mb:.0f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} | "
            f"{r.p99_cpu_ms:.3f} | "
            f"{r.batch_qps:,.0f} | {r.recall:.4f} | {r.n_results} | {r.note} |"
        )


#: Resident memory a peer needs per million hashes, measured (MB), and slack for the process.
_PEER_MB_PER_MILLION = {"flat": 40, "multihash": 300, "pytx": 900}
_SLACK_MB = 1500


def fits(kind: str, n: int) -> str | None:
    """None if the peer's index fits in the free memory, else why it is skipped."""
    need = _PEER_MB_PER_MILLION[kind] * n / 1e6 + _SLACK_MB
    free = psutil.virtual_memory().available / 1e6
    if need <= free:
        return None
    return f"{kind} skipped at N={n:,}: needs ~{need:,.0f} MB, {free:,.0f} MB free"


def run_size(n: int, kind: str, args: argparse.Namespace, persist: bool) -> list[Result]:
    rng = np.random.default_rng(n)
    data = make_data(n, kind, rng)
    queries, sources = make_queries(data, args.queries, rng)
    n_lat = min(args.peer_queries or args.queries, args.queries)
    only = set(args.only.split(","))
    results = []
    if "keepdown" in only:
        mine, index = bench_keepdown(data, queries, sources)
        results.append(mine)
        if persist:
            for line in bench_persistence(index, queries):
                print(f"- {line}")
        del index
        gc.collect()
    for peer in ("flat", "multihash", "pytx"):
        if peer not in only:
            continue
        skipped = fits(peer, n)
        if skipped:
            print(f"({skipped})")
        elif peer == "pytx":
            results.append(bench_pytx(data, queries, sources, n_lat))
        else:
            results.append(bench_faiss(data, queries, sources, peer, n_lat))
        gc.collect()
    print_table(f"N = {n:,} {kind}, t = {T}, {args.queries:,} queries", results)
    print_targets(n, results)
    return results


def print_targets(n: int, results: list[Result]) -> None:
    """keepdown against each peer, and the absolute targets at 1e7."""
    mine = next((r for r in results if r.name == "keepdown MIH"), None)
    if mine is None:
        return
    for r in results:
        if r is mine:
            continue
        same = sum(mine.counts[: len(r.counts)]) == r.n_results  # the same queries' results
        p99 = r.p99_ms / mine.p99_ms
        print(
            f"- vs {r.name}: p50 {r.p50_ms / mine.p50_ms:.1f}x, p99 {p99:.1f}x "
            f"(CPU time {r.p99_cpu_ms / mine.p99_cpu_ms:.1f}x) faster; results "
            f"{'agree' if same else 'DIFFER'} on its {len(r.counts):,} queries; "
            f"p99 >= 5x: {'met' if p99 >= 5 else 'missed'}"
        )
    if n >= 10_000_000:
        checks = [
            ("recall 100%", mine.recall == 1.0),
            ("p99 <= 2 ms", mine.p99_ms <= 2.0),
            ("RSS <= 1.5 GB", mine.rss_mb <= 1500),
            ("build <= 20 s", mine.build_s <= 20),
        ]
        verdicts = ", ".join(f"{c} {'met' if ok else 'MISSED'}" for c, ok in checks)
        print(f"- targets at 1e7: {verdicts}")


def run(args: argparse.Namespace) -> None:
    if args.full:
        args.sizes, args.data, args.peer_queries, args.only = (
            "1e6,1e7", "uniform,clustered", 0, "keepdown,flat,multihash,pytx",
        )  # fmt: skip
    print(f"numba warm-up (compile or cache load): {warm_up():.2f} s")
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    kinds = args.data.split(",")
    for n in sizes:
        for kind in kinds:
            run_size(n, kind, args, persist=kind == kinds[0] and n == max(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6", help="comma-separated N, e.g. 1e6,1e7")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--peer-queries", type=int, default=0, help="cap peers' query count")
    parser.add_argument("--data", default="uniform,clustered")
    parser.add_argument("--only", default="keepdown,flat,multihash,pytx")
    parser.add_argument(
        "--full", action="store_true", help="the issue's whole comparison: 1e6 and 1e7, all"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
