"""Change a bank's settings in place: enabled, trust, thresholds, classification label, and
whether it accepts ``near (robust)`` matches.

Used by ``PATCH /api/v1/banks/{name}``. Every change moves the bank's ``updated_at``, which is
part of the index feed's change mark (:mod:`keepdown.storage.index_feed`), so the live match
index picks the new settings up on its next refresh with no restart. The entries are not
touched: an entry keeps the label it was imported with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, update

from keepdown.banks.classification import map_label
from keepdown.banks.model import TrustLevel
from keepdown.errors import InvalidInput, NotFound
from keepdown.hashing.types import SignalType
from keepdown.storage.engine import storage_errors
from keepdown.storage.schema import banks

__all__ = ["BankChanges", "SqlBankSettings"]


@dataclass(frozen=True)
class BankChanges:
    """What to change; None leaves a setting as it is. ``thresholds`` replaces the overrides."""

    enabled: bool | None = None
    trust: str | None = None
    thresholds: Mapping[str, int] | None = None
    label: str | None = None
    robust: bool | None = None

    def values(self) -> dict[str, Any]:
        """The column values these changes set (validated)."""
        values: dict[str, Any] = {}
        if self.enabled is not None:
            values["enabled"] = self.enabled
        if self.robust is not None:
            values["robust"] = self.robust
        if self.trust is not None:
            try:
                values["trust"] = str(TrustLevel(self.trust))
            except ValueError:
                raise InvalidInput(
                    f"trust must be 'review' or 'auto', not {self.trust!r}"
                ) from None
        if self.thresholds is not None:
            values["thresholds"] = _thresholds(self.thresholds)
        if self.label is not None:
            classification = map_label(self.label)
            values.update(
                default_label=self.label,
                category=str(classification.category),
                maturity=str(classification.maturity),
            )
        return values


def _thresholds(thresholds: Mapping[str, int]) -> dict[str, int]:
    checked: dict[str, int] = {}
    for name, value in thresholds.items():
        try:
            signal_type = SignalType(name)
        except ValueError:
            raise InvalidInput(f"no signal type {name!r} for a threshold") from None
        if not 0 <= int(value) <= 256:
            raise InvalidInput(f"threshold {name}={value}: give a number from 0 to 256")
        checked[str(signal_type)] = int(value)
    return checked


class SqlBankSettings:
    """Updates the banks table (the bank store reads it back)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def update(self, name: str, changes: BankChanges, now: datetime) -> None:
        """Apply ``changes`` to the bank ``name``; NotFound if there is none."""
        values = changes.values()
        with storage_errors("updating a bank"), self.engine.begin() as conn:
            done = conn.execute(
                update(banks).where(banks.c.name == name).values(**values, updated_at=now)
            )
        if done.rowcount == 0:
            raise NotFound(f"no bank named {name!r}", bank=name)
