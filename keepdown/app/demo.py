"""``keepdown serve --demo``: a demo organisation, a bank of the benign samples and a key.

:func:`seed_demo` makes the demo organisation, bank (the benign sample images, hashed in
exact mode) and a platform key that expires after :data:`DEMO_KEY_LIFETIME` (a demo key left
behind on a server that later holds real banks must not stay valid); it is idempotent apart
from the new key.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from keepdown.app.core import open_services
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.clock import SystemClock
from keepdown.errors import Conflict
from keepdown.hashing import hash_file
from keepdown.hashing.types import SignalType
from keepdown.settings import Settings

__all__ = ["DEMO_BANK", "DEMO_KEY_LIFETIME", "DEMO_ORG", "DemoInfo", "seed_demo"]

DEMO_ORG = "demo"
DEMO_BANK = "demo-samples"
#: How long a demo key works.
DEMO_KEY_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class DemoInfo:
    organisation: str
    bank: str
    entries_added: int
    token: str
    samples: list[Path]
    expires_at: datetime | None = None


def seed_demo(settings: Settings) -> DemoInfo:
    """The demo organisation, bank and a fresh platform key (idempotent apart from the key)."""
    from keepdown.testing import sample_image_paths

    services = open_services(settings, SystemClock())
    try:
        services.auth.ensure_organisation(DEMO_ORG)
        with contextlib.suppress(Conflict):
            services.banks.create_bank(
                DEMO_BANK,
                owner=DEMO_ORG,
                source="keepdown/samples (benign stand-ins)",
                label="other",
            )
        added = 0
        samples = sample_image_paths()
        for path in samples:
            added += _add_sample(services.banks, path, settings)
        issued = services.auth.issue_key(
            DEMO_ORG, Role.PLATFORM, expires_in=DEMO_KEY_LIFETIME, label="demo"
        )
        services.auth.audit("demo.seed", target=DEMO_BANK, added=added)
        return DemoInfo(DEMO_ORG, DEMO_BANK, added, issued.token, samples, issued.key.expires_at)
    finally:
        services.storage.close()


def _add_sample(banks: BankService, path: Path, settings: Settings) -> int:
    result = hash_file(path, settings=settings, mode="exact")
    records = [EntryRecord(SignalType.SHA256, result.sha256.hex, source_id=path.name)]
    if result.pdq is not None:
        records.append(EntryRecord(SignalType.PDQ, result.pdq.hex, source_id=path.name))
    return sum(banks.add_entry(DEMO_BANK, record).added for record in records)
