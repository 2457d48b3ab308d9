"""Where a report's figures come from: the events, the chain head, the code and definitions.

Every transparency report (each format of the public report and the regulator view) states
its :class:`Provenance`, inside the signed bytes, so anyone holding the report knows exactly
what to recompute it from, and keepdown can (``keepdown report verify``):

- the **events**: those of the kinds the ledger reads, recorded before the period end, at
  positions up to the chain head (``first``, ``last``: their lowest and highest position;
  ``count``);
- the **chain head** when the report was made (position and hash; every event at or below it
  was considered), the chain's genesis, and the latest signed checkpoint then;
- the **keepdown version**, and the **definitions**: their version name and the SHA-256 of
  their words (the methodology the report prints), so a changed definition shows;
- the period, operator and generation time, and the view and format (what to re-render);
- the fingerprint of the key that signs it (the signature itself is detached).

Each format carries the same JSON object (:meth:`Provenance.to_json`, canonical): the JSON
outputs under ``"provenance"``, the CSV outputs in a ``provenance`` row, the data file in its
first line (a ``#`` comment), the HTML report in ``<pre id="keepdown-provenance">``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.evidence.encoding import canonical_json

__all__ = ["DEFINITIONS_VERSION", "EventRange", "Provenance", "definitions_digest"]

#: The name of the definitions this code computes by; bump it when a definition changes.
DEFINITIONS_VERSION = "keepdown-definitions-2"  # 2: the field's definitions side by side


def definitions_digest(methodology: tuple[tuple[str, str], ...], period_rule: str) -> str:
    """SHA-256 of the definitions' words (what the report prints as its methodology)."""
    text = canonical_json(
        {"period_rule": period_rule, "definitions": [list(m) for m in methodology]}
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class EventRange:
    """The events a report read: lowest and highest position, how many."""

    first: int | None = None
    last: int | None = None
    count: int = 0


@dataclass(frozen=True)
class Provenance:
    period: str
    operator: str
    generated_at: str
    view: str
    format: str
    events: EventRange
    head_position: int
    head_hash: str
    genesis: str
    keepdown_version: str
    definitions: str = DEFINITIONS_VERSION
    definitions_sha256: str = ""
    key_sha256: str = ""
    checkpoint: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    def summary(self) -> list[tuple[str, Any]]:
        """The few fields a person reads first (the CSV and HTML outputs show them)."""
        return [
            (
                "events",
                f"{self.events.count} events, positions {self.events.first}-{self.events.last}",
            ),
            ("chain head", f"{self.head_position} {self.head_hash}"),
            ("keepdown", self.keepdown_version),
            ("definitions", f"{self.definitions} sha256:{self.definitions_sha256}"),
            ("signing key sha256", self.key_sha256 or "(not signed)"),
        ]

    @classmethod
    def from_dict(cls, data: Any) -> Provenance:
        if not isinstance(data, dict):
            raise InvalidInput("a report's provenance is a JSON object")
        try:
            values = dict(data)
            values["events"] = EventRange(**values["events"])
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"the report's provenance is incomplete or unknown: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        try:
            return cls.from_dict(json.loads(text))
        except ValueError as exc:
            raise InvalidInput("the report's provenance is not JSON") from exc
