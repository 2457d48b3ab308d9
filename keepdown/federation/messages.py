"""Referrals and status callbacks: what one hotline hands another, signed, never replayed.

A **referral** (:class:`Referral`) hands a confirmed sighting hosted in a peer's country to
that peer: the URLs, the hashes (PDQ, MD5, SHA-256), the classification, the provider
attribution, when each item was first seen and the originator's own reference. **Never media
bytes**: a referral has no field that could hold them, and :func:`referral_body` refuses a
value that is not an address, a hash, a label or a time.

A **status callback** (:class:`StatusUpdate`) flows back from the receiver as its own events
happen: ``received``, ``confirmed`` or ``not_illegal`` (its assessment), ``notice_sent``,
``removed``, ``reappeared``, or ``declined`` with a reason.

Every message travels in an envelope signed under
:data:`~keepdown.federation.wire.MESSAGE_CONTEXT` and carries:

- ``sender`` and ``recipient`` (the peers' names): a message for someone else is refused
  (``misdirected``);
- ``seq``: the sender's sequence number on this (sender, recipient, type) stream, from 1
  without gaps, and a random ``nonce``. The receiver keeps, per sender and stream, every
  message it accepted (by ``seq``, with the body's digest): the same message again (a retry
  after a lost answer) is refused as ``replayed`` and changes nothing, a *different* message
  under a ``seq`` already used is refused as ``replayed`` too (a forgery or a sender bug);
- ``sent_at``: a message older than the accepted window is refused (``stale``).

:func:`accept` applies these checks against a :class:`SeenStore` (the receiver's record of
what it accepted) and returns the message; the caller stores its effect in the same
transaction as :meth:`SeenStore.remember` (``keepdown.storage``).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from keepdown.federation.wire import (
    MESSAGE_CONTEXT,
    Refused,
    Signer,
    canonical,
    open_envelope,
    seal,
)

__all__ = [
    "STATUSES",
    "Referral",
    "ReferralItem",
    "SeenStore",
    "StatusUpdate",
    "accept",
    "message_digest",
    "referral_body",
    "seal_message",
    "status_body",
]

REFERRAL = "referral"
STATUS = "status"
#: The statuses a receiver reports, in the order a referral usually goes through them.
STATUSES = (
    "received",
    "confirmed",
    "not_illegal",
    "notice_sent",
    "removed",
    "reappeared",
    "declined",
)
_HEX = {"pdq": 64, "md5": 32, "sha256": 64}
_HEXCHARS = re.compile(r"^[0-9a-f]*$")
_REF = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
MAX_ITEMS = 500
MAX_TEXT = 4096


@dataclass(frozen=True)
class ReferralItem:
    """One location of a referral: where, what (hashes), how classified, since when."""

    url: str
    page_url: str = ""
    pdq: str = ""
    md5: str = ""
    sha256: str = ""
    classification: str = ""
    first_seen_at: str = ""

    def to_wire(self) -> dict[str, str]:
        return {
            "url": self.url,
            "page_url": self.page_url,
            "pdq": self.pdq,
            "md5": self.md5,
            "sha256": self.sha256,
            "classification": self.classification,
            "first_seen_at": self.first_seen_at,
        }

    @classmethod
    def from_wire(cls, item: Any) -> ReferralItem:
        if not isinstance(item, dict) or set(item) - set(cls.__dataclass_fields__):
            raise ValueError(
                "a referral item has only url, page_url, hashes, classification, first_seen_at"
            )
        out = cls(**{k: str(v) for k, v in item.items()})
        out.check()
        return out

    def check(self) -> None:
        for name in ("url", "page_url"):
            value = getattr(self, name)
            if value and (not value.startswith(("http://", "https://")) or len(value) > MAX_TEXT):
                raise ValueError(f"{name} must be an http(s) URL of at most {MAX_TEXT} characters")
        if not self.url:
            raise ValueError("a referral item names its url")
        for name, length in _HEX.items():
            value = getattr(self, name)
            if value and (len(value) != length or not _HEXCHARS.match(value)):
                raise ValueError(f"{name} must be {length} lower-case hex characters")
        if len(self.classification) > 64:
            raise ValueError("classification is a label of at most 64 characters")
        if self.first_seen_at:
            datetime.fromisoformat(self.first_seen_at)


@dataclass(frozen=True)
class Referral:
    """A verified referral (module docstring)."""

    sender: str
    recipient: str
    seq: int
    nonce: str
    sent_at: datetime
    reference: str
    items: tuple[ReferralItem, ...]
    attribution: Mapping[str, str] = field(default_factory=dict)
    digest: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    """A verified status callback about the originator's referral ``reference``."""

    sender: str
    recipient: str
    seq: int
    nonce: str
    sent_at: datetime
    reference: str
    status: str
    at: datetime
    reason: str = ""
    their_reference: str = ""
    digest: str = ""


def _header(kind: str, sender: str, recipient: str, seq: int, sent_at: datetime) -> dict[str, Any]:
    if seq < 1:
        raise ValueError("sequence numbers start at 1")
    return {
        "type": kind,
        "v": 1,
        "sender": sender,
        "recipient": recipient,
        "seq": seq,
        "nonce": uuid.uuid4().hex,
        "sent_at": sent_at.astimezone(UTC).isoformat(),
    }


def referral_body(
    *,
    sender: str,
    recipient: str,
    seq: int,
    sent_at: datetime,
    reference: str,
    items: Sequence[ReferralItem],
    attribution: Mapping[str, str],
) -> dict[str, Any]:
    """The body of a referral (checked: addresses, hashes, labels and times only)."""
    if not _REF.match(reference):
        raise ValueError("a referral's reference is 1-100 plain characters")
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ValueError(f"a referral names 1-{MAX_ITEMS} items")
    for item in items:
        item.check()
    attribution = {str(k): str(v)[:200] for k, v in attribution.items()}
    body = _header(REFERRAL, sender, recipient, seq, sent_at)
    body.update(
        reference=reference,
        items=[i.to_wire() for i in items],
        attribution=attribution,
    )
    return body


def status_body(
    *,
    sender: str,
    recipient: str,
    seq: int,
    sent_at: datetime,
    reference: str,
    status: str,
    at: datetime,
    reason: str = "",
    their_reference: str = "",
) -> dict[str, Any]:
    """The body of a status callback about the originator's referral ``reference``."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if status == "declined" and not reason.strip():
        raise ValueError("a declined referral says why")
    body = _header(STATUS, sender, recipient, seq, sent_at)
    body.update(
        reference=reference,
        status=status,
        at=at.astimezone(UTC).isoformat(),
        reason=reason[:MAX_TEXT],
        their_reference=their_reference,
    )
    return body


def seal_message(body: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """The signed envelope of a referral or status body."""
    return seal(body, signer, context=MESSAGE_CONTEXT)


def message_digest(body: Mapping[str, Any]) -> str:
    """SHA-256 of the body's canonical text: what "the same message" means."""
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


class SeenStore(Protocol):
    """The receiver's record of accepted messages, per (sender, stream)."""

    def seen(self, sender: str, stream: str, seq: int) -> str | None:
        """The digest of the message accepted under ``seq``, or None."""
        ...


def accept(
    envelope: Mapping[str, Any] | bytes | str,
    *,
    sender_key: bytes,
    sender: str,
    recipient: str,
    seen: SeenStore,
    now: datetime,
    window: timedelta = timedelta(days=7),
) -> Referral | StatusUpdate:
    """The message of ``envelope`` if it is new, genuine and for us (module docstring)."""
    body = open_envelope(envelope, sender_key, context=MESSAGE_CONTEXT)
    kind = body.get("type")
    if kind not in (REFERRAL, STATUS) or body.get("v") != 1:
        raise Refused("malformed", f"not a referral or status message: {str(kind)[:40]!r}")
    if body.get("sender") != sender or body.get("recipient") != recipient:
        raise Refused(
            "misdirected",
            f"from {str(body.get('sender'))[:80]!r} to {str(body.get('recipient'))[:80]!r}, "
            f"not from {sender!r} to {recipient!r}",
        )
    seq = body.get("seq")
    if not isinstance(seq, int) or seq < 1 or not isinstance(body.get("nonce"), str):
        raise Refused("malformed", "a message carries a positive seq and a nonce")
    sent_at = _time(body.get("sent_at"), "sent_at")
    if now - sent_at > window or sent_at - now > timedelta(minutes=10):
        raise Refused("stale", f"sent at {sent_at.isoformat()}, outside the accepted window")
    digest = message_digest(body)
    held = seen.seen(sender, str(kind), seq)
    if held is not None:
        same = "the same message again" if held == digest else "another message under that seq"
        raise Refused(
            "replayed", f"{kind} {seq} from {sender} was already accepted ({same})", seq=seq
        )
    try:
        return _referral(body, digest) if kind == REFERRAL else _status(body, digest)
    except (ValueError, TypeError, KeyError) as exc:
        raise Refused("malformed", str(exc)) from None


def _time(raw: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise Refused("malformed", f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Refused("malformed", f"{name} has no time zone")
    return moment


def _referral(body: Mapping[str, Any], digest: str) -> Referral:
    items = body["items"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ValueError(f"a referral names 1-{MAX_ITEMS} items")
    reference = str(body["reference"])
    if not _REF.match(reference):
        raise ValueError("a referral's reference is 1-100 plain characters")
    attribution = body.get("attribution") or {}
    if not isinstance(attribution, dict):
        raise ValueError("attribution is an object")
    return Referral(
        sender=str(body["sender"]),
        recipient=str(body["recipient"]),
        seq=int(body["seq"]),
        nonce=str(body["nonce"]),
        sent_at=_time(body["sent_at"], "sent_at"),
        reference=reference,
        items=tuple(ReferralItem.from_wire(i) for i in items),
        attribution={str(k): str(v)[:200] for k, v in attribution.items()},
        digest=digest,
    )


def _status(body: Mapping[str, Any], digest: str) -> StatusUpdate:
    status = str(body["status"])
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return StatusUpdate(
        sender=str(body["sender"]),
        recipient=str(body["recipient"]),
        seq=int(body["seq"]),
        nonce=str(body["nonce"]),
        sent_at=_time(body["sent_at"], "sent_at"),
        reference=str(body["reference"])[:100],
        status=status,
        at=_time(body["at"], "at"),
        reason=str(body.get("reason") or "")[:MAX_TEXT],
        their_reference=str(body.get("their_reference") or "")[:100],
        digest=digest,
    )
