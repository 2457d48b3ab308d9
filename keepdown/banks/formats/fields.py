"""Turn the text fields of one line into an :class:`EntryRecord`, or say why not.

Every reader (JSON Lines, CSV, pytx, HMA) ends in :func:`build_record`, so the rules are the
same whatever the format:

1. The signal type must be known and the value must parse as a hash of that type.
2. Classification. A line that has a ``category`` field (keepdown's own exports always do) is
   taken as classified already: its ``category``/``maturity`` are used and the label is not
   mapped (an empty category means "unclassified", so an export reads back exactly). Otherwise
   the entry's own label is mapped with :func:`map_label`; an unknown label is kept verbatim and
   takes the import's default classification when one is given, and is a line error when none
   is. An entry with neither label nor category takes the default label and its classification
   (or none at all).
3. ``added_at`` is ISO 8601; a time without a zone is UTC.
4. ``removed`` is a boolean (``true``/``false``, ``1``/``0``, ``yes``/``no``, empty = false).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from keepdown.banks.classification import Category, Classification, Maturity, map_label
from keepdown.banks.records import EntryRecord, LineError, as_utc
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType

__all__ = [
    "LabelDefault",
    "build_record",
    "format_bool",
    "format_time",
    "parse_bool",
    "parse_time",
    "resolve_default",
]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class FieldError(ValueError):
    """One field of a line is invalid; the reader turns it into a LineError."""


@dataclass(frozen=True, slots=True)
class LabelDefault:
    """The label (and its mapping) applied to entries of an import that carry none."""

    label: str
    classification: Classification


def resolve_default(default_label: str | None) -> LabelDefault | None:
    """Map the import's default label once, up front; an unknown one is the caller's error."""
    if default_label is None:
        return None
    return LabelDefault(default_label, map_label(default_label))


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (``Z`` or ``+hh:mm`` or ``+hhmm`` zones); naive times are UTC; empty is None."""
    if text is None or not str(text).strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(str(text).strip()))
    except ValueError:
        raise FieldError(f"added_at {text!r} is not an ISO 8601 date/time") from None


def format_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def parse_bool(text: object, field: str = "removed") -> bool:
    if isinstance(text, bool):
        return text
    word = "" if text is None else str(text).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldError(f"{field} {text!r} is not true or false")


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def _signal_type(text: str | None, given: SignalType | None) -> SignalType:
    if text is None or not str(text).strip():
        if given is None:
            raise FieldError("signal_type is missing and no signal type was given for the import")
        return given
    try:
        return SignalType(str(text).strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in SignalType)
        raise FieldError(f"unknown signal_type {text!r}; expected one of {known}") from None


def _explicit(category: str | None, maturity: str | None) -> Classification | None:
    if category is None:
        if maturity is not None:
            raise FieldError("maturity is given without a category")
        return None
    try:
        return Classification(Category(category), Maturity(maturity or "unknown"))
    except ValueError as exc:
        raise FieldError(f"bad classification: {exc}") from None


def _classify(
    fields: dict[str, object], default: LabelDefault | None
) -> tuple[str | None, Classification | None]:
    label = _text(fields.get("source_label"))
    category, maturity = _text(fields.get("category")), _text(fields.get("maturity"))
    if "category" in fields and (label is not None or category is not None):
        return label, _explicit(category, maturity)
    if maturity is not None:
        raise FieldError("maturity is given without a category")
    if label:
        try:
            return label, map_label(label)
        except InvalidInput:
            if default is None:
                raise FieldError(
                    f"classification label {label!r} is not known (see docs/classification.md);"
                    " give the import a default label to keep it verbatim"
                ) from None
            return label, default.classification
    if default is not None:
        return default.label, default.classification
    return None, None


def _text(value: object) -> str | None:
    """Empty strings and missing fields are both "not given"."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def build_record(
    line: int,
    fields: dict[str, object],
    *,
    signal_type: SignalType | None,
    default: LabelDefault | None,
) -> EntryRecord | LineError:
    """One line's fields (keys as in the JSON Lines format) to a record or a line error."""
    try:
        kind = _signal_type(_text(fields.get("signal_type")), signal_type)
        value = _text(fields.get("value"))
        if value is None:
            raise FieldError("value is missing")
        label, classification = _classify(fields, default)
        return EntryRecord(
            signal_type=kind,
            value=value.strip(),
            source_label=label,
            classification=classification,
            source_id=_text(fields.get("source_id")),
            notes=_text(fields.get("notes")),
            added_at=parse_time(_text(fields.get("added_at"))),
            removed=parse_bool(fields.get("removed")),
            removal_reason=_text(fields.get("removal_reason")),
        )
    except (FieldError, InvalidInput) as exc:
        return LineError(line, str(exc))
