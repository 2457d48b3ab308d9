"""Match indexes: every bank entry within a threshold of a query, exactly and fast.

- :class:`MihPdqIndex`: PDQ multi-index hashing (numba), exact by the pigeonhole principle;
- :class:`LinearPdqIndex`: the brute-force reference it is tested against;
- :class:`ExactIndex`: MD5 / SHA-1 / SHA-256 by equal bytes;
- :class:`IndexSnapshot` / :class:`LiveIndex`: immutable snapshots with cheap deltas, swapped
  under a lock; :func:`save_snapshot` / :func:`load_snapshot` (memory-mapped, checksummed)
  and :class:`CheckpointDir` (a folder of checkpoints shared by a machine's processes) to
  start from disk in seconds.

See ``docs/index.md`` for how it works and why it misses nothing.
"""

from keepdown.index.checkpoint import CheckpointDir
from keepdown.index.exact import ExactIndex
from keepdown.index.layers import ExactLayer, PdqLayer
from keepdown.index.linear import LinearPdqIndex
from keepdown.index.mih import ChunkLayout, MihPdqIndex, choose_layout, warm_up
from keepdown.index.persist import load_snapshot, save_snapshot
from keepdown.index.protocol import (
    MAX_PDQ_THRESHOLD,
    Hit,
    PairHits,
    PdqIndex,
    PdqQuery,
    pdq_words,
    query_words,
)
from keepdown.index.rows import PdqRows, hits_from_pairs
from keepdown.index.snapshot import EXACT_SIGNALS, IndexEntry, IndexSnapshot, LiveIndex

__all__ = [
    "EXACT_SIGNALS",
    "MAX_PDQ_THRESHOLD",
    "CheckpointDir",
    "ChunkLayout",
    "ExactIndex",
    "ExactLayer",
    "Hit",
    "IndexEntry",
    "IndexSnapshot",
    "LinearPdqIndex",
    "LiveIndex",
    "MihPdqIndex",
    "PairHits",
    "PdqIndex",
    "PdqLayer",
    "PdqQuery",
    "PdqRows",
    "choose_layout",
    "hits_from_pairs",
    "load_snapshot",
    "pdq_words",
    "query_words",
    "save_snapshot",
    "warm_up",
]
