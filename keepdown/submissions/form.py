"""What the submission page sends, checked: the person's answers and the hashes, nothing else.

The page's JavaScript sends one JSON object::

    {"age_at_time": "16-17", "share_with_platforms": true,
     "items": [{"media": "image", "md5": "...", "sha256": "...", "quality": 93,
                "pdq": {"original": "...", "rotate90": "...", ... the 8 variants}},
               {"media": "video", "md5": "...", "sha256": "..."}]}

:func:`parse_form` accepts exactly that shape and refuses anything else with a clear error:
an unknown key (so no field can smuggle in anything but hashes), a value that is not a hash
of its type, a rotation name PDQ does not have, more items than ``max_items``. PDQ hashes
below ``quality_floor`` are left out (a flat or tiny picture's PDQ would match unrelated
pictures), and the result says how many, so the page can tell the person. The same hash
twice (the same file picked twice, or a symmetric picture whose rotations coincide) is kept
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.hashing.pdq import DIHEDRAL_NAMES
from keepdown.hashing.types import SignalType, parse_hash
from keepdown.submissions.model import AgeAtTime, Media, SubmittedHash

__all__ = ["SubmissionForm", "parse_form"]

_TOP = frozenset({"age_at_time", "share_with_platforms", "items"})
_ITEM = frozenset({"media", "md5", "sha256", "pdq", "quality"})


@dataclass(frozen=True)
class SubmissionForm:
    """A checked submission: the answers, the hashes, and what was left out."""

    age_at_time: AgeAtTime
    share_with_platforms: bool
    hashes: tuple[SubmittedHash, ...]
    images: int
    videos: int
    low_quality: int  #: pictures whose PDQ was under the floor (exact hashes kept)


def parse_form(body: Any, *, max_items: int, quality_floor: int) -> SubmissionForm:
    """The checked form of the page's JSON (module docstring); InvalidInput otherwise."""
    if not isinstance(body, Mapping):
        raise InvalidInput("the submission must be a JSON object")
    _only(body, _TOP, "the submission")
    age = _choice(body.get("age_at_time"), AgeAtTime, "age_at_time")
    share = body.get("share_with_platforms")
    if not isinstance(share, bool):
        raise InvalidInput("share_with_platforms must be true or false", field="share")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidInput("pick at least one picture or video", field="items")
    if len(items) > max_items:
        raise InvalidInput(f"at most {max_items} pictures and videos at a time", field="items")
    hashes: dict[tuple[str, str], SubmittedHash] = {}
    media_count = {Media.IMAGE: 0, Media.VIDEO: 0}
    low = 0
    for index, item in enumerate(items):
        found, media, under_floor = _item(index, item, quality_floor)
        media_count[media] += 1
        low += under_floor
        for h in found:
            hashes.setdefault(h.key, h)
    return SubmissionForm(
        age_at_time=age,
        share_with_platforms=share,
        hashes=tuple(hashes.values()),
        images=media_count[Media.IMAGE],
        videos=media_count[Media.VIDEO],
        low_quality=low,
    )


def _item(index: int, item: Any, floor: int) -> tuple[list[SubmittedHash], Media, bool]:
    where = f"item {index + 1}"
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where} must be an object", field="items")
    _only(item, _ITEM, where)
    media = _choice(item.get("media"), Media, f"{where}: media")
    found = [
        SubmittedHash(index, media, signal, _hash(signal, item.get(str(signal)), where))
        for signal in (SignalType.MD5, SignalType.SHA256)
    ]
    pdq = item.get("pdq")
    if pdq is None:
        return found, media, False
    if media is not Media.IMAGE:
        raise InvalidInput(f"{where}: only a picture has a PDQ hash", field="items")
    quality = item.get("quality")
    if not isinstance(quality, int) or isinstance(quality, bool) or not 0 <= quality <= 100:
        raise InvalidInput(f"{where}: quality must be a whole number 0-100", field="items")
    variants = _variants(pdq, where)
    if quality < floor:
        return found, media, True
    found.extend(
        SubmittedHash(index, media, SignalType.PDQ, value, variant, quality)
        for variant, value in variants.items()
    )
    return found, media, False


def _variants(pdq: Any, where: str) -> dict[str, str]:
    if not isinstance(pdq, Mapping) or "original" not in pdq:
        raise InvalidInput(f"{where}: pdq must map rotations to hashes", field="items")
    unknown = set(pdq) - set(DIHEDRAL_NAMES)
    if unknown:
        raise InvalidInput(f"{where}: PDQ has no rotation {sorted(unknown)[0]!r}", field="items")
    return {name: _hash(SignalType.PDQ, value, where) for name, value in pdq.items()}


def _hash(signal: SignalType, value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {signal} is missing", field="items")
    return parse_hash(signal, value).hex  # InvalidHash (an InvalidInput) says what is wrong


def _choice(value: Any, kind: Any, what: str) -> Any:
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"{what} must be one of: {allowed}", field=what) from None


def _only(mapping: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = set(mapping) - allowed
    if extra:
        raise InvalidInput(
            f"{where} has a field keepdown does not take: {sorted(extra)[0]!r} (only hashes "
            "and the answers are accepted)",
            field=sorted(extra)[0],
        )
