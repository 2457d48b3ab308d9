"""Evidence anyone can check: the event chain, signed checkpoints of it, signing keys.

Modules, in the order the evidence is built:

- :mod:`~keepdown.evidence.encoding`: the canonical bytes of an event (what is hashed);
- :mod:`~keepdown.evidence.chain`: each event's hash over the one before it; :func:`walk`
  finds the first break;
- :mod:`~keepdown.evidence.keys`: the Ed25519 key that signs (bank-export key files);
- :mod:`~keepdown.evidence.checkpoints`: "position N had hash H at time T", signed;
- :mod:`~keepdown.evidence.log`: what the code needs from storage (protocols, memory twins);
- :mod:`~keepdown.evidence.recorder`: the periodic checkpoint;
- :mod:`~keepdown.evidence.verify`: ``keepdown verify events``.

Pure: nothing here reads a database (``keepdown/storage`` implements the stores).
See docs/transparency.md.
"""

from __future__ import annotations

from keepdown.evidence.chain import (
    GENESIS,
    Anchor,
    ChainBreak,
    ChainRow,
    WalkResult,
    event_hash,
    extend,
    leaf_hash,
    link_hash,
    walk,
)
from keepdown.evidence.checkpoints import (
    Checkpoint,
    SignedCheckpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from keepdown.evidence.encoding import at_text, canonical_json, event_bytes, event_payload
from keepdown.evidence.keys import SigningKey
from keepdown.evidence.log import (
    ChainInfo,
    ChainStore,
    CheckpointStore,
    MemoryChain,
    MemoryCheckpoints,
)
from keepdown.evidence.recorder import record_checkpoint
from keepdown.evidence.verify import Verification, verify_chain

__all__ = [
    "GENESIS",
    "Anchor",
    "ChainBreak",
    "ChainInfo",
    "ChainRow",
    "ChainStore",
    "Checkpoint",
    "CheckpointStore",
    "MemoryChain",
    "MemoryCheckpoints",
    "SignedCheckpoint",
    "SigningKey",
    "Verification",
    "WalkResult",
    "at_text",
    "canonical_json",
    "event_bytes",
    "event_hash",
    "event_payload",
    "extend",
    "leaf_hash",
    "link_hash",
    "parse_checkpoint",
    "record_checkpoint",
    "sign_checkpoint",
    "verify_chain",
    "walk",
]
