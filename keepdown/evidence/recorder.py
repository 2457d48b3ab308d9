"""Recording a signed checkpoint of the chain's head (the periodic task's work).

1. Read the head. Nothing to do when the log is empty or the last checkpoint already names
   this head's position.
2. Walk the events since the last checkpoint (from its anchor, so only the new ones): a
   checkpoint vouches for everything before it, so keepdown never signs a head whose chain
   does not hold; a break raises :class:`~keepdown.errors.VerificationFailed` instead (the
   task fails, visibly, and the next run tries again).
3. Sign the head (position, hash, time, operator) and store it; two workers recording the
   same head store it once.
"""

from __future__ import annotations

from datetime import datetime

from keepdown.errors import VerificationFailed
from keepdown.evidence.chain import Anchor
from keepdown.evidence.checkpoints import Checkpoint, SignedCheckpoint, sign_checkpoint
from keepdown.evidence.keys import SigningKey
from keepdown.evidence.log import ChainStore, CheckpointStore

__all__ = ["record_checkpoint"]


def record_checkpoint(
    chain: ChainStore,
    checkpoints: CheckpointStore,
    key: SigningKey,
    *,
    now: datetime,
    operator: str = "",
) -> SignedCheckpoint | None:
    """Sign and store the head (module docstring); None when there was nothing new."""
    head = chain.head()
    latest = checkpoints.latest()
    if head.position == 0 or (latest is not None and latest.checkpoint.position >= head.position):
        return None
    info = chain.info()
    anchor = latest.checkpoint.anchor if latest is not None else Anchor(0, info.genesis)
    if anchor.position and chain.hash_at(anchor.position) != anchor.hash:
        raise VerificationFailed(
            f"the log no longer carries the last checkpoint's hash at position "
            f"{anchor.position}: not signing a new one",
            position=anchor.position,
        )
    walked = chain.walk(anchor, dense_from=info.live_from, upto=head.position)
    if walked.broken is not None:
        raise VerificationFailed(
            f"not signing a checkpoint: {walked.broken.message}",
            position=walked.broken.position,
            reason=walked.broken.reason,
        )
    signed = sign_checkpoint(
        Checkpoint(head.position, walked.head, now, operator, info.genesis), key
    )
    checkpoints.add(signed)
    return signed
