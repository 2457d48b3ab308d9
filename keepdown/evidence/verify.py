"""``keepdown verify events``: walk the stored chain and say where, if anywhere, it breaks.

1. Start at the genesis, or at a checkpoint someone kept (``--from``): its signature must
   verify, and the log must still carry its hash at its position (if not, the log was
   rewritten at or before it: a break of reason ``anchor``).
2. Walk every stored event after that point (:func:`keepdown.evidence.chain.walk`) and stop at
   the first event that does not follow from the one before it.
3. Hold the walked log against every checkpoint keepdown recorded (signatures checked, and
   the hash at each one's position compared): a checkpoint past the end of the log means
   events were removed from the end (``truncated``); one whose position carries another hash
   means the log was rewritten from there back (``anchor``).

The first break found is the answer; the walk's counts and head are reported either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keepdown.errors import SignatureError
from keepdown.evidence.chain import Anchor, ChainBreak, WalkResult
from keepdown.evidence.checkpoints import SignedCheckpoint
from keepdown.evidence.encoding import at_text
from keepdown.evidence.log import ChainInfo, ChainStore

__all__ = ["Verification", "verify_chain"]


@dataclass
class Verification:
    info: ChainInfo
    walked: WalkResult
    checkpoints_checked: int = 0
    broken: ChainBreak | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "chain": self.info.to_dict(),
            "walk": self.walked.to_dict(),
            "checkpoints_checked": self.checkpoints_checked,
            "break": self.broken.to_dict() if self.broken else None,
            "notes": list(self.notes),
        }


def verify_chain(
    chain: ChainStore,
    *,
    start: SignedCheckpoint | None = None,
    recorded: Sequence[SignedCheckpoint] = (),
    trusted: bytes | None = None,
    jobs: int = 1,
) -> Verification:
    """Verify ``chain`` (module docstring); ``trusted`` is this deployment's public key,
    ``jobs`` how many processes may share a long walk."""
    info = chain.info()
    anchor = Anchor(0, info.genesis)
    notes: list[str] = []
    if start is not None:
        start.verify(trusted)
        anchor = start.checkpoint.anchor
        found = _anchor_break(chain, start)
        if found is not None:
            return Verification(info, WalkResult(anchor=anchor), broken=found)
    walked = chain.walk(anchor, dense_from=info.live_from, jobs=jobs)
    result = Verification(info, walked, broken=walked.broken, notes=notes)
    if result.broken is None:
        result.broken = _check_recorded(chain, walked, recorded, trusted, result)
    if walked.checked == 0 and walked.broken is None:
        notes.append("no event after the starting point")
    return result


def _anchor_break(chain: ChainStore, start: SignedCheckpoint) -> ChainBreak | None:
    cp = start.checkpoint
    stored = chain.hash_at(cp.position) if cp.position else cp.head
    if stored == cp.head:
        return None
    what = "is gone" if stored is None else "carries another hash"
    return ChainBreak(
        cp.position,
        "anchor",
        f"the checkpoint signed at {at_text(cp.at)} names position {cp.position}, which {what} "
        "now: the log was rewritten at or before that position after the checkpoint was signed",
    )


def _check_recorded(
    chain: ChainStore,
    walked: WalkResult,
    recorded: Sequence[SignedCheckpoint],
    trusted: bytes | None,
    result: Verification,
) -> ChainBreak | None:
    last = walked.last if walked.last is not None else walked.anchor.position
    hashes = chain.hashes_at([s.checkpoint.position for s in recorded if s.checkpoint.position])
    for signed in sorted(recorded, key=lambda s: s.checkpoint.position):
        cp = signed.checkpoint
        try:
            signed.verify()
        except SignatureError as exc:
            return ChainBreak(cp.position, "signature", exc.message)
        if trusted is not None and signed.public_key != trusted:
            result.notes.append(
                f"the checkpoint at position {cp.position} was signed with another key "
                f"({signed.key_sha256[:16]}...)"
            )
        result.checkpoints_checked += 1
        if cp.position > last:
            return ChainBreak(
                last + 1,
                "truncated",
                f"the log ends at position {last}, but a checkpoint signed at {at_text(cp.at)} "
                f"names position {cp.position}: events were removed from the end",
            )
        if cp.position and hashes.get(cp.position) != cp.head:
            return _anchor_break(chain, signed)
    return None
