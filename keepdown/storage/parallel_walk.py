"""Walking a long chain on several processes (``keepdown verify events --jobs N``).

Each link is checked against the *stored* hash of the row before it, so the positions can be
cut into ranges and each range checked on its own: range ``(a, b]`` starts from the stored
row at or below ``a``. Every link is still checked exactly once, and the first break of the
earliest range that has one is the first break of the chain.

The workers are fresh interpreters (``spawn``): a forked child would share the parent's
database connections.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from keepdown.evidence.chain import Anchor, WalkResult

if TYPE_CHECKING:
    from keepdown.storage.event_chain import SqlEventChain

__all__ = ["walk_in_parallel"]

#: Below this many events per process the start-up costs more than it saves.
MIN_PER_JOB = 200_000


def walk_in_parallel(
    chain: SqlEventChain, anchor: Anchor, *, dense_from: int, upto: int | None, jobs: int
) -> WalkResult:
    last = upto if upto is not None else chain.head().position
    span = last - anchor.position
    jobs = min(jobs, max(1, span // MIN_PER_JOB))
    if jobs <= 1:
        return chain.walk(anchor, dense_from=dense_from, upto=upto)
    cuts = [anchor.position + span * i // jobs for i in range(jobs + 1)]
    url = chain.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            pool.submit(
                _walk_range, url, cuts[i], cuts[i + 1], dense_from, anchor if i == 0 else None
            )
            for i in range(jobs)
        ]
        results = [future.result() for future in futures]
    return _combine(anchor, results)


def _walk_range(
    url: str, after: int, upto: int, dense_from: int, anchor: Anchor | None
) -> WalkResult:
    from keepdown.storage.engine import make_engine
    from keepdown.storage.event_chain import SqlEventChain

    engine = make_engine(url)
    try:
        chain = SqlEventChain(engine)
        start = anchor if anchor is not None else chain.before(after + 1)
        return chain.walk(start, dense_from=dense_from, upto=upto)
    finally:
        engine.dispose()


def _combine(anchor: Anchor, results: list[WalkResult]) -> WalkResult:
    combined = WalkResult(anchor=anchor, head=anchor.hash)
    for part in results:
        combined.checked += part.checked
        if combined.first is None:
            combined.first = part.first
        if part.last is not None:
            combined.last, combined.head = part.last, part.head
        if part.broken is not None:
            combined.broken = part.broken
            break
    return combined
