"""Serve a fake exchange filled with generated, benign records from its own process.

    python -m keepdown.exchanges.fakes.serve --kind stopncii --records 1000000 --seed 1

prints ``URL <base url>`` once listening on 127.0.0.1 and serves until killed. The records are
random hashes (no picture behind them), spread over 2025. ``POST /_fake/add?count=N&seed=S``
adds N more records changed "now" (an incremental page, for benchmarks). Used by
``benchmarks/feed_ingest.py``; a fake in its own process keeps its JSON and XML writing off the
benchmarked process's interpreter.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from typing import Any

from keepdown.exchanges.fakes.ncmec import FakeNcmec, NcmecEntry
from keepdown.exchanges.fakes.server import Reply, Request
from keepdown.exchanges.fakes.stopncii import FakeStopNcii, StopNciiHash

__all__ = ["generated", "main"]

#: 2025-01-01T00:00:00Z: generated records change during 2025.
BASE = 1_735_689_600


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def generated(kind: str, count: int, seed: int, at: int | None = None) -> list[Any]:
    """``count`` records of ``kind`` (``at``: all changed at that second, else over 2025)."""
    rng = random.Random(seed)
    when = (lambda i: at) if at is not None else (lambda i: BASE + i * 31_536_000 // max(count, 1))
    if kind == "stopncii":
        return [StopNciiHash(_hex(rng, 256), when(i)) for i in range(count)]
    return [
        NcmecEntry(
            member=100 + i % 7,
            id=f"s{seed}-{i}",
            timestamp=when(i),
            fingerprints={"md5": _hex(rng, 128), "pdq": _hex(rng, 256)},
        )
        for i in range(count)
    ]


class _Adding:
    """``POST /_fake/add``: more records, changed now."""

    kind = ""

    def answer(self, request: Request) -> Reply:
        if request.path == "/_fake/add" and request.method == "POST":
            count, seed = (
                int(request.query.get("count", "1000")),
                int(request.query.get("seed", "7")),
            )
            self.put(generated(self.kind, count, seed, at=int(time.time())))  # type: ignore[attr-defined]
            return Reply(200, b"{}")
        return super().answer(request)  # type: ignore[misc, no-any-return]


class AddingStopNcii(_Adding, FakeStopNcii):
    kind = "stopncii"


class AddingNcmec(_Adding, FakeNcmec):
    kind = "ncmec"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=["stopncii", "ncmec"], default="stopncii")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    fake: Any = AddingStopNcii() if args.kind == "stopncii" else AddingNcmec()
    fake.put(generated(args.kind, args.records, args.seed))
    print(f"URL {fake.url}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        fake.close()


if __name__ == "__main__":
    main()
